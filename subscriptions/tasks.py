"""Celery tasks of the subscriptions package: thin, ids only, idempotent."""

import logging

from celery import shared_task

from billing.exceptions import BillingError
from billing.tasks import RETRY_OPTIONS, TRANSIENT_ERRORS, render_document_pdf
from payments.exceptions import GatewayUnavailable

from . import documents, dunning

logger = logging.getLogger(__name__)


@shared_task(
    name="subscriptions.tasks.issue_subscription_invoice_documents",
    **{**RETRY_OPTIONS, "autoretry_for": (*TRANSIENT_ERRORS, GatewayUnavailable)},
)
def issue_subscription_invoice_documents(stripe_invoice_id: str) -> None:
    """Enqueued by the invoice.paid webhook: the invoice and receipt of a paid
    Stripe invoice, then the invoice's PDF (e-mailed once rendered). The
    receipt's PDF is rendered on its first download."""
    try:
        issued = documents.subscription_invoice_documents_issue(stripe_invoice_id=stripe_invoice_id)
    except BillingError as exc:
        logger.error("documents not issued for Stripe invoice %s: %s", stripe_invoice_id, exc)
        return
    if issued is not None:
        invoice, _receipt = issued
        render_document_pdf.delay_on_commit(invoice.pk)


@shared_task(name="subscriptions.tasks.send_subscription_notice", **RETRY_OPTIONS)
def send_subscription_notice(notice_id: int) -> None:
    dunning.notice_send(notice_id=notice_id)


@shared_task(name="subscriptions.tasks.reconcile_subscription_invoices", acks_late=True)
def reconcile_subscription_invoices() -> int:
    """Periodic: paid Stripe invoices without a document (a lost webhook)."""
    ids = documents.paid_invoices_without_documents()
    for stripe_invoice_id in ids:
        issue_subscription_invoice_documents.delay(stripe_invoice_id)
    return len(ids)
