from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Point the SDK (and so dj-stripe) at the configured Stripe (real or
        # the emulator), and connect this app's webhook receivers. Imported
        # here: they import models, not loaded yet when apps.py is read.
        from . import gateway, webhooks

        gateway.configure()
        webhooks.connect("payments", webhooks.RECEIVERS_OF_PAYMENTS, mirrored=webhooks.MIRRORED_BY_PAYMENTS)
