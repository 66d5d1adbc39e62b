"""Celery tasks of the billing package: thin, ids only, idempotent.

render_document_pdf renders a document's PDF, then (invoices and credit
notes) writes its e-mail to the outbox (core.email: sent after commit, retried
by core.tasks.send_unsent_emails). Whoever issues an invoice or a credit note
enqueues its rendering (orders.tasks, subscriptions.tasks, payments.refunds);
a receipt is rendered on its first download (billing.services.
document_pdf_ensure), not here. render_missing_pdfs (beat) picks up any
invoice or credit note left without a PDF, or with its PDF and without its
e-mail. Rendering runs outside any transaction; only
storing the PDF takes the document's row lock (billing.services).

Each task calls one service, and each service is guarded (row lock + state),
so a task run twice (acks_late redelivery, the sweep, a retry) has one effect.
Transient failures (database locked, storage or SMTP unavailable) are retried
with a bounded, growing countdown.
"""

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import pdf_engine, rendering
from .emails import EMAILED_KINDS, document_send_email, documents_without_email
from .selectors import documents_without_pdf
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


@worker_init.connect(dispatch_uid="billing.tasks.import_pdf_engine")
def import_pdf_engine(**kwargs) -> None:
    """The worker's main process imports WeasyPrint (seconds: pango, cairo,
    its own stylesheets) once, before it forks its pool processes, which
    inherit it; each then sets up the engine when it starts (below), so that
    no customer's first document waits for either."""
    try:
        pdf_engine.preload()
    except Exception:  # never keep a worker from starting; the first render will say what is wrong
        logger.exception("PDF engine import failed")


@worker_process_init.connect(dispatch_uid="billing.tasks.warm_up_pdf_engine")
def warm_up_pdf_engine(**kwargs) -> None:
    """Each pool process renders a sample invoice as it starts (stylesheet,
    fonts, templates, factur-x and its XSD loaded), so that the first
    customer's documents take no longer than the next ones."""
    try:
        rendering.warm_up()
    except Exception:
        logger.exception("PDF engine warm-up failed")


@shared_task(name="billing.tasks.render_document_pdf", **RETRY_OPTIONS)
def render_document_pdf(document_id: int) -> None:
    document = document_render_pdf(document_id=document_id)
    if document.kind in EMAILED_KINDS and document.emailed_at is None and document.customer_email:
        # In this task, not another message: nothing lost between the two.
        document_send_email(document_id=document.pk)


@shared_task(name="billing.tasks.send_document_email", **RETRY_OPTIONS)
def send_document_email(document_id: int) -> None:
    document_send_email(document_id=document_id)


@shared_task(name="billing.tasks.render_missing_pdfs", acks_late=True)
def render_missing_pdfs() -> int:
    """Enqueue rendering for invoices and credit notes issued a while ago and
    still without a PDF, and the e-mail of those rendered but never written to
    the outbox (a worker died, a message was lost). Receipts are left alone:
    their first download renders them. Returns how many were enqueued. Only
    ids are read here: the rendering runs in render_document_pdf, outside any
    transaction."""
    before = timezone.now() - timedelta(seconds=settings.BILLING_RENDER_SWEEP_AFTER_SECONDS)
    batch = settings.BILLING_RENDER_SWEEP_BATCH
    ids = list(
        documents_without_pdf(issued_before=before)
        .order_by("issued_at")
        .values_list("pk", flat=True)[:batch]
    )
    for document_id in ids:
        render_document_pdf.delay_on_commit(document_id)
    unemailed = list(documents_without_email(issued_before=before).values_list("pk", flat=True)[:batch])
    for document_id in unemailed:
        send_document_email.delay_on_commit(document_id)
    if ids or unemailed:
        logger.info("document sweep: %d without a PDF, %d without their e-mail enqueued", len(ids), len(unemailed))
    return len(ids) + len(unemailed)


@shared_task(name="billing.tasks.fetch_exchange_rates", **RETRY_OPTIONS)
def fetch_exchange_rates() -> int:
    """Store the ECB's euro reference rates of the day (idempotent)."""
    from .exchange_rates import exchange_rates_fetch

    return exchange_rates_fetch()
