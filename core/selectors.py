"""Reads on core's own records: the e-mail outbox."""

from datetime import datetime

from django.db.models import QuerySet

from .models import OutgoingEmail


def emails_unsent(*, created_before: datetime | None = None) -> QuerySet[OutgoingEmail]:
    """E-mails written to the outbox and not sent yet (oldest first); with
    `created_before`, only those older than that (the fresh ones are usually
    being sent at this moment)."""
    emails = OutgoingEmail.objects.filter(sent_at__isnull=True)
    if created_before is not None:
        emails = emails.filter(created_at__lt=created_before)
    return emails.order_by("created_at", "pk")
