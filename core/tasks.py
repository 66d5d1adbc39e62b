"""Celery tasks of core: the e-mail outbox (see core.email)."""

import logging

from celery import shared_task

from .email import email_send, emails_send_due

logger = logging.getLogger(__name__)


@shared_task(name="core.tasks.send_email", acks_late=True)
def send_email(email_id: int) -> None:
    """Send one outbox e-mail; a failure stays on the row for the sweeper."""
    email_send(email_id=email_id)


@shared_task(name="core.tasks.send_unsent_emails", acks_late=True)
def send_unsent_emails() -> int:
    """Beat: the e-mails that could not be sent (SMTP down, a lost message)
    are sent again once their retry time has come. Returns how many."""
    ids = emails_send_due()
    for email_id in ids:
        send_email.delay(email_id)
    if ids:
        logger.info("e-mail sweep: %d unsent e-mail(s) enqueued", len(ids))
    return len(ids)
