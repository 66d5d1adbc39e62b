from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Connect the dj-stripe webhook receivers (a dispatch table by event type)
        # and point the SDK at the configured Stripe (real or the emulator).
        from . import gateway, webhooks  # noqa: F401

        gateway.configure()
