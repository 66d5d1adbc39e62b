from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Point the SDK (and so dj-stripe) at the configured Stripe (real or
        # the emulator), and connect this app's webhook receivers. Imported
        # here: they import models, not loaded yet when apps.py is read.
        import logging

        from . import discount_codes, gateway, mirror, webhooks

        gateway.configure()
        logging.getLogger("djstripe.models.base").addFilter(mirror.RefusedReadsNotLogged())
        webhooks.connect("payments", webhooks.RECEIVERS_OF_PAYMENTS, mirrored=webhooks.MIRRORED_BY_PAYMENTS)
        # Discount codes deactivated (or coupons deleted) at Stripe.
        webhooks.connect("payments.discount_codes", discount_codes.RECEIVERS_OF_DISCOUNT_CODES)
