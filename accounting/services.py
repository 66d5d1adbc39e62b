"""Writes of the accounting package: building period exports. Issued
documents are never changed here, and closing a period is billing's service
(billing.periods.period_close) that the accounting pages call."""

from __future__ import annotations

import logging
import os
import tempfile
import time

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.exceptions import BillingError
from billing.periods import Period, PeriodError, period_documents, period_is_closed, period_parse
from billing.services import document_render_pdf

from . import tasks
from .exports import export_write_zip, file_sha256
from .models import ExportJob

logger = logging.getLogger(__name__)

# How often a running export writes its progress (seconds): often enough for a
# smooth progress bar, rarely enough not to load the database.
PROGRESS_EVERY_SECONDS = 0.5


class AccountingError(BillingError):
    """An accounting action that cannot be done; the message says why."""


# ---------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------


def export_request(*, period: Period, user=None) -> ExportJob:
    """Ask for the ZIP of `period`. A closed period's export is built once
    (`final`) and that same job (same file) is returned to every later request;
    an open period gets a new job each time (its documents may still change).
    The ZIP is built by the Celery task `accounting.tasks.build_export`."""
    final = period_is_closed(period)
    if final:
        existing = ExportJob.objects.filter(label=period.label, final=True).first()
        if existing is not None:
            if existing.status == ExportJob.Status.FAILED:
                existing.final = False
                existing.save(update_fields=["final"])
            else:
                return existing
    try:
        with transaction.atomic():
            job = ExportJob.objects.create(
                label=period.label,
                kind=period.kind,
                start=period.start,
                end=period.end,
                final=final,
                requested_by=user if user is not None and user.is_authenticated else None,
            )
            tasks.build_export.delay_on_commit(job.pk)
    except IntegrityError:
        # Two accountants asked for the same closed period at once: one build.
        return ExportJob.objects.get(label=period.label, final=True)
    return job


def export_period(job: ExportJob) -> Period:
    try:
        return period_parse(job.label)
    except PeriodError as exc:  # pragma: no cover - labels are written by export_request
        raise AccountingError(str(exc)) from exc


def _progress_writer(job_id: int):
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_EVERY_SECONDS:
            ExportJob.objects.filter(pk=job_id).update(done=done, total=total)
            last[0] = now

    return progress


def _render_missing_pdfs(*, period: Period, job_id: int, offset: int, total: int) -> int:
    """Render the PDFs of the period that were never rendered (a worker behind
    or down) before building the ZIP. Returns how many were rendered."""
    missing = list(
        period_documents(period).filter(pdf_rendered_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    progress = _progress_writer(job_id)
    for index, document_id in enumerate(missing, start=1):
        document_render_pdf(document_id=document_id)
        progress(offset + index, total)
    return len(missing)


def export_build(*, job_id: int) -> ExportJob:
    """Build the ZIP of an export job and store it. Idempotent: a job already
    done is returned as it is. Progress counts PDFs to render first, then
    documents written into the ZIP."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().get(pk=job_id)
        if job.status == ExportJob.Status.DONE:
            return job
        period = export_period(job)
        count = period_documents(period).count()
        missing = period_documents(period).filter(pdf_rendered_at__isnull=True).count()
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.done = 0
        job.total = count + missing
        job.error = ""
        job.save(update_fields=["status", "started_at", "done", "total", "error"])

    temp_dir = getattr(settings, "ACCOUNTING_EXPORT_TEMP_DIR", None) or None
    handle = tempfile.NamedTemporaryFile(prefix=f"export-{job.label}-", suffix=".zip", dir=temp_dir, delete=False)
    try:
        rendered = _render_missing_pdfs(period=period, job_id=job.pk, offset=0, total=count + missing)
        progress = _progress_writer(job.pk)
        stats = export_write_zip(
            period=period,
            handle=handle,
            progress=lambda done, total: progress(rendered + done, rendered + total),
            render_missing=lambda document_id: document_render_pdf(document_id=document_id),
        )
        handle.flush()
        size = handle.tell()
        digest = file_sha256(handle)
        name = f"documents-{job.label}.zip" if job.final else f"documents-{job.label}-{job.pk}.zip"
        job.file.save(name, File(handle, name=name), save=False)
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], final=False, finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    finally:
        handle.close()
        os.unlink(handle.name)

    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE,
        file=job.file.name,
        size=size,
        sha256=digest,
        document_count=stats.documents,
        done=rendered + stats.pdfs,
        total=rendered + stats.pdfs,
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    logger.info("export %s built: %s, %d documents, %d bytes", job.pk, job.file.name, stats.documents, size)
    return job
