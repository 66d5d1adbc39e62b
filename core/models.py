"""The e-mail outbox: every e-mail the shop sends is first a row here.

Written in the business transaction that decides to send it (a document
issued, a subscription notice), sent after commit by a task, marked sent; a
beat sweeper sends again what failed (SMTP down) with a growing delay. SMTP is
never called inside a transaction. See core.email.
"""

from django.db import models


class OutgoingEmail(models.Model):
    """One e-mail, as it will be sent (subject, bodies, attachments), so that
    what is sent later is what the business transaction wrote."""

    # Who wrote it and about what ("billing.document:12"): one e-mail per key,
    # however often the writer runs; the writer's app learns it was sent
    # through the core.signals.email_sent signal.
    key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    template = models.CharField(max_length=255, blank=True)
    from_email = models.CharField(max_length=255)
    to = models.JSONField(default=list)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    # [{"filename", "mimetype", "content" (base64)}]
    attachments = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # When the sweeper may try again (None once sent).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the row until then: two workers never send it at once.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "e-mail"
        verbose_name_plural = "e-mails"
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"], name="core_email_unsent_due")]

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to)}"

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None
