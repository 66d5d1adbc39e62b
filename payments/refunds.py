"""Refunds: staff ask in admin, Stripe confirms by webhook, a credit note follows.

    refund_plan         checks a refund and says what it would do (the confirmation page)
    refund_request      records it (pending, own committed transaction), then refund_send
    refund_send         calls Stripe with the key `refund-<pk>`; unreachable: stays pending,
                        and refunds_retry (a periodic task) sends it again with the same key
    refund_sync         what Stripe reports (webhook or asking): links or records the refund
                        (dashboard refunds too), then refund_mark_succeeded / _failed
    refund_issue_credit_note   one credit note per succeeded refund (the refund row is locked)

"Refundable" = amount paid - succeeded refunds - pending refunds. A refund that
fails no longer counts, so its amount becomes refundable again.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from audit.services import audit_record
from billing.credit_notes import credit_note_lines_for_amount, credit_note_lines_for_order_lines
from billing.services import credit_note_issue
from billing.tasks import render_document_pdf
from core.exceptions import ApplicationError
from core.money import format_money, to_minor_units
from orders import services as order_services
from orders.documents import order_documents_issue
from orders.exceptions import OrderError
from orders.models import Order

from . import gateway, tasks
from .exceptions import GatewayError, GatewayUnavailable
from .gateway import Charge
from .gateway import Refund as StripeRefund
from .models import Dispute, Payment, Refund
from .selectors import refund_state_marker, refund_totals, refunded_quantities, succeeded_payment

logger = logging.getLogger(__name__)

REFUNDABLE_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)
# Stripe's `failure_reason` values, as staff should read them.
FAILURE_MESSAGES = {
    "expired_or_canceled_card": "The customer's card has expired or was cancelled",
    "lost_or_stolen_card": "The customer's card was reported lost or stolen",
    "declined": "The customer's bank declined the refund",
    "insufficient_funds": "The refund could not be taken from the Stripe balance (insufficient funds)",
    "merchant_request": "The refund was cancelled at the shop's request",
    "charge_for_pending_refund_disputed": "The payment was disputed while the refund was pending",
    "unknown": "Stripe could not complete the refund",
}
# A refund recorded but not sent (Stripe unreachable) is sent again after this.
RESEND_AFTER = timedelta(seconds=30)
# A refund sent but still pending this long is checked with Stripe (lost webhook).
RECHECK_AFTER = timedelta(minutes=10)


class RefundRefused(ApplicationError):
    """The refund cannot be made; the message says why, for staff. Nothing was sent to Stripe."""


@dataclass(frozen=True)
class RefundPlan:
    """What a refund would do, checked: shown on the confirmation page and
    recorded as it is."""

    order: Order
    payment: Payment
    amount: int
    currency: str
    reason: str
    note: str
    restock: bool
    lines: list[dict] = field(default_factory=list)
    refundable: int = 0  # before this refund

    @property
    def reason_label(self) -> str:
        return Refund.Reason(self.reason).label if self.reason else ""

    @property
    def is_full(self) -> bool:
        return self.amount == self.refundable

    @property
    def refundable_after(self) -> int:
        return self.refundable - self.amount


def parse_amount(text, currency: str) -> int:
    """"12.50" (major units, as staff type it) -> 1250 minor units."""
    try:
        return to_minor_units(text, currency)
    except ValueError as error:
        raise RefundRefused(str(error)) from None


# ---------------------------------------------------------------------------
# Asking for a refund
# ---------------------------------------------------------------------------
def refund_plan(
    *, order: Order, amount: int | None = None, lines: dict[int, int] | None = None, reason: str = "",
    note: str = "", restock: bool = False,
) -> RefundPlan:
    """Check a refund and work out what it would do. `lines` maps order line
    ids to quantities; when given, the amount follows from them (VAT
    included). Without either, everything still refundable is refunded.
    Raises RefundRefused with a message for staff."""
    if order.status not in REFUNDABLE_STATUSES:
        if order.status == Order.Status.REFUNDED:
            raise RefundRefused(f"Order {order.number} is already fully refunded.")
        raise RefundRefused(
            f"Order {order.number} is {order.get_status_display().lower()}: only paid orders can be refunded."
        )
    payment = succeeded_payment(order)
    if payment is None or not (payment.stripe_payment_intent_id or order.stripe_payment_intent_id):
        raise RefundRefused(f"Order {order.number} has no successful payment recorded: nothing to refund.")
    dispute = Dispute.objects.filter(order=order).exclude(status=Dispute.Status.WARNING_CLOSED).first()
    if dispute is not None:
        raise RefundRefused(
            f"The payment of order {order.number} is disputed ({dispute.get_status_display().lower()}): "
            "a disputed payment cannot be refunded; answer the dispute instead."
        )
    if reason and reason not in Refund.Reason.values:
        raise RefundRefused("Choose one of Stripe's refund reasons.")

    totals = refund_totals(order)
    refundable = totals["refundable"]
    chosen: list[dict] = []
    if lines:
        taken = refunded_quantities(order)
        order_lines = {line.pk: line for line in order.lines.all()}
        for line_id, quantity in sorted(lines.items()):
            if not quantity:
                continue
            line = order_lines.get(int(line_id))
            if line is None:
                raise RefundRefused("A chosen line is not on this order.")
            left = line.quantity - taken.get(line.pk, 0)
            if quantity < 0:
                raise RefundRefused(f"“{line.name}”: the quantity cannot be negative.")
            if quantity > left:
                raise RefundRefused(
                    f"“{line.name}”: at most {left} of {line.quantity} can still be refunded, not {quantity}."
                )
            entry = {
                "line_id": line.pk, "sku": line.sku, "name": line.name, "quantity": int(quantity),
                "unit_amount": line.unit_amount, "vat_rate": str(line.vat_rate),
                "vat_category": line.vat_category,
            }
            if line.discount:
                # A discounted line refunds what was paid for these units, not
                # their list price (its charged total spread over its units).
                paid = line.charged_for(quantity=int(quantity), already=taken.get(line.pk, 0))
                entry["discount"] = line.unit_amount * int(quantity) - paid
            chosen.append(entry)
    if chosen:
        amount = sum(line["unit_amount"] * line["quantity"] - line.get("discount", 0) for line in chosen)
    elif amount is None:
        amount = refundable
    if restock and not chosen:
        raise RefundRefused("To return items to stock, choose the lines and quantities that come back.")
    if amount <= 0:
        if refundable <= 0:
            raise RefundRefused(f"Nothing is left to refund on order {order.number}.")
        raise RefundRefused("The amount to refund must be more than zero.")
    if amount > refundable:
        raise RefundRefused(
            f"At most {format_money(refundable, order.currency)} can be refunded on order {order.number} "
            f"({format_money(totals['paid'], order.currency)} paid, "
            f"{format_money(totals['succeeded'], order.currency)} refunded, "
            f"{format_money(totals['pending'], order.currency)} pending), "
            f"not {format_money(amount, order.currency)}."
        )
    return RefundPlan(
        order=order, payment=payment, amount=amount, currency=order.currency, reason=reason, note=note.strip(),
        restock=restock, lines=chosen, refundable=refundable,
    )


def refund_request(
    *, order_id: int, staff, amount: int | None = None, lines: dict[int, int] | None = None, reason: str = "",
    note: str = "", restock: bool = False, request_token=None, expected_state: str | None = None,
) -> tuple[Refund, bool]:
    """Record a refund (pending) and send it to Stripe. Returns (refund, created).

    The refund is committed before Stripe is called, so its idempotency key
    exists first. `request_token` (one per confirmation page) makes a double
    submit return the refund it already made; `expected_state` (the order's
    refund_state_marker when the page was shown) refuses a page gone stale
    because another refund was recorded meanwhile (a second tab).
    """
    if request_token:
        existing = Refund.objects.filter(request_token=request_token).first()
        if existing is not None:
            return existing, False
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if expected_state is not None and refund_state_marker(order) != expected_state:
            raise RefundRefused(
                f"Another refund was recorded on order {order.number} since this page was shown; nothing was "
                "sent. Look at the order again before refunding."
            )
        plan = refund_plan(order=order, amount=amount, lines=lines, reason=reason, note=note, restock=restock)
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    order=order, payment=plan.payment, status=Refund.Status.PENDING, source=Refund.Source.STAFF,
                    amount=plan.amount, currency=plan.currency, reason=plan.reason, note=plan.note,
                    lines=plan.lines, restock=plan.restock, requested_by=staff, request_token=request_token,
                )
        except IntegrityError:  # the same page submitted twice at the same moment
            return Refund.objects.get(request_token=request_token), False
        audit_record(
            action="refund.requested", actor=staff, order=order, target=refund, reason=plan.note,
            message=(f"Refund #{refund.pk} of {format_money(plan.amount, plan.currency)} requested"
                     + (f" ({plan.reason.replace('_', ' ')})" if plan.reason else "")
                     + (f"; lines: {_lines_text(plan.lines)}" if plan.lines else "")
                     + ("; return to stock" if plan.restock else "")),
            data={"amount": plan.amount, "currency": plan.currency, "lines": plan.lines, "restock": plan.restock},
        )
    logger.info("refund #%s requested on %s: %s", refund.pk, order.number, plan.amount)
    return refund_send(refund_id=refund.pk), True


def _lines_text(lines: list[dict]) -> str:
    return ", ".join(f"{line['quantity']} x {line['sku']}" for line in lines)


def _metadata(refund: Refund) -> dict[str, str]:
    return {"refund_id": str(refund.pk), "order_id": str(refund.order_id), "order_number": refund.order.number}


def _already_at_stripe(refund: Refund, intent: str) -> StripeRefund | None:
    """A refund sent before whose answer was lost (and whose idempotency key
    Stripe may have forgotten after 24 h): found by our metadata."""
    for candidate in gateway.refund_list(payment_intent_id=intent):
        if candidate.metadata.get("refund_id") == str(refund.pk):
            return candidate
    return None


def refund_send(*, refund_id: int) -> Refund:
    """Send a pending refund to Stripe (key `refund-<pk>`, so sending again is
    harmless). Stripe unreachable: it stays pending with the error noted, for
    refunds_retry. Stripe refusing it: it fails at once (nothing refunded)."""
    refund = Refund.objects.select_related("order", "payment").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING or refund.stripe_refund_id:
        return refund
    intent = refund.payment.stripe_payment_intent_id if refund.payment else ""
    intent = intent or refund.order.stripe_payment_intent_id
    try:
        found = _already_at_stripe(refund, intent) if refund.send_attempts else None
        stripe_refund = found or gateway.refund_create(
            idempotency_key=refund.idempotency_key, payment_intent_id=intent, amount=refund.amount,
            reason=refund.reason, metadata=_metadata(refund),
        )
    except GatewayUnavailable as error:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            send_error=(error.detail or str(error))[:500], send_attempts=F("send_attempts") + 1
        )
        logger.warning("refund #%s not sent (Stripe unavailable), will retry: %s", refund.pk, error.detail)
        return Refund.objects.get(pk=refund.pk)
    except GatewayError as error:
        return refund_mark_failed(
            refund_id=refund.pk, reason_code=error.code or "refused",
            message=f"Stripe refused the refund: {error}", actor="stripe",
        )
    Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
        send_attempts=F("send_attempts") + 1
    )
    return refund_sync(stripe_refund=stripe_refund) or Refund.objects.get(pk=refund.pk)


# ---------------------------------------------------------------------------
# What Stripe reports
# ---------------------------------------------------------------------------
def order_for_payment(*, payment_intent: str | None, charge: str | None) -> tuple[Order | None, Payment | None]:
    """Our order (and payment) for a Stripe payment intent or charge."""
    payments = Payment.objects.filter(status=Payment.Status.SUCCEEDED).select_related("order")
    payment = None
    if payment_intent:
        payment = payments.filter(stripe_payment_intent_id=payment_intent).first()
    if payment is None and charge:
        payment = payments.filter(stripe_charge_id=charge).first()
    if payment is not None:
        return payment.order, payment
    order = Order.objects.filter(stripe_payment_intent_id=payment_intent).first() if payment_intent else None
    return order, None


def _refund_for(stripe_refund: StripeRefund) -> Refund | None:
    stripe_id = stripe_refund.id
    refund = Refund.objects.filter(stripe_refund_id=stripe_id).first()
    if refund is not None:
        return refund
    ours = str(stripe_refund.metadata.get("refund_id") or "")
    if ours.isdigit() and Refund.objects.filter(pk=int(ours)).exists():
        with transaction.atomic():
            refund = Refund.objects.select_for_update().get(pk=int(ours))
            if not refund.stripe_refund_id:
                refund.stripe_refund_id = stripe_id
                refund.send_error = ""
                refund.save(update_fields=["stripe_refund_id", "send_error"])
        return refund
    # Made outside the shop (Stripe's dashboard): record it on its order.
    order, payment = order_for_payment(payment_intent=stripe_refund.payment_intent_id,
                                       charge=stripe_refund.charge_id)
    if order is None:
        logger.info("refund %s is for no order of ours; ignored", stripe_id)
        return None
    try:
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order.pk)
            refund = Refund.objects.create(
                order=order, payment=payment, status=Refund.Status.PENDING, source=Refund.Source.STRIPE,
                amount=stripe_refund.amount, currency=stripe_refund.currency,
                reason=stripe_refund.reason, note="Made in Stripe's dashboard",
                stripe_refund_id=stripe_id,
            )
            audit_record(
                action="refund.recorded", actor="stripe", order=order, target=refund,
                message=(f"Refund #{refund.pk} of {format_money(refund.amount, refund.currency)} made in Stripe "
                         f"({stripe_id}) recorded"),
                reason=refund.get_reason_display() if refund.reason else "",
            )
    except IntegrityError:  # the same refund reported twice at once
        return Refund.objects.get(stripe_refund_id=stripe_id)
    return refund


def refund_sync(*, stripe_refund: StripeRefund) -> Refund | None:
    """Bring our refund in line with Stripe's (webhook or a retrieve)."""
    refund = _refund_for(stripe_refund)
    if refund is None:
        return None
    status = stripe_refund.status
    if status == "succeeded":
        return refund_mark_succeeded(refund_id=refund.pk)
    if status in ("failed", "canceled"):
        code = stripe_refund.failure_reason or status
        text = FAILURE_MESSAGES.get(code, FAILURE_MESSAGES["unknown"])
        return refund_mark_failed(refund_id=refund.pk, reason_code=code, message=f"{text} (Stripe: {code}).")
    return refund


def charge_refunded_sync(*, charge: Charge) -> list[Refund]:
    """`charge.refunded`: every refund of the charge, as Stripe has them now."""
    stripe_refunds = charge.refunds or gateway.refund_list(charge_id=charge.id)
    return [r for r in (refund_sync(stripe_refund=s) for s in stripe_refunds) if r is not None]


def refund_mark_succeeded(*, refund_id: int, actor="stripe") -> Refund:
    """Confirmed by Stripe: returns stock if staff asked, moves the order to
    partially refunded / refunded, and (on commit) issues the credit note.
    Idempotent: the refund row is locked and its state checked."""
    order_id = Refund.objects.filter(pk=refund_id).values_list("order_id", flat=True).get()
    with transaction.atomic():
        # Order first, then refund (the order in which refund_request locks):
        # two refunds confirmed at once see each other's total.
        Order.objects.select_for_update().get(pk=order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        if refund.status == Refund.Status.FAILED:
            logger.warning("refund #%s reported succeeded after it failed; left failed", refund.pk)
            return refund
        refund.status = Refund.Status.SUCCEEDED
        refund.succeeded_at = timezone.now()
        refund.send_error = ""
        fields = ["status", "succeeded_at", "send_error"]
        restocked = {}
        if refund.restock and refund.lines and refund.restocked_at is None:
            restocked = order_services.order_restock(
                order_id=order_id, quantities={int(x["line_id"]): int(x["quantity"]) for x in refund.lines}
            )
            refund.restocked_at = timezone.now()
            fields.append("restocked_at")
        refund.save(update_fields=fields)
        audit_record(
            action="refund.succeeded", actor=actor, order=refund.order, target=refund,
            message=(f"Refund #{refund.pk} of {format_money(refund.amount, refund.currency)} confirmed by Stripe"
                     + (f"; returned to stock: {', '.join(f'{q} x {s}' for s, q in restocked.items())}"
                        if restocked else "")),
            data={"stripe_refund_id": refund.stripe_refund_id, "restocked": restocked},
        )
        refunded = Refund.objects.filter(order_id=order_id, status=Refund.Status.SUCCEEDED).aggregate(
            total=Sum("amount"))["total"] or 0
        try:
            order_services.order_record_refunds(order_id=order_id, refunded=refunded, actor=actor,
                                                reason=f"Refund #{refund.pk}")
        except OrderError as error:  # e.g. money refunded on an order that was never marked paid
            logger.warning("refund #%s: order status unchanged: %s", refund.pk, error)
        tasks.issue_refund_credit_note.delay_on_commit(refund.pk)
    logger.info("refund #%s succeeded", refund.pk)
    return refund


def refund_mark_failed(*, refund_id: int, reason_code: str, message: str, actor="stripe") -> Refund:
    """Stripe failed (or refused) the refund: nothing was refunded, so its
    amount is refundable again. Idempotent."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order_id)  # same lock order as refund_mark_succeeded
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == Refund.Status.FAILED:
            return refund
        if refund.status == Refund.Status.SUCCEEDED:
            # Stripe can fail a refund after it succeeded (the card was closed):
            # the money came back to us; staff must look.
            order_services.order_set_needs_attention(
                order_id=refund.order_id,
                message=(f"Refund #{refund.pk} failed after it had succeeded: {message} "
                         "Refund the customer another way."),
            )
        refund.status = Refund.Status.FAILED
        refund.failed_at = timezone.now()
        refund.failure_reason = reason_code[:64]
        refund.failure_message = message[:500]
        refund.save(update_fields=["status", "failed_at", "failure_reason", "failure_message"])
        audit_record(
            action="refund.failed", actor=actor, order=refund.order, target=refund, reason=message,
            message=f"Refund #{refund.pk} of {format_money(refund.amount, refund.currency)} failed",
            data={"failure_reason": reason_code, "stripe_refund_id": refund.stripe_refund_id},
        )
    logger.warning("refund #%s failed: %s", refund.pk, message)
    return refund


# ---------------------------------------------------------------------------
# Credit note
# ---------------------------------------------------------------------------
def refund_issue_credit_note(*, refund_id: int):
    """Issue the credit note of a succeeded refund, once: the refund row is
    locked and `credit_note` checked and set in the issuing transaction."""
    refund = Refund.objects.select_related("credit_note").get(pk=refund_id)
    if refund.credit_note_id is not None:
        return refund.credit_note
    if refund.status != Refund.Status.SUCCEEDED:
        return None
    # The invoice is normally issued when the order is paid; idempotent.
    invoice, _receipt = order_documents_issue(order_id=refund.order_id)
    with transaction.atomic():
        # Locks taken in the order refund_mark_succeeded takes them (order,
        # then refund): a charge.refunded delivered at the same moment would
        # otherwise deadlock with this transaction.
        Order.objects.select_for_update().get(pk=refund.order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.credit_note_id is not None:
            return refund.credit_note
        if refund.lines:
            lines = credit_note_lines_for_order_lines(refund.lines)
        else:
            lines = credit_note_lines_for_amount(invoice=invoice, amount=refund.amount)
        reason = " – ".join(x for x in (refund.get_reason_display() if refund.reason else "", refund.note) if x)
        note = credit_note_issue(
            invoice_id=invoice.pk, lines=lines, reason=reason,
            refund_reference=f"Stripe {refund.stripe_refund_id}" if refund.stripe_refund_id else f"Refund #{refund.pk}",
        )
        refund.credit_note = note
        refund.save(update_fields=["credit_note"])
        audit_record(
            action="credit_note.issued", actor="system", order=refund.order, target=note,
            message=f"Credit note {note.number} of {format_money(note.total_gross, note.currency)} issued for "
                    f"refund #{refund.pk} (credits {invoice.number})",
        )
        render_document_pdf.delay_on_commit(note.pk)  # then e-mailed to the customer
    return note


# ---------------------------------------------------------------------------
# Periodic: refunds left behind
# ---------------------------------------------------------------------------
def refunds_to_retry() -> dict[str, list[int]]:
    now = timezone.now()
    pending = Refund.objects.filter(status=Refund.Status.PENDING)
    return {
        "unsent": list(pending.filter(stripe_refund_id__isnull=True, created_at__lte=now - RESEND_AFTER)
                       .values_list("pk", flat=True)),
        "unconfirmed": list(pending.filter(stripe_refund_id__isnull=False, created_at__lte=now - RECHECK_AFTER)
                            .values_list("pk", flat=True)),
    }


def refund_recheck(*, refund_id: int) -> Refund:
    """Ask Stripe how a refund stands (its webhook may have been lost)."""
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    if not refund.stripe_refund_id:
        return refund_send(refund_id=refund.pk)
    return refund_sync(stripe_refund=gateway.refund_retrieve(refund.stripe_refund_id)) or refund
