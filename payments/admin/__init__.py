"""Payments in admin: payments, refunds, disputes, webhook events, and the order admin with
its money and the Refund workflow."""

from . import discounts, disputes, events, orders, payments, refunds  # noqa: F401  (each registers its admins)
