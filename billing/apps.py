from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        # A document's e-mail is marked sent when the outbox sends it.
        from core.signals import email_sent

        from .emails import on_email_sent

        email_sent.connect(on_email_sent, dispatch_uid="billing.emails.on_email_sent")
