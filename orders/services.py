"""Writes on orders. Every state change runs in a transaction, locks the order
row, checks the current state and does nothing when the change was already
made, so a repeated webhook or a double click is harmless."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from audit.services import audit_record
from billing.vies import VatIdCheck
from catalog.models import Product
from core.money import format_money

from . import tasks
from .discounts import discount_code_find, discount_code_reserve, normalize_code
from .exceptions import InvalidQuantity, OrderError, OrderStateError, OutOfStock, PaymentMismatch, QuoteChanged
from .models import Order, OrderLine
from .pricing import order_quote

logger = logging.getLogger(__name__)

MAX_QUANTITY_PER_LINE = 99


@dataclass(frozen=True)
class CartItem:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class BillingDetails:
    name: str
    line1: str
    postal_code: str
    city: str
    country: str
    company: str = ""
    vat_id: str = ""

    @classmethod
    def from_form(cls, data: dict) -> "BillingDetails":
        """From a billing address form's cleaned data (billing.forms.BillingAddressForm)."""
        return cls(
            name=data["billing_name"].strip(),
            company=data["billing_company"].strip(),
            line1=data["billing_line1"].strip(),
            postal_code=data["billing_postal_code"],
            city=data["billing_city"].strip(),
            country=data["billing_country"],
            vat_id=data["vat_id"],
        )


def validate_quantity(raw) -> int:
    """A quantity typed by a customer: a whole number from 1 to 99."""
    try:
        quantity = int(str(raw).strip())
    except (TypeError, ValueError):
        raise InvalidQuantity("Quantity must be a whole number.") from None
    if quantity < 1:
        raise InvalidQuantity("Quantity must be at least 1.")
    if quantity > MAX_QUANTITY_PER_LINE:
        raise InvalidQuantity(f"You can order at most {MAX_QUANTITY_PER_LINE} of one product.")
    return quantity


def order_place(
    *, items: Sequence[CartItem], email: str, billing: BillingDetails, customer=None,
    vat_check: VatIdCheck | None = None, quote_key: str | None = None, discount_code: str = "",
) -> Order:
    """Place an order and reserve its stock, in one transaction.

    Prices, VAT rates and currency come from the database, never from the
    request; the VAT is the buyer's place of supply's (orders.pricing), with
    `vat_check` the VIES answer on the buyer's VAT id (checked by the caller,
    outside any transaction). With `quote_key` (what the customer was shown),
    an order whose amounts differ is refused (QuoteChanged) instead of placed.
    Stock is taken with a conditional UPDATE (`stock >= quantity`), so two
    customers racing for the last unit cannot both get it: the second UPDATE
    matches no row and the whole order rolls back.

    `discount_code` (a promotion code as typed) is checked for this buyer
    and cart (orders.discounts, DiscountRefused with the reason otherwise)
    and taken off the lines; its redemption limit is checked again under a
    lock in the placing transaction, so the last redemption goes to one order.
    """
    if not items:
        raise OrderError("Your cart is empty.")
    merged: dict[int, int] = {}
    for item in items:
        merged[item.product_id] = merged.get(item.product_id, 0) + validate_quantity(item.quantity)
    for quantity in merged.values():
        validate_quantity(quantity)

    products = Product.objects.select_related("tax_rate").in_bulk(list(merged))
    missing = [pk for pk in merged if pk not in products or not products[pk].active]
    if missing:
        raise OrderError("A product in your cart is no longer sold; please review your cart.")
    currencies = {p.currency for p in products.values()}
    if len(currencies) != 1:
        raise OrderError("Products in different currencies cannot be bought in one order.")
    # Sold out as just read: refused before any transaction or write (a rush
    # on the last units is mostly refusals; they cost one SELECT). The
    # conditional UPDATE below still decides the race for what is left.
    for pk in sorted(merged):
        if products[pk].stock < merged[pk]:
            raise OutOfStock(products[pk], products[pk].stock)
    if vat_check is not None and vat_check.vat_id != billing.vat_id.replace(" ", "").upper():
        raise OrderError("The VAT id check is not for this VAT id.")
    # Lines as the cart shows them (by product name), whatever order the items
    # came in: the quote's key and the discount's split follow the lines' order.
    priced = sorted(((products[pk], q) for pk, q in merged.items()), key=lambda pq: (pq[0].name, pq[0].pk))
    quote = order_quote(items=priced, country=billing.country, vat_check=vat_check)
    discount = None
    if normalize_code(discount_code):
        discount = discount_code_find(code=discount_code, currency=quote.currency, subtotal=quote.subtotal,
                                      email=email, customer=customer)
        quote = order_quote(items=priced, country=billing.country, vat_check=vat_check, discount=discount)
    if quote_key is not None and quote_key != quote.key:
        raise QuoteChanged(quote)

    now = timezone.now()
    with transaction.atomic():
        if discount is not None:
            # Orders with this code one at a time; its limit read again under the lock.
            discount_code_reserve(discount)
            discount_code_find(code=discount_code, currency=quote.currency, subtotal=quote.subtotal, email=email,
                               customer=customer)
        order = Order.objects.create(
            customer=customer if customer is not None and customer.is_authenticated else None,
            email=email,
            currency=currencies.pop(),
            total=quote.total,
            billing_name=billing.name,
            billing_company=billing.company,
            billing_line1=billing.line1,
            billing_postal_code=billing.postal_code,
            billing_city=billing.city,
            billing_country=billing.country.upper(),
            vat_id=billing.vat_id.replace(" ", "").upper(),
            vat_id_status=vat_check.status if vat_check else "",
            vat_id_checked_at=vat_check.checked_at if vat_check else None,
            vat_id_check_detail=vat_check.detail[:300] if vat_check else "",
            expires_at=now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES),
            discount_code=discount.code if discount else "",
            discount_label=discount.label if discount else "",
            discount_total=quote.discount_total,
            stripe_promotion_code_id=discount.promotion_code_id if discount else "",
            stripe_coupon_id=discount.coupon_id if discount else "",
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=line.product,
                sku=line.product.sku,
                name=line.product.name,
                unit_amount=line.unit_amount,
                quantity=line.quantity,
                vat_rate=line.vat_rate,
                vat_category=line.vat_category,
                discount=line.discount,
            )
            for line in quote.lines
        )
        audit_record(
            action="order.placed", actor=order.customer or "customer", actor_label=order.email, order=order,
            message=f"Order placed: {format_money(order.total, order.currency)}",
        )
        # The stock last: its UPDATE locks the product's row until the commit,
        # and every buyer of that product waits on it, so it is held for this
        # statement and the commit only (not for the inserts above, which a
        # refusal here rolls back). Taken in a stable order (by id), so
        # concurrent orders on several products cannot deadlock each other.
        for pk in sorted(merged):
            taken = Product.objects.filter(pk=pk, active=True, stock__gte=merged[pk]).update(
                stock=F("stock") - merged[pk]
            )
            if not taken:
                available = Product.objects.filter(pk=pk).values_list("stock", flat=True).first() or 0
                raise OutOfStock(products[pk], available)
    logger.info("order placed: %s total=%s %s", order.number, order.total, order.currency)
    return order


def _lock(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _release_stock(order: Order) -> None:
    for line in order.lines.exclude(product=None):
        Product.objects.filter(pk=line.product_id).update(stock=F("stock") + line.quantity)


def _reserve_stock_again(order: Order) -> bool:
    """Take the order's units again (a payment arrived after the order ended).
    True if every line could be reserved; otherwise nothing is taken."""
    try:
        with transaction.atomic():
            for line in order.lines.exclude(product=None).order_by("product_id"):
                if not Product.objects.filter(pk=line.product_id, stock__gte=line.quantity).update(
                    stock=F("stock") - line.quantity
                ):
                    raise OutOfStock(line.product, 0)
    except OutOfStock:
        return False
    return True


def order_attach_checkout_session(*, order_id: int, session_id: str, url: str, expires_at) -> None:
    """Link the order to its Checkout Session. The reservation lasts as long as
    the session can be paid (Stripe's minimum lifetime may exceed ours).

    One UPDATE (atomic by itself, no lock held across statements): the later
    of the two expiry times is taken by the database, so an expiry moved
    meanwhile is never shortened."""
    Order.objects.filter(pk=order_id).update(
        stripe_checkout_session_id=session_id,
        checkout_url=url,
        expires_at=Greatest(F("expires_at"), Value(expires_at, output_field=DateTimeField())),
    )


def order_mark_paid(
    *, order_id: int, amount_paid: int, currency: str, payment_intent_id: str = "", payment_reference: str = "",
    paid_at=None,
) -> Order:
    """Record a confirmed payment. Idempotent: a second call changes nothing.
    `payment_reference` names the payment on the documents ("Card Visa ••••
    4242, Stripe pi_..."); `paid_at` is when Stripe took the payment (the
    charge's time; now when unknown). Once committed, the invoice and receipt are issued
    by a task (orders.tasks.issue_order_documents).

    A payment that does not match the order (amount or currency) is not
    accepted: the order is flagged for staff and PaymentMismatch is raised.
    A payment for an order that had already been cancelled or expired is kept
    if its stock can be reserved again, and flagged for a refund otherwise.
    """
    with transaction.atomic():
        order = _lock(order_id)
        if order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED):
            return order  # a repeated webhook, or the reconciliation after it
        if (amount_paid, currency.lower()) != (order.total, order.currency.lower()):
            error = PaymentMismatch(order, amount_paid, currency)
            order.needs_attention = str(error)
            order.save(update_fields=["needs_attention"])
            transaction.on_commit(lambda: logger.error("payment mismatch: %s", error))
            # Commit the flag, then tell the caller.
        else:
            error = None
            if order.status != Order.Status.AWAITING_PAYMENT and not _reserve_stock_again(order):
                order.needs_attention = (
                    f"Paid after the order was {order.get_status_display().lower()} and the stock is gone: "
                    "refund the customer."
                )
                order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
                order.amount_paid = amount_paid
                order.save(update_fields=["needs_attention", "stripe_payment_intent_id", "amount_paid"])
                return order
            order.status = Order.Status.PAID
            order.paid_at = paid_at or timezone.now()
            order.closed_at = None
            order.amount_paid = amount_paid
            order.payment_error = ""
            order.stripe_payment_intent_id = payment_intent_id or order.stripe_payment_intent_id
            order.payment_reference = payment_reference or order.payment_reference
            order.save(
                update_fields=["status", "paid_at", "closed_at", "amount_paid", "payment_error",
                               "stripe_payment_intent_id", "payment_reference"]
            )
            audit_record(
                action="order.paid", actor="stripe", order=order,
                message=f"Paid: {format_money(amount_paid, currency)} ({order.stripe_payment_intent_id})",
            )
            tasks.issue_order_documents.delay_on_commit(order.pk)
    if error is not None:
        raise error
    logger.info("order paid: %s", order.number)
    return order


def _close(order_id: int, status: str, *, reason: str = "") -> Order:
    with transaction.atomic():
        order = _lock(order_id)
        if order.status == status:
            return order
        if order.status != Order.Status.AWAITING_PAYMENT:
            raise OrderStateError(order, Order.Status(status).label.lower())
        order.status = status
        order.closed_at = timezone.now()
        if reason:
            order.payment_error = reason[:500]
        order.save(update_fields=["status", "closed_at", "payment_error"])
        _release_stock(order)
        audit_record(
            action=f"order.{status}", actor="stripe" if status == Order.Status.PAYMENT_FAILED else "system",
            order=order, message=f"Order {Order.Status(status).label.lower()}; stock released", reason=reason,
        )
    logger.info("order %s: %s %s", status, order.number, reason)
    return order


def order_cancel(*, order_id: int, reason: str = "") -> Order:
    """The customer gave up (cancel on the payment page) or checkout could not start."""
    return _close(order_id, Order.Status.CANCELLED, reason=reason)


def order_expire(*, order_id: int) -> Order:
    """The reservation ran out before any payment."""
    return _close(order_id, Order.Status.EXPIRED)


def order_mark_payment_failed(*, order_id: int, reason: str) -> Order:
    """The payment ended in failure for good (e.g. an asynchronous payment method)."""
    return _close(order_id, Order.Status.PAYMENT_FAILED, reason=reason)


def order_record_payment_error(*, order_id: int, message: str) -> Order:
    """An attempt failed (card declined) but the customer may still retry on the
    payment page: the order keeps its stock and shows the message."""
    with transaction.atomic():
        order = _lock(order_id)
        if order.status == Order.Status.AWAITING_PAYMENT and order.payment_error != message:
            order.payment_error = message[:500]
            order.save(update_fields=["payment_error"])
    return order


# Refunds move a paid order forward only: paid -> partially refunded -> refunded.
REFUND_PROGRESS = [Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED]


def order_record_refunds(*, order_id: int, refunded: int, actor="stripe", reason: str = "") -> Order:
    """Bring a paid order's status in line with `refunded`, the total of its
    succeeded refunds (minor units): partially refunded, or refunded once it
    reaches what was paid. Idempotent, and never moves the order backwards.
    Called by payments.refunds in the transaction confirming a refund."""
    with transaction.atomic():
        order = _lock(order_id)
        if order.status not in REFUND_PROGRESS:
            raise OrderStateError(order, "refunded")
        if refunded >= order.amount_paid:
            target = Order.Status.REFUNDED
        elif refunded > 0:
            target = Order.Status.PARTIALLY_REFUNDED
        else:
            return order
        if REFUND_PROGRESS.index(target) <= REFUND_PROGRESS.index(order.status):
            return order
        previous = order.get_status_display().lower()
        order.status = target
        order.save(update_fields=["status"])
        audit_record(
            action=f"order.{target}", actor=actor, order=order, reason=reason,
            message=(f"Order {order.get_status_display().lower()} (was {previous}): "
                     f"{format_money(refunded, order.currency)} of "
                     f"{format_money(order.amount_paid, order.currency)} refunded"),
        )
    logger.info("order %s: %s", target, order.number)
    return order


def order_restock(*, order_id: int, quantities: dict[int, int]) -> dict[str, int]:
    """Put returned units back in stock: {order line id: quantity}. The caller
    guards against doing it twice (payments.refunds locks the refund and marks
    it restocked in the same transaction). Returns {sku: quantity} restocked."""
    restocked = {}
    with transaction.atomic():
        lines = OrderLine.objects.filter(order_id=order_id, pk__in=list(quantities)).exclude(product=None)
        for line in lines.order_by("product_id"):
            quantity = min(int(quantities[line.pk]), line.quantity)
            if quantity > 0:
                Product.objects.filter(pk=line.product_id).update(stock=F("stock") + quantity)
                restocked[line.sku] = restocked.get(line.sku, 0) + quantity
    return restocked


def order_set_needs_attention(*, order_id: int, message: str, only_if_prefix: str = "") -> Order:
    """Flag the order for staff with `message` (or clear the flag with "").
    With `only_if_prefix`, only a flag starting with it is replaced, so that
    clearing a dispute's flag never hides another problem."""
    with transaction.atomic():
        order = _lock(order_id)
        if only_if_prefix and order.needs_attention and not order.needs_attention.startswith(only_if_prefix):
            return order
        if order.needs_attention != message[:500]:
            order.needs_attention = message[:500]
            order.save(update_fields=["needs_attention"])
    return order
