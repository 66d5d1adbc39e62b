"""Payments in admin: payments, refunds, disputes, and the order admin with
its money and the Refund workflow."""

from . import disputes, orders, payments, refunds  # noqa: F401  (each registers its admins)
