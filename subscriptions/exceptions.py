"""Domain errors of the subscriptions package; messages are for the customer."""

from core.exceptions import ApplicationError


class SubscriptionError(ApplicationError):
    """A subscription request that cannot be done; `str(error)` is fit to show the customer."""


class AlreadySubscribed(SubscriptionError):
    pass


class QuoteChanged(SubscriptionError):
    """The buyer's address gives another price than the page showed: they see
    the new one (`quote`) and confirm it before going to Checkout."""

    def __init__(self, quote):
        self.quote = quote
        super().__init__("The price for your billing address differs from what was shown: check it, then confirm.")
