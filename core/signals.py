"""Signals core sends to the apps above it (which it does not import)."""

from django.dispatch import Signal

# An outbox e-mail was handed to the mail server: sent with `email` (the
# core.models.OutgoingEmail row). Apps match `email.key` to their own rows
# (a document's `emailed_at`, a notice's `sent_at`).
email_sent = Signal()
