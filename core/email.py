"""E-mails: built from templates, sent through the outbox.

- `templated_email()` builds a message from `<name>_subject.txt`,
  `<name>_message.txt` and `<name>_message.html`, with the seller as reply-to
  and files attached.
- `email_queue()` writes it to the outbox (core.models.OutgoingEmail) in the
  caller's transaction and sends it after commit (core.tasks.send_email);
  `email_send()` sends one row, outside any transaction, and marks it sent;
  `emails_send_due()` (beat) sends again those that failed, with a growing
  delay. A message is sent once: a row is claimed before the send (two
  workers never send it together) and marked sent right after. A worker that
  dies between the send and the mark sends it again once its claim expires:
  at least once, never zero times.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutgoingEmail
from .signals import email_sent

logger = logging.getLogger(__name__)


def templated_email(
    *, template: str, context: dict, to: Iterable[str], attachments: Iterable[tuple[str, bytes, str]] = (),
) -> EmailMultiAlternatives:
    """The message `template` (e.g. "billing/email/invoice") renders to; not sent.

    The subject is one line whatever the template's whitespace; replies go to
    the seller's address (SHOP_SELLER["email"]) when there is one."""
    seller_email = (settings.SHOP_SELLER or {}).get("email")
    message = EmailMultiAlternatives(
        subject=" ".join(render_to_string(f"{template}_subject.txt", context).split()),
        body=render_to_string(f"{template}_message.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=[seller_email] if seller_email else None,
    )
    message.attach_alternative(render_to_string(f"{template}_message.html", context), "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.template = template  # kept on the outbox row, for staff
    return message


# ---------------------------------------------------------------------------
# The outbox
# ---------------------------------------------------------------------------


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, ... times EMAIL_OUTBOX_RETRY_SECONDS, at most EMAIL_OUTBOX_RETRY_MAX_SECONDS."""
    base = _setting("EMAIL_OUTBOX_RETRY_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), _setting("EMAIL_OUTBOX_RETRY_MAX_SECONDS", 3600)))


def _row_fields(message: EmailMessage) -> dict:
    html = next((content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), "")
    attachments = []
    for attachment in message.attachments:
        filename, content, mimetype = attachment
        if isinstance(content, str):
            content = content.encode()
        attachments.append({"filename": filename, "mimetype": mimetype or "application/octet-stream",
                            "content": base64.b64encode(content).decode("ascii")})
    return {
        "template": getattr(message, "template", ""),
        "from_email": message.from_email or settings.DEFAULT_FROM_EMAIL,
        "to": list(message.to),
        "reply_to": list(message.reply_to or []),
        "subject": message.subject,
        "body": message.body,
        "html": html,
        "attachments": attachments,
    }


def email_queue(message: EmailMessage, *, key: str | None = None) -> OutgoingEmail | None:
    """Write `message` to the outbox in the current transaction; it is sent
    after commit. With a `key`, once: None if that key was queued before."""
    from .tasks import send_email  # core.tasks imports this module

    fields = _row_fields(message)
    fields["next_attempt_at"] = timezone.now() + _retry_delay(1)
    if key is not None:
        if OutgoingEmail.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():  # a savepoint: a concurrent writer's row wins
                email = OutgoingEmail.objects.create(key=key, **fields)
        except IntegrityError:
            return None
    else:
        email = OutgoingEmail.objects.create(**fields)
    transaction.on_commit(lambda: send_email.delay(email.pk), robust=True)
    return email


def email_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The row as a message the mail backend sends."""
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body, from_email=email.from_email, to=list(email.to),
        reply_to=list(email.reply_to) or None,
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], base64.b64decode(attachment["content"]), attachment["mimetype"])
    return message


def email_send(*, email_id: int) -> OutgoingEmail:
    """Send one outbox row (not in a transaction: nothing is locked while the
    mail server is talked to). Returns the row, sent or with its error; a
    failure is kept on the row and retried by the sweeper, never raised."""
    now = timezone.now()
    lease = timedelta(seconds=_setting("EMAIL_OUTBOX_SEND_LEASE_SECONDS", 300))
    claimed = OutgoingEmail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=email_id, sent_at__isnull=True
    ).update(claimed_until=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    email = OutgoingEmail.objects.get(pk=email_id)
    if not claimed:
        return email  # sent already, or another worker is sending it
    try:
        email_message(email).send(fail_silently=False)
    except Exception as exc:  # SMTP down, refused, timed out...: the sweeper tries again
        error = f"{type(exc).__name__}: {exc}"[:2000]
        OutgoingEmail.objects.filter(pk=email_id, sent_at__isnull=True).update(
            last_error=error, claimed_until=None, next_attempt_at=timezone.now() + _retry_delay(email.attempts)
        )
        logger.warning("e-mail %s to %s not sent (attempt %d): %s", email_id, ", ".join(email.to), email.attempts, error)
        email.refresh_from_db()
        return email
    # Sent: the attachments' contents (PDFs kept elsewhere) are not kept twice.
    OutgoingEmail.objects.filter(pk=email_id).update(
        sent_at=timezone.now(), last_error="", claimed_until=None, next_attempt_at=None,
        attachments=[{"filename": a["filename"], "mimetype": a["mimetype"]} for a in email.attachments],
    )
    email.refresh_from_db()
    logger.info("e-mail sent: %r to %s", email.subject, ", ".join(email.to))
    email_sent.send(sender=OutgoingEmail, email=email)
    return email


def email_send_again(*, email_id: int) -> None:
    """Staff's "send again": due now, sent after commit."""
    from .tasks import send_email

    OutgoingEmail.objects.filter(pk=email_id, sent_at__isnull=True).update(next_attempt_at=timezone.now())
    transaction.on_commit(lambda: send_email.delay(email_id), robust=True)


def emails_send_due(*, batch: int | None = None) -> list[int]:
    """The unsent e-mails whose retry time has come: each is moved on to its
    next retry time (so the next sweep does not take it again while it waits
    in the queue) and returned, for the caller to send."""
    now = timezone.now()
    batch = batch or _setting("EMAIL_OUTBOX_SWEEP_BATCH", 200)
    due = list(
        OutgoingEmail.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "attempts")[:batch]
    )
    for pk, attempts in due:
        OutgoingEmail.objects.filter(pk=pk, sent_at__isnull=True).update(next_attempt_at=now + _retry_delay(attempts + 1))
    return [pk for pk, _ in due]
