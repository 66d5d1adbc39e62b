"""What needs staff now: each item counts something that waits for a person,
says why in a line, and links to the admin list filtered to exactly those
rows. Each comes from the selector of the app that owns the data, and is
shown to staff who may see that list.

To add an item, write a function returning an `Item` (or None when the user
may not see it) and list it in ITEMS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from billing.models import Document
from billing.selectors import documents_without_pdf
from core.selectors import emails_unsent
from orders.selectors import orders_awaiting_payment_past_expiry
from payments.models import Dispute
from payments.selectors import disputes_needing_response, events_stuck, refunds_failed_since, refunds_pending_since
from subscriptions.selectors import invoice_refusals_open, subscriptions_past_due

# A refund Stripe has not confirmed after this long is waiting for a retry or a look.
REFUND_PENDING_AFTER = timedelta(minutes=10)
# Failed refunds stay on the list this long (the customer has not been paid back).
REFUND_FAILED_WITHIN = timedelta(days=30)
# The render sweep runs every 10 minutes: a document older than this without its PDF was missed.
PDF_MISSING_AFTER = timedelta(minutes=15)
# An e-mail is sent right after its transaction commits: one older than this
# still unsent met a mail server that refused it or was down.
EMAIL_UNSENT_AFTER = timedelta(minutes=5)


@dataclass
class Item:
    key: str
    label: str
    count: int
    url: str
    help: str
    detail: str = ""
    # Rows shown under the item (disputes: each with its deadline).
    rows: list | None = None

    @property
    def needs_action(self) -> bool:
        return self.count > 0


def _admin_list(name: str, **query) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def _iso(moment: datetime) -> str:
    # What the admin's filter parses back: an aware time in the current zone.
    return timezone.localtime(moment).replace(microsecond=0).isoformat(sep=" ")


def disputes(user, now) -> Item | None:
    if not user.has_perm("payments.view_dispute"):
        return None
    count = disputes_needing_response().count()
    waiting = list(disputes_needing_response()[:20]) if count else []
    nearest = next((d.evidence_due_by for d in waiting if d.evidence_due_by), None)
    return Item(
        key="disputes", label="Disputes needing a response", count=count,
        url=_admin_list("payments_dispute", status__in=",".join(Dispute.NEEDS_RESPONSE)),
        help="Submit evidence before the deadline, or the bank decides for the customer.",
        detail=f"next deadline {timezone.localtime(nearest):%Y-%m-%d %H:%M}" if nearest else "",
        rows=waiting,
    )


def refunds_failed(user, now) -> Item | None:
    if not user.has_perm("payments.view_refund"):
        return None
    since = now - REFUND_FAILED_WITHIN
    return Item(
        key="refunds-failed", label="Refunds that failed (30 days)", count=refunds_failed_since(since=since).count(),
        url=_admin_list("payments_refund", status__exact="failed", failed_at__gte=_iso(since)),
        help="Stripe refused them: the customer has not been paid back.",
    )


def refunds_pending(user, now) -> Item | None:
    if not user.has_perm("payments.view_refund"):
        return None
    before = now - REFUND_PENDING_AFTER
    return Item(
        key="refunds-pending", label="Refunds pending for more than 10 minutes",
        count=refunds_pending_since(before=before).count(),
        url=_admin_list("payments_refund", status__exact="pending", created_at__lt=_iso(before)),
        help="Not confirmed by Stripe yet: retried every minute; a long wait means Stripe is unreachable.",
    )


def orders_overdue(user, now) -> Item | None:
    if not user.has_perm("orders.view_order"):
        return None
    return Item(
        key="orders-overdue", label="Orders awaiting payment past their expiry",
        count=orders_awaiting_payment_past_expiry(now=now).count(),
        url=_admin_list("orders_order", status__exact="awaiting_payment", expires_at__lt=_iso(now)),
        help="The reconciliation job settles these every 2 minutes; ones that stay need a look.",
    )


def subscriptions_overdue(user, now) -> Item | None:
    if not user.has_perm("subscriptions.view_shopsubscription"):
        return None
    return Item(
        key="subscriptions-past-due", label="Subscriptions past due", count=subscriptions_past_due().count(),
        url=_admin_list("subscriptions_shopsubscription", status="past_due"),
        help="A renewal payment failed; Stripe retries and the customer was asked to update their card.",
    )


def pdfs_missing(user, now) -> Item | None:
    if not user.has_perm("billing.view_document"):
        return None
    before = now - PDF_MISSING_AFTER
    return Item(
        key="documents-without-pdf", label="Documents without PDF",
        count=documents_without_pdf(issued_before=before).count(),
        # Invoices and credit notes: a receipt's PDF is made on its first download.
        url=_admin_list("billing_document", kind__in=",".join(Document.RENDERED_AT_ISSUE),
                        pdf_rendered_at__isnull="True", issued_at__lt=_iso(before)),
        help="Invoices and credit notes issued but not rendered: the render sweep retries every 10 minutes.",
    )


def webhook_events_stuck(user, now) -> Item | None:
    if not user.has_perm("payments.view_webhookevent"):
        return None
    return Item(
        key="events-stuck", label="Stuck events", count=events_stuck().count(),
        url=_admin_list("payments_webhookevent", status__exact="stuck"),
        help="Stripe events that failed every retry: read the error, fix the cause, then run them again.",
    )


def emails_not_sent(user, now) -> Item | None:
    if not user.has_perm("core.view_outgoingemail"):
        return None
    before = now - EMAIL_UNSENT_AFTER
    return Item(
        key="emails-unsent", label="E-mails not sent",
        count=emails_unsent(created_before=before).count(),
        url=_admin_list("core_outgoingemail", sent_at__isnull="True", created_at__lt=_iso(before)),
        help="The mail server refused them or was down: retried every minute with a growing delay; "
             "the list shows the error and sends them again.",
    )


def subscription_invoices_without_documents(user, now) -> Item | None:
    if not user.has_perm("subscriptions.view_invoicerefusal"):
        return None
    refusals = invoice_refusals_open()
    count = refusals.count()
    return Item(
        key="subscription-invoices-refused", label="Paid subscription invoices without documents", count=count,
        url=_admin_list("subscriptions_invoicerefusal", resolved_at__isnull="True"),
        help="Stripe took the payment but no invoice was issued: read why, fix the cause from the subscription "
             "or the customer, then issue the documents again from the list.",
        rows=list(refusals[:20]) if count else [],
    )


ITEMS = [
    webhook_events_stuck,
    subscription_invoices_without_documents,
    disputes,
    refunds_failed,
    refunds_pending,
    orders_overdue,
    subscriptions_overdue,
    pdfs_missing,
    emails_not_sent,
]


def attention_items(*, user, now: datetime | None = None) -> list[Item]:
    """The items this staff member may see, in order."""
    now = now or timezone.now()
    return [item for item in (build(user, now) for build in ITEMS) if item is not None]
