"""Celery tasks of the billing package: thin, ids only, idempotent.

render_document_pdf renders a document's PDF, then (invoices and credit
notes) enqueues send_document_email. Whoever issues documents enqueues the
rendering (orders.tasks, subscriptions.tasks, payments.tasks);
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

from .emails import EMAILED_KINDS, document_send_email
from .models import Document
from .services import document_render_pdf

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


@shared_task(name="billing.tasks.render_document_pdf", **RETRY_OPTIONS)
def render_document_pdf(document_id: int) -> None:
    document = document_render_pdf(document_id=document_id)
    if document.kind in EMAILED_KINDS and document.emailed_at is None and document.customer_email:
        send_document_email.delay_on_commit(document.pk)


@shared_task(name="billing.tasks.send_document_email", **RETRY_OPTIONS)
def send_document_email(document_id: int) -> None:
    document_send_email(document_id=document_id)


@shared_task(name="billing.tasks.render_missing_pdfs", acks_late=True)
def render_missing_pdfs() -> int:
    """Enqueue rendering for documents issued a while ago and still without a
    PDF (a worker died, a message was lost). Returns how many were enqueued."""
    grace = timedelta(seconds=settings.BILLING_RENDER_SWEEP_AFTER_SECONDS)
    ids = list(
        Document.objects.filter(pdf_rendered_at__isnull=True, issued_at__lte=timezone.now() - grace)
        .order_by("issued_at")
        .values_list("pk", flat=True)[: settings.BILLING_RENDER_SWEEP_BATCH]
    )
    for document_id in ids:
        render_document_pdf.delay_on_commit(document_id)
    if ids:
        logger.info("render sweep: %d document(s) without a PDF enqueued", len(ids))
    return len(ids)


@shared_task(name="billing.tasks.fetch_exchange_rates", **RETRY_OPTIONS)
def fetch_exchange_rates() -> int:
    """Store the ECB's euro reference rates of the day (idempotent)."""
    from .exchange_rates import exchange_rates_fetch

    return exchange_rates_fetch()
