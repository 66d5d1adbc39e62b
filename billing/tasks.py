"""Celery tasks of the billing package: thin, ids only, idempotent.

issue_order_documents (enqueued by orders.services.order_mark_paid on commit)
  -> render_document_pdf for the invoice and the receipt
       -> send_document_email for the invoice (receipt attached)
render_missing_pdfs (beat) picks up any document left without a PDF.

Each task calls one service, and each service is guarded (row lock + state),
so a task run twice (acks_late redelivery, the sweep, a retry) has one effect.
Transient failures (database locked, storage or SMTP unavailable) are retried
with a bounded, growing countdown.
"""

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .exceptions import BillingError
from .models import Document
from .services import document_render_pdf, document_send_email, documents_issue_for_order

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, smtplib.SMTPException)
RETRY_OPTIONS = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": 5,
    "retry_backoff": 10,  # 10 s, 20 s, 40 s, ... (with jitter)
    "retry_backoff_max": 600,
    "retry_jitter": True,
}


@shared_task(name="billing.tasks.issue_order_documents", **RETRY_OPTIONS)
def issue_order_documents(order_id: int) -> None:
    try:
        invoice, receipt = documents_issue_for_order(order_id=order_id)
    except BillingError as exc:
        # Not transient (an unpaid order, lines not matching the total):
        # retrying cannot help; staff see it in the log.
        logger.error("documents not issued for order %s: %s", order_id, exc)
        return
    render_document_pdf.delay_on_commit(invoice.pk)
    render_document_pdf.delay_on_commit(receipt.pk)


@shared_task(name="billing.tasks.render_document_pdf", **RETRY_OPTIONS)
def render_document_pdf(document_id: int) -> None:
    document = document_render_pdf(document_id=document_id)
    emailed_kinds = (Document.Kind.INVOICE, Document.Kind.CREDIT_NOTE)
    if document.kind in emailed_kinds and document.emailed_at is None and document.customer_email:
        send_document_email.delay_on_commit(document.pk)


@shared_task(name="billing.tasks.send_document_email", **RETRY_OPTIONS)
def send_document_email(document_id: int) -> None:
    document_send_email(document_id=document_id)


@shared_task(name="billing.tasks.render_missing_pdfs", acks_late=True)
def render_missing_pdfs() -> int:
    """Enqueue rendering for documents issued a while ago and still without a
    PDF (a worker died, a message was lost). Returns how many were enqueued."""
    grace = timedelta(seconds=getattr(settings, "BILLING_RENDER_SWEEP_AFTER_SECONDS", 120))
    batch = getattr(settings, "BILLING_RENDER_SWEEP_BATCH", 200)
    ids = list(
        Document.objects.filter(pdf_rendered_at__isnull=True, issued_at__lte=timezone.now() - grace)
        .order_by("issued_at")
        .values_list("pk", flat=True)[:batch]
    )
    for document_id in ids:
        render_document_pdf.delay_on_commit(document_id)
    if ids:
        logger.info("render sweep: %d document(s) without a PDF enqueued", len(ids))
    return len(ids)


# -- subscriptions (billing.subscriptions, billing.dunning) -------------------


def _subscription_retry_errors():
    from payments.exceptions import GatewayUnavailable

    return (*TRANSIENT_ERRORS, GatewayUnavailable)


@shared_task(
    name="billing.tasks.issue_subscription_invoice_documents",
    **{**RETRY_OPTIONS, "autoretry_for": _subscription_retry_errors()},
)
def issue_subscription_invoice_documents(stripe_invoice_id: str) -> None:
    """Enqueued by the invoice.paid webhook: the invoice and receipt of a paid
    Stripe invoice, then their PDFs (the invoice is e-mailed once rendered)."""
    from .subscriptions import subscription_invoice_documents_issue

    try:
        documents = subscription_invoice_documents_issue(stripe_invoice_id=stripe_invoice_id)
    except BillingError as exc:
        logger.error("documents not issued for Stripe invoice %s: %s", stripe_invoice_id, exc)
        return
    for document in documents or ():
        render_document_pdf.delay_on_commit(document.pk)


@shared_task(name="billing.tasks.send_subscription_notice", **RETRY_OPTIONS)
def send_subscription_notice(notice_id: int) -> None:
    from .dunning import notice_send

    notice_send(notice_id=notice_id)


@shared_task(name="billing.tasks.reconcile_subscription_invoices", acks_late=True)
def reconcile_subscription_invoices() -> int:
    """Periodic: paid Stripe invoices without a document (a lost webhook)."""
    from .subscriptions import paid_invoices_without_documents

    ids = paid_invoices_without_documents()
    for stripe_invoice_id in ids:
        issue_subscription_invoice_documents.delay(stripe_invoice_id)
    return len(ids)
