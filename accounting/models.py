"""Accounting records: period exports. Closed periods are billing's
(billing.models.ClosedPeriod); documents live in billing and are never
changed here."""

from django.conf import settings
from django.db import models


def export_upload_path(job: "ExportJob", filename: str) -> str:
    # Private storage, served only through accounting:export_download.
    return f"exports/{job.label}/{filename}"


class ExportJob(models.Model):
    """One ZIP of a period (PDFs, journal.csv, vat_summary.csv), built by a
    Celery task with its progress recorded here for the page to poll."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    label = models.CharField(max_length=8)
    kind = models.CharField(max_length=8)
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=export_upload_path, blank=True, max_length=255)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    document_count = models.PositiveIntegerField(null=True, blank=True)
    # Built after the period was closed: the files can never change, so this
    # export is served again instead of building a new one.
    final = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["label", "status"])]
        constraints = [
            # One final export per closed period: it is built once.
            models.UniqueConstraint(
                fields=["label"], condition=models.Q(final=True), name="accounting_one_final_export"
            ),
        ]

    def __str__(self):
        return f"Export {self.label} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))

    @property
    def filename(self) -> str:
        return f"documents-{self.label}.zip"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
