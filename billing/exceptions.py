"""Domain errors of the billing package. Their messages are read by staff (admin,
logs) as they are, so they are written for people."""

from core.exceptions import ApplicationError


class BillingError(ApplicationError):
    """A document cannot be issued, changed or sent; the message says why."""


class DocumentNotIssuable(BillingError):
    """The source (an order, an invoice) is not in a state that allows the document."""


class DocumentImmutable(BillingError):
    """An issued document's number, snapshot or totals cannot change."""


class TaxComputationError(BillingError):
    """Lines that cannot be taxed (a float amount, a negative quantity, ...)."""
