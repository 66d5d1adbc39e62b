"""Payments for orders: starting Stripe Checkout, settling what Stripe reports
(by webhook or by asking), and reconciling orders whose webhook never came.

Stripe is called outside any row lock; the order services called here do the
locking and state checks, so a webhook and the reconciliation racing each
other settle the order once.
"""

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.cards import card_label
from orders import services as order_services
from orders.exceptions import OrderError, PaymentMismatch
from orders.models import Order

from . import gateway
from .decline_messages import customer_message
from .exceptions import GatewayError, GatewayRequestRefused
from .gateway import CheckoutSession, PaymentIntent
from .models import Payment

logger = logging.getLogger(__name__)

# Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours after
# creation; a minute of margin keeps us inside it whatever the clock skew.
MIN_SESSION_LIFETIME = timedelta(minutes=31)


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _session_create(*, order: Order, idempotency_key: str) -> str:
    """A Checkout Session for the order, linked to it; its URL."""
    expires_at = max(order.expires_at, timezone.now() + MIN_SESSION_LIFETIME)
    lines = [
        {"name": line.name, "sku": line.sku, "unit_amount": line.unit_amount, "quantity": line.quantity}
        for line in order.lines.all()
    ]
    status_url = _absolute(order.get_absolute_url())
    try:
        session = _session_create_call(order=order, idempotency_key=idempotency_key, lines=lines,
                                       status_url=status_url, expires_at=expires_at)
    except GatewayRequestRefused as error:
        if order.stripe_promotion_code_id and "promotion_code" in (error.param or ""):
            # Stripe refused the code itself (used up or expired meanwhile, e.g.
            # by a buyer who paid first): say so, in the customer's words.
            raise GatewayRequestRefused(
                f"The discount code “{order.discount_code}” can no longer be used ({error}). "
                "Your cart is as you left it: remove the code or try another one.",
                detail=error.detail, code=error.code) from error
        raise
    if session.amount_total != order.total:
        # Never send a customer to pay another amount than the order's (and
        # its invoice's): Stripe computed the discount otherwise than we did.
        try:
            gateway.checkout_session_expire(session.id, idempotency_key=f"order-{order.reference}-expire-mismatch")
        except GatewayError:
            logger.exception("could not expire mismatched session %s", session.id)
        logger.error("order %s: Stripe would charge %s, the order is %s", order.number, session.amount_total,
                     order.total)
        raise GatewayRequestRefused(
            "The discount could not be applied at the payment service; nothing was charged. "
            "Please try again without the code, or contact us.", code="amount_mismatch")
    order_services.order_attach_checkout_session(
        order_id=order.pk,
        session_id=session.id,
        url=session.url,
        expires_at=datetime.fromtimestamp(session.expires_at, tz=dt_timezone.utc),
    )
    return session.url


def _session_create_call(*, order: Order, idempotency_key: str, lines: list[dict], status_url: str,
                         expires_at) -> CheckoutSession:
    return gateway.checkout_session_create(
        idempotency_key=idempotency_key,
        line_items=lines,
        currency=order.currency,
        customer_email=order.email,
        client_reference_id=str(order.pk),
        metadata={"order_id": str(order.pk), "order_reference": str(order.reference)},
        success_url=f"{status_url}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=_absolute(reverse("orders:checkout_cancelled", args=[order.reference])),
        expires_at=int(expires_at.timestamp()),
        promotion_code=order.stripe_promotion_code_id,
    )


def checkout_start(*, order: Order) -> str:
    """Create the Stripe Checkout Session for a freshly placed order and return
    the URL to send the customer to.

    On failure (after the SDK's own retries with the same idempotency key) the
    order is cancelled and its stock released before GatewayError is raised,
    so nothing is left holding stock.

    An order that costs nothing (a 100 % discount code) has nothing to pay:
    it is marked paid at zero (its invoice is issued, without a receipt)
    and the customer goes straight to its page.
    """
    if order.total == 0:
        order_services.order_mark_paid(
            order_id=order.pk, amount_paid=0, currency=order.currency,
            payment_reference=f"No payment due: {order.discount_label or 'fully discounted'}",
        )
        return _absolute(order.get_absolute_url())
    try:
        return _session_create(order=order, idempotency_key=f"order-{order.reference}-checkout")
    except GatewayError as error:
        order_services.order_cancel(order_id=order.pk, reason=f"Checkout could not start: {error}")
        raise


def checkout_resume(*, order: Order) -> str | None:
    """"Pay now" on an unpaid order: the URL of its Checkout Session while that
    is still open, else of a new one (while the reservation lasts). None when
    there is nothing to pay any more (paid meanwhile, expired, cancelled): the
    order page then says how it stands. A GatewayError leaves the order as it was."""
    order = Order.objects.get(pk=order.pk)
    if order.status != Order.Status.AWAITING_PAYMENT:
        return None
    if order.expires_at <= timezone.now():
        order_reconcile(order_id=order.pk)  # expires the session at Stripe first, or finds it paid
        return None
    previous = order.stripe_checkout_session_id
    if previous:
        session = gateway.checkout_session_retrieve(previous)
        if session.status == "open":
            return session.url or order.checkout_url
        if session.status == "complete":
            checkout_session_settle(session=session)
            return None
    # No session yet (its checkout is still starting): the same key as
    # checkout_start, so Stripe gives both the one session.
    key = f"order-{order.reference}-checkout-after-{previous}" if previous else f"order-{order.reference}-checkout"
    return _session_create(order=order, idempotency_key=key)


def _order_for_session(session: CheckoutSession) -> Order | None:
    order_id = session.metadata.get("order_id") or session.client_reference_id
    order = None
    if order_id and str(order_id).isdigit():
        order = Order.objects.filter(pk=int(order_id)).first()
    if order is None:
        order = Order.objects.filter(stripe_checkout_session_id=session.id).first()
    return order


def payment_record_success(*, order: Order, intent: PaymentIntent) -> Payment:
    """Our record of a succeeded payment intent; one per intent, however often called."""
    existing = Payment.objects.filter(stripe_payment_intent_id=intent.id, status=Payment.Status.SUCCEEDED).first()
    if existing:
        return existing
    charge = intent.latest_charge
    try:
        with transaction.atomic():
            return Payment.objects.create(
                order=order,
                status=Payment.Status.SUCCEEDED,
                amount=intent.amount_settled,
                currency=intent.currency,
                stripe_payment_intent_id=intent.id,
                stripe_charge_id=charge.id if charge else intent.latest_charge_id,
                card_brand=charge.card_brand if charge else "",
                card_last4=charge.card_last4 if charge else "",
            )
    except IntegrityError:  # a concurrent delivery recorded it first
        return Payment.objects.get(stripe_payment_intent_id=intent.id, status=Payment.Status.SUCCEEDED)


def payment_reference(payment: Payment) -> str:
    """"Card Visa •••• 4242, Stripe pi_...": how the payment is named on documents."""
    parts = []
    if payment.card_brand or payment.card_last4:
        parts.append(card_label(payment.card_brand, payment.card_last4))
    if payment.stripe_payment_intent_id:
        parts.append(f"Stripe {payment.stripe_payment_intent_id}")
    return ", ".join(parts)


def checkout_session_settle(*, session: CheckoutSession) -> Order | None:
    """Bring our order in line with a Checkout Session as Stripe reports it.

    Used by the webhook receivers and by reconciliation. Paid: the payment is
    recorded and the order marked paid (amount and currency checked). Expired:
    the order expires and its stock returns. Open: nothing to do.
    """
    order = _order_for_session(session)
    if order is None:
        logger.warning("checkout session %s names no order of ours; ignored", session.id)
        return None
    if session.is_paid:
        intent = session.payment_intent
        if intent is None or intent.latest_charge is None:
            # The card used is on the intent's charge, which the event does not carry.
            intent = gateway.payment_intent_retrieve(session.payment_intent_id)
        payment = payment_record_success(order=order, intent=intent)
        charge = intent.latest_charge
        try:
            return order_services.order_mark_paid(
                order_id=order.pk,
                amount_paid=session.amount_total,
                currency=session.currency,
                payment_intent_id=intent.id,
                payment_reference=payment_reference(payment),
                # When Stripe took the money, not when its event reached us: a
                # late webhook never dates a payment in the wrong month.
                paid_at=datetime.fromtimestamp(charge.created, tz=dt_timezone.utc) if charge and charge.created
                else None,
            )
        except PaymentMismatch:
            return Order.objects.get(pk=order.pk)  # flagged for staff by order_mark_paid
    if session.status == "expired":
        try:
            return order_services.order_expire(order_id=order.pk)
        except OrderError as error:
            logger.info("session %s expired but order not awaiting payment: %s", session.id, error)
    return Order.objects.get(pk=order.pk)


def checkout_session_async_failed(*, session: CheckoutSession) -> Order | None:
    order = _order_for_session(session)
    if order is None:
        logger.warning("checkout session %s names no order of ours; ignored", session.id)
        return None
    try:
        return order_services.order_mark_payment_failed(
            order_id=order.pk, reason="The payment did not go through. No money was taken."
        )
    except OrderError as error:
        logger.info("async payment failure for order %s ignored: %s", order.number, error)
        return order


def payment_intent_failed(*, intent: PaymentIntent) -> Order | None:
    """A payment attempt failed (card declined). The Checkout page lets the
    customer try another card, so the order stays open and shows the reason."""
    order_id = intent.metadata.get("order_id")
    order = Order.objects.filter(pk=int(order_id)).first() if str(order_id or "").isdigit() else None
    if order is None:
        logger.info("payment intent %s failed, not one of our orders; ignored", intent.id)
        return None
    error = intent.last_payment_error
    # Staff keep Stripe's words on the payment; the customer reads their own.
    stripe_message = (error.message if error else "") or "Your payment was declined."
    # One row per failed attempt (its charge): a repeated webhook adds nothing.
    Payment.objects.get_or_create(
        stripe_payment_intent_id=intent.id,
        stripe_charge_id=error.charge_id if error else "",
        status=Payment.Status.FAILED,
        failure_message=stripe_message[:500],
        defaults={"order": order, "amount": intent.amount, "currency": intent.currency or order.currency,
                  # The card refused, so the customer sees which one it was.
                  "card_brand": error.card_brand if error else "", "card_last4": error.card_last4 if error else ""},
    )
    return order_services.order_record_payment_error(order_id=order.pk, message=customer_message(error))


def order_reconcile(*, order_id: int) -> Order:
    """Ask Stripe how an order's payment stands and settle the order accordingly.

    An order past its reservation whose session is still open gets its session
    expired at Stripe first, so the customer cannot pay for stock we release.
    """
    order = Order.objects.get(pk=order_id)
    if order.status != Order.Status.AWAITING_PAYMENT:
        return order
    if not order.stripe_checkout_session_id:
        if order.expires_at <= timezone.now():
            return order_services.order_expire(order_id=order.pk)
        return order
    session = gateway.checkout_session_retrieve(order.stripe_checkout_session_id)
    if session.status == "open" and order.expires_at <= timezone.now():
        try:
            session = gateway.checkout_session_expire(session.id, idempotency_key=f"order-{order.reference}-expire")
        except GatewayRequestRefused:
            # It completed or expired in the meantime: read it again.
            session = gateway.checkout_session_retrieve(order.stripe_checkout_session_id)
    return checkout_session_settle(session=session) or order


def orders_to_reconcile():
    """Orders still awaiting payment some minutes after placing (a webhook may be lost)."""
    cutoff = timezone.now() - timedelta(minutes=settings.ORDER_RECONCILE_AFTER_MINUTES)
    return Order.objects.filter(status=Order.Status.AWAITING_PAYMENT, created_at__lte=cutoff).values_list(
        "pk", flat=True
    )


def checkout_cancel(*, order: Order) -> Order:
    """The customer left the payment page with "back". Expire the session at
    Stripe first so it cannot be paid later, then cancel the order and release
    its stock. If it was paid meanwhile, the payment wins."""
    if order.status != Order.Status.AWAITING_PAYMENT:
        return order
    if order.stripe_checkout_session_id:
        try:
            session = gateway.checkout_session_expire(
                order.stripe_checkout_session_id, idempotency_key=f"order-{order.reference}-expire"
            )
        except GatewayRequestRefused:
            session = gateway.checkout_session_retrieve(order.stripe_checkout_session_id)
        if session.status == "complete":
            return checkout_session_settle(session=session) or order
    try:
        return order_services.order_cancel(order_id=order.pk, reason="Payment cancelled by the customer.")
    except OrderError:
        return Order.objects.get(pk=order.pk)
