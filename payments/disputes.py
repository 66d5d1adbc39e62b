"""Disputes (chargebacks): recorded from Stripe's `charge.dispute.*` events,
shown to staff with their evidence deadline, answered with evidence from admin.

    dispute_sync               what Stripe reports: record / update, flag the order, won or lost
    dispute_submit_evidence    texts + the invoice PDF (a Stripe File) sent with submit=true
"""

import logging
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from billing.models import Document
from billing.services import document_pdf_bytes, document_render_pdf
from core.exceptions import ApplicationError
from core.money import format_money
from orders import services as order_services

from . import gateway
from .exceptions import GatewayError, GatewayUnavailable
from .gateway import Dispute as StripeDispute
from .models import Dispute
from .refunds import order_for_payment

logger = logging.getLogger(__name__)

FLAG_PREFIX = "Dispute"
# The evidence staff can give from admin, by Stripe's evidence field names,
# with how staff read them.
EVIDENCE_TEXT_FIELDS = {
    "customer_name": "Customer name",
    "customer_email_address": "Customer e-mail",
    "billing_address": "Billing address",
    "product_description": "What was sold",
    "service_date": "Delivered on",
    "shipping_carrier": "Carrier",
    "shipping_tracking_number": "Tracking number",
    "shipping_date": "Shipped on",
    "refund_policy_disclosure": "How the refund policy was shown",
    "refund_refusal_explanation": "Why no refund was given",
    "uncategorized_text": "Explanation",
}
# Documents uploaded as Stripe Files (the invoice goes in uncategorized_file).
EVIDENCE_FILE_FIELDS = {
    "receipt": "Receipt or confirmation sent to the customer",
    "customer_communication": "Communication with the customer",
    "shipping_documentation": "Proof of shipping or delivery",
    "service_documentation": "Proof the service was provided",
    "refund_policy": "Refund policy",
}
EVIDENCE_FILE_TYPES = {".pdf": "pdf", ".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}
# Stripe takes at most 5 MB of evidence files per dispute.
EVIDENCE_FILES_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_LABELS = {**EVIDENCE_TEXT_FIELDS, **EVIDENCE_FILE_FIELDS, "uncategorized_file": "Invoice"}


class DisputeError(ApplicationError):
    """Evidence could not be submitted; the message says why, for staff."""


def _when(timestamp) -> datetime | None:
    return datetime.fromtimestamp(int(timestamp), tz=dt_timezone.utc) if timestamp else None


def _flag(dispute: Dispute) -> str:
    amount = format_money(dispute.amount, dispute.currency)
    if dispute.status == Dispute.Status.LOST:
        return f"{FLAG_PREFIX} lost: {amount} taken back by the customer's bank ({dispute.stripe_dispute_id})."
    due = ""
    if dispute.evidence_due_by:
        due = f"; evidence due by {timezone.localtime(dispute.evidence_due_by):%Y-%m-%d %H:%M}"
    return f"{FLAG_PREFIX} opened: {amount} disputed ({dispute.reason or 'no reason given'}){due}."


def dispute_sync(*, stripe_dispute: StripeDispute) -> Dispute | None:
    """Record or update a dispute as Stripe reports it. Idempotent; a stale
    event (an update arriving after the close) never reopens a closed dispute."""
    stripe_id = stripe_dispute.id
    status = stripe_dispute.status or Dispute.Status.NEEDS_RESPONSE
    order, payment = order_for_payment(payment_intent=stripe_dispute.payment_intent_id,
                                       charge=stripe_dispute.charge_id)
    values = {
        "amount": stripe_dispute.amount,
        "currency": stripe_dispute.currency,
        "reason": stripe_dispute.reason,
        "evidence_due_by": _when(stripe_dispute.evidence_due_by),
    }
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().filter(stripe_dispute_id=stripe_id).first()
        if dispute is None:
            try:
                with transaction.atomic():
                    dispute = Dispute.objects.create(
                        stripe_dispute_id=stripe_id, order=order, payment=payment, status=status,
                        stripe_charge_id=stripe_dispute.charge_id,
                        stripe_payment_intent_id=stripe_dispute.payment_intent_id, **values,
                    )
            except IntegrityError:  # the same dispute reported twice at once
                dispute = Dispute.objects.select_for_update().get(stripe_dispute_id=stripe_id)
            else:
                audit_record(
                    action="dispute.opened", actor="stripe", order=order, target=dispute,
                    message=(f"Dispute {stripe_id} opened: {format_money(dispute.amount, dispute.currency)} "
                             f"({dispute.reason or 'no reason'}), status {dispute.get_status_display().lower()}"),
                    data={"evidence_due_by": dispute.evidence_due_by},
                )
                if order is not None and dispute.status not in Dispute.CLOSED:
                    order_services.order_set_needs_attention(order_id=order.pk, message=_flag(dispute),
                                                             only_if_prefix=FLAG_PREFIX)
                if dispute.status in Dispute.CLOSED:
                    _close(dispute)
                return dispute
        if dispute.outcome:  # closed: final
            return dispute
        previous = dispute.status
        for key, value in values.items():
            setattr(dispute, key, value)
        dispute.status = status
        if status in (Dispute.Status.WON, Dispute.Status.LOST):
            _close(dispute)
        else:
            dispute.save()
            if previous != status:
                audit_record(
                    action="dispute.updated", actor="stripe", order=dispute.order, target=dispute,
                    message=(f"Dispute {stripe_id}: {Dispute.Status(previous).label.lower()} → "
                             f"{dispute.get_status_display().lower()}"),
                )
    return dispute


def _close(dispute: Dispute) -> None:
    """Won or lost (the caller holds the row lock)."""
    lost = dispute.status == Dispute.Status.LOST
    dispute.outcome = "lost" if lost else "won"
    dispute.amount_lost = dispute.amount if lost else 0
    dispute.closed_at = timezone.now()
    dispute.save()
    amount = format_money(dispute.amount, dispute.currency)
    audit_record(
        action=f"dispute.{dispute.outcome}", actor="stripe", order=dispute.order, target=dispute,
        message=(f"Dispute {dispute.stripe_dispute_id} lost: {amount} taken back by the customer's bank"
                 if lost else f"Dispute {dispute.stripe_dispute_id} won: {amount} returned to the shop"),
        data={"amount_lost": dispute.amount_lost},
    )
    if dispute.order_id is not None:
        order_services.order_set_needs_attention(
            order_id=dispute.order_id, message=_flag(dispute) if lost else "", only_if_prefix=FLAG_PREFIX
        )


def evidence_initial(dispute: Dispute) -> dict[str, str]:
    """What we already know, to prefill the evidence form."""
    order = dispute.order
    if order is None:
        return {}
    return {
        "customer_name": order.billing_name,
        "customer_email_address": order.email,
        "billing_address": ", ".join(order.billing_address_lines),
        "product_description": "; ".join(f"{line.quantity} x {line.name}" for line in order.lines.all()),
        "service_date": timezone.localdate(order.paid_at).isoformat() if order.paid_at else "",
    }


def evidence_files_check(files: dict[str, tuple[str, bytes]]) -> None:
    """Refuse (DisputeError, for staff) what Stripe would refuse: a kind of
    file it does not take, or more than 5 MB in all."""
    for field_name, (filename, _content) in files.items():
        if field_name not in EVIDENCE_FILE_FIELDS:
            raise DisputeError(f"{field_name} is not a kind of evidence document Stripe takes.")
        if Path(filename).suffix.lower() not in EVIDENCE_FILE_TYPES:
            raise DisputeError(f"“{filename}”: Stripe takes PDF, PNG or JPEG files only.")
    if sum(len(content) for _name, content in files.values()) > EVIDENCE_FILES_MAX_BYTES:
        raise DisputeError("The documents add up to more than 5 MB, the most Stripe takes for one dispute.")


def dispute_submit_evidence(
    *, dispute_id: int, evidence: dict[str, str], attach_invoice: bool, staff,
    files: dict[str, tuple[str, bytes]] | None = None,
) -> Dispute:
    """Send evidence to Stripe and submit it (submit=true): the texts given,
    the documents staff attached (`files`: Stripe's evidence field -> (file
    name, content)) and, if asked, the order's invoice PDF, each uploaded as a
    Stripe File (purpose dispute_evidence); the invoice in `uncategorized_file`.

    The idempotency keys count submissions (`dispute-<pk>-evidence-<n>`), so a
    double click sends once; Stripe unreachable: nothing is recorded and
    staff can submit again with the same keys."""
    dispute = Dispute.objects.select_related("order").get(pk=dispute_id)
    if not dispute.needs_response:
        raise DisputeError(
            f"Dispute {dispute.stripe_dispute_id} is {dispute.get_status_display().lower()}: "
            "evidence can only be submitted while it needs a response."
        )
    texts = {k: str(v).strip() for k, v in evidence.items() if k in EVIDENCE_TEXT_FIELDS and str(v or "").strip()}
    files = dict(files or {})
    if not texts and not attach_invoice and not files:
        raise DisputeError("Give at least one piece of evidence.")
    evidence_files_check(files)
    attempt = dispute.evidence_submissions + 1
    sent = dict(texts)
    invoice_number = ""
    try:
        for field_name, (filename, content) in sorted(files.items()):
            uploaded = gateway.file_create(
                content=content, filename=filename, purpose="dispute_evidence",
                idempotency_key=f"dispute-{dispute.pk}-evidence-{attempt}-{field_name}",
            )
            sent[field_name] = uploaded.id
        if attach_invoice:
            invoice = Document.objects.filter(order=dispute.order_id, kind=Document.Kind.INVOICE).first() \
                if dispute.order_id else None
            if invoice is None:
                raise DisputeError("The order has no invoice yet; submit the texts, or wait for the invoice.")
            invoice = document_render_pdf(document_id=invoice.pk)
            uploaded = gateway.file_create(
                content=document_pdf_bytes(document=invoice), filename=invoice.pdf_filename,
                purpose="dispute_evidence", idempotency_key=f"dispute-{dispute.pk}-evidence-{attempt}-invoice",
            )
            sent["uncategorized_file"] = uploaded.id
            invoice_number = invoice.number
        result = gateway.dispute_update(
            dispute_id=dispute.stripe_dispute_id, evidence=sent, submit=True,
            idempotency_key=f"dispute-{dispute.pk}-evidence-{attempt}",
        )
    except GatewayUnavailable as error:
        if Dispute.objects.filter(pk=dispute.pk, evidence_submissions__gte=attempt).exists():
            return Dispute.objects.get(pk=dispute.pk)  # a double click: the other request submitted it
        raise DisputeError(f"{error} Nothing was submitted; submit again.") from error
    except GatewayError as error:
        raise DisputeError(f"Stripe refused the evidence: {error}") from error
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.evidence_submissions >= attempt:
            return dispute
        dispute.evidence = {
            **sent, **({"invoice": invoice_number} if invoice_number else {}),
            **({"files": {field_name: filename for field_name, (filename, _c) in files.items()}} if files else {}),
        }
        dispute.evidence_submitted_at = timezone.now()
        dispute.evidence_submitted_by = staff
        dispute.evidence_submissions = F("evidence_submissions") + 1
        if not dispute.outcome:
            dispute.status = result.status or dispute.status
        dispute.save()
        dispute.refresh_from_db()
        audit_record(
            action="dispute.evidence_submitted", actor=staff, order=dispute.order, target=dispute,
            message=(f"Evidence submitted for dispute {dispute.stripe_dispute_id}: {', '.join(sorted(texts)) or '—'}"
                     + (f"; invoice {invoice_number} attached ({sent['uncategorized_file']})"
                        if invoice_number else "")
                     + (f"; documents: {', '.join(name for name, _c in files.values())}" if files else "")),
            data={"evidence": sent},
        )
    return dispute
