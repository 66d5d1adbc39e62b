from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        # This app's webhook receivers (subscription checkouts, paid and failed
        # invoices, ended subscriptions), connected through payments' registry.
        # Imported here, not at the top: they import models, which Django has
        # not loaded yet when it reads the app configs.
        from payments import webhooks

        from . import receivers

        webhooks.connect("subscriptions", receivers.RECEIVERS, mirrored=receivers.MIRRORED)

        # A notice is marked sent when the e-mail outbox sends it.
        from core.signals import email_sent

        from .dunning import on_email_sent

        email_sent.connect(on_email_sent, dispatch_uid="subscriptions.dunning.on_email_sent")
