"""Celery tasks of the payments package: thin, ids only, idempotent."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from billing.exceptions import BillingError

from . import inbox, refunds, services
from .exceptions import GatewayUnavailable
from .selectors import events_to_sweep

logger = logging.getLogger(__name__)


# -- the webhook inbox (payments.inbox) ---------------------------------------


@shared_task(name="payments.tasks.process_webhook_event", acks_late=True)
def process_webhook_event(event_id: int) -> None:
    """Enqueued by the webhook endpoint on commit (queue "events"): mirror and
    run the receivers of one stored event. Retries are this task again after
    a growing countdown; the claim makes a duplicate message harmless."""
    outcome = inbox.event_process(event_id=event_id)
    if outcome.retry_in is not None:
        process_webhook_event.apply_async((event_id,), countdown=outcome.retry_in)


@shared_task(name="payments.tasks.sweep_webhook_events", acks_late=True)
def sweep_webhook_events() -> int:
    """Periodic: events stored but never processed (message lost), retries
    past due, runs whose worker died. Returns how many were enqueued."""
    grace = timedelta(seconds=settings.STRIPE_EVENT_SWEEP_GRACE_SECONDS)
    ids = list(events_to_sweep(now=timezone.now(), grace=grace).values_list("pk", flat=True)[:500])
    for event_id in ids:
        process_webhook_event.delay(event_id)
    return len(ids)


@shared_task(
    autoretry_for=(GatewayUnavailable,), retry_backoff=30, retry_backoff_max=300, max_retries=5,
)
def reconcile_order(order_id: int) -> None:
    services.order_reconcile(order_id=order_id)


@shared_task
def reconcile_pending_orders() -> int:
    """Periodic: one reconcile task per order still awaiting payment after a while."""
    order_ids = list(services.orders_to_reconcile())
    for order_id in order_ids:
        reconcile_order.delay(order_id)
    return len(order_ids)


# -- refunds (payments.refunds) -----------------------------------------------


@shared_task(
    acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=10, retry_backoff_max=300,
    max_retries=5,
)
def issue_refund_credit_note(refund_id: int) -> None:
    """A succeeded refund's credit note (then its PDF and e-mail); once."""
    try:
        refunds.refund_issue_credit_note(refund_id=refund_id)
    except BillingError as error:  # not transient: staff see it in the log and the audit trail
        logger.error("no credit note for refund #%s: %s", refund_id, error)


@shared_task(autoretry_for=(GatewayUnavailable,), retry_backoff=30, retry_backoff_max=300, max_retries=5)
def recheck_refund(refund_id: int) -> None:
    """Send again a refund Stripe could not be reached for (same idempotency
    key), or ask Stripe about one whose confirmation never came."""
    refunds.refund_recheck(refund_id=refund_id)


@shared_task
def refunds_retry() -> int:
    """Periodic: refunds still pending (unsent, or unconfirmed for a while)."""
    due = refunds.refunds_to_retry()
    refund_ids = due["unsent"] + due["unconfirmed"]
    for refund_id in refund_ids:
        recheck_refund.delay(refund_id)
    return len(refund_ids)
