"""Domain errors of the subscriptions package; messages are for the customer."""

from core.exceptions import ApplicationError


class SubscriptionError(ApplicationError):
    """A subscription request that cannot be done; `str(error)` is fit to show the customer."""


class AlreadySubscribed(SubscriptionError):
    pass
