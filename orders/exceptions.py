"""Domain errors of the order package. Their messages are shown to customers
or staff as they are, so they are written for people."""

from core.exceptions import ApplicationError


class OrderError(ApplicationError):
    """Something the customer or staff asked cannot be done; the message says why."""


class InvalidQuantity(OrderError):
    pass


class OutOfStock(OrderError):
    def __init__(self, product, available: int):
        self.product = product
        self.available = available
        if available:
            msg = f"Only {available} of “{product.name}” left in stock."
        else:
            msg = f"“{product.name}” is out of stock."
        super().__init__(msg)


class OrderStateError(OrderError):
    def __init__(self, order, target: str):
        self.order = order
        self.target = target
        super().__init__(f"Order {order.number} is {order.get_status_display().lower()}; it cannot become {target}.")


class PaymentMismatch(OrderError):
    def __init__(self, order, amount_paid: int, currency: str):
        self.order = order
        self.amount_paid = amount_paid
        self.currency = currency
        super().__init__(
            f"Stripe reports {amount_paid} {currency.upper()} paid for order {order.number}, "
            f"which totals {order.total} {order.currency.upper()}."
        )


class QuoteChanged(OrderError):
    """The prices for the buyer's address differ from what the customer was
    shown (another VAT applies): they confirm the new amounts first."""

    def __init__(self, quote):
        self.quote = quote
        super().__init__("The VAT for your billing address changes the amounts: check the new total, "
                         "then continue to payment.")
