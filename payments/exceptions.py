"""What can go wrong talking to Stripe, in the shop's own terms. Views and
services catch these; nothing outside `payments` sees a `stripe` exception."""

from core.exceptions import ApplicationError


class GatewayError(ApplicationError):
    """A Stripe call failed. `str(error)` is fit to show to a customer or staff member."""

    def __init__(self, message: str, *, detail: str = "", code: str = "", param: str = ""):
        super().__init__(message)
        self.detail = detail  # Stripe's own message, for logs and staff
        self.code = code
        self.param = param  # the request parameter Stripe refused, when it says


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or answered 5xx/429 even after the retries."""


class PaymentDeclined(GatewayError):
    """The card or bank said no."""


class GatewayRequestRefused(GatewayError):
    """Stripe refused the request as invalid (e.g. refunding more than was paid)."""
