"""The webhook inbox: Stripe events stored once by the endpoint, processed by
a worker.

    event_store      the endpoint's one write: the verified event, once per id
    event_process    a worker's run: claim, mirror (payments.mirror), run receivers
    event_run_again  staff's button for a stuck event

Processing is claimed with a conditional UPDATE (a lease, not a row lock held
while Stripe is called): of 50 workers given the same event, one runs it; a
worker killed mid-run leaves a lease that expires, and the sweeper
(payments.tasks.sweep_webhook_events) hands the event out again. The objects
are mirrored into dj-stripe's models first (payments.mirror: from the payload
where it is the newest known, else fetched as Stripe has it now; no call to
Stripe inside a transaction, dj-stripe's included); the receivers
run after it, outside any transaction,
each calling guarded, idempotent services. A failure is retried with a growing
delay; after the last attempt the event is stuck until staff run it again.
"""

import json
import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from . import mirror, webhooks
from .models import WebhookEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    event_id: int
    created: bool  # False: a repeated delivery of an event already stored
    enqueue: bool  # whether processing should be (re)enqueued


def event_store(
    *, stripe_id: str, event_type: str, body: str, object_id: str = "", created: int | None = None
) -> Stored:
    """Store a verified event, once per Stripe event id: one INSERT ... ON
    CONFLICT DO NOTHING (PostgreSQL and SQLite), nothing else on the first
    delivery. A repeated delivery of an event still waiting (its message may
    have been lost) asks for processing again; the claim keeps that harmless.
    `object_id` and `created` (the event's object, Stripe's time of the event)
    let the mirror tell whether a payload is the newest known (payments.mirror)."""
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (stripe_id, type, body, object_id, stripe_created, status, attempts, last_error, "
            "received_at) VALUES (%s, %s, %s, %s, %s, %s, 0, '', %s) ON CONFLICT (stripe_id) DO NOTHING RETURNING id",
            [stripe_id, event_type, body, object_id, created, WebhookEvent.Status.RECEIVED, timezone.now()],
        )
        row = cursor.fetchone()
    if row is not None:
        return Stored(event_id=row[0], created=True, enqueue=True)
    existing = WebhookEvent.objects.filter(stripe_id=stripe_id).values_list("pk", "status").first()
    if existing is None:  # cannot happen short of a concurrent delete
        return Stored(event_id=0, created=False, enqueue=False)
    return Stored(event_id=existing[0], created=False, enqueue=existing[1] == WebhookEvent.Status.RECEIVED)


def _lease() -> timedelta:
    return timedelta(seconds=settings.STRIPE_EVENT_LEASE_SECONDS)


def event_claim(*, event_id: int) -> bool:
    """Take the event for one run: it waits (received, or failed and due) or
    its previous run's lease has expired (the worker died). One caller wins."""
    now = timezone.now()
    free = (
        Q(status=WebhookEvent.Status.RECEIVED)
        | Q(status=WebhookEvent.Status.FAILED)
        | Q(status=WebhookEvent.Status.PROCESSING, locked_until__lt=now)
    )
    claimed = WebhookEvent.objects.filter(free, pk=event_id).update(
        status=WebhookEvent.Status.PROCESSING, locked_until=now + _lease(), attempts=F("attempts") + 1
    )
    return claimed == 1


@dataclass(frozen=True)
class Outcome:
    processed: bool
    retry_in: int | None = None  # seconds until the next attempt, when one is due


def retry_delay(attempts: int) -> int:
    """Seconds before attempt `attempts + 1`: 30 s, 60 s, 120 s, ... capped."""
    base = settings.STRIPE_EVENT_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.STRIPE_EVENT_RETRY_BACKOFF_MAX_SECONDS)


def event_process(*, event_id: int) -> Outcome:
    """Process a stored event once. Returns whether it was processed here and,
    after a failure that will be retried, in how many seconds."""
    if not event_claim(event_id=event_id):
        return Outcome(processed=False)
    event = WebhookEvent.objects.get(pk=event_id)
    try:
        data = json.loads(event.body)
        mirror.event_mirror(event=event, data=data)
        webhooks.dispatch(event.type, data["data"]["object"])
    except Exception as error:  # noqa: BLE001  any failure is retried, then shown to staff
        return _record_failure(event, error)
    WebhookEvent.objects.filter(pk=event.pk, status=WebhookEvent.Status.PROCESSING).update(
        status=WebhookEvent.Status.PROCESSED, processed_at=timezone.now(), locked_until=None, next_attempt_at=None,
        last_error="",
    )
    return Outcome(processed=True)


def _record_failure(event: WebhookEvent, error: Exception) -> Outcome:
    stuck = event.attempts >= settings.STRIPE_EVENT_MAX_ATTEMPTS
    delay = None if stuck else retry_delay(event.attempts)
    text = "".join(traceback.format_exception(error))[-8000:]
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookEvent.Status.STUCK if stuck else WebhookEvent.Status.FAILED,
        last_error=text,
        locked_until=None,
        next_attempt_at=None if stuck else timezone.now() + timedelta(seconds=delay),
    )
    if stuck:
        logger.error("webhook event %s (%s) stuck after %s attempts: %s", event.stripe_id, event.type,
                     event.attempts, error)
    else:
        logger.warning("webhook event %s (%s) failed (attempt %s), retried in %s s: %s", event.stripe_id,
                       event.type, event.attempts, delay, error)
    return Outcome(processed=False, retry_in=delay)


def event_run_again(*, event_id: int) -> bool:
    """Staff's "run again": a stuck (or failed) event waits again with a fresh
    count of attempts. Returns False for one processed or running."""
    return WebhookEvent.objects.filter(
        pk=event_id, status__in=(WebhookEvent.Status.STUCK, WebhookEvent.Status.FAILED)
    ).update(status=WebhookEvent.Status.RECEIVED, attempts=0, next_attempt_at=None) == 1
