"""Celery tasks of the orders package: thin, ids only, idempotent."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billing.exceptions import BillingError
from billing.tasks import RETRY_OPTIONS, render_document_pdf

from . import documents, emails
from .selectors import orders_paid_without_documents

logger = logging.getLogger(__name__)


@shared_task(name="orders.tasks.issue_order_documents", **RETRY_OPTIONS)
def issue_order_documents(order_id: int) -> None:
    """Enqueued by orders.services.order_mark_paid on commit: the invoice and
    receipt of the paid order, then the invoice's PDF (e-mailed once
    rendered). The receipt's PDF is rendered on its first download."""
    try:
        invoice, _receipt = documents.order_documents_issue(order_id=order_id)
    except BillingError as exc:
        # Not transient (an unpaid order, lines not matching the total):
        # retrying cannot help; staff see it in the log.
        logger.error("documents not issued for order %s: %s", order_id, exc)
        return
    render_document_pdf.delay_on_commit(invoice.pk)


@shared_task(name="orders.tasks.send_order_links", **RETRY_OPTIONS)
def send_order_links(email: str, reference: str = "") -> int:
    """Enqueued by the "find my order" page: e-mail the signed links, off the
    request, so the page answers in the same time whether or not there are orders."""
    return emails.order_links_send(email=email, reference=reference)


@shared_task(name="orders.tasks.issue_missing_order_documents", acks_late=True)
def issue_missing_order_documents() -> int:
    """Periodic: paid orders still without their invoice and receipt some
    minutes after payment (the issuing task was lost). Issuing is idempotent
    (row lock, existing documents returned), so a race with a late original
    task still gives one invoice and one receipt."""
    grace = timedelta(seconds=settings.ORDER_DOCUMENTS_SWEEP_AFTER_SECONDS)
    ids = list(orders_paid_without_documents(paid_before=timezone.now() - grace).values_list("pk", flat=True)[:200])
    for order_id in ids:
        issue_order_documents.delay(order_id)
    return len(ids)
