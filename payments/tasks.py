"""Celery tasks of the payments package: thin, ids only, idempotent."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from billing.exceptions import BillingError

from . import refunds, services
from .exceptions import GatewayUnavailable

logger = logging.getLogger(__name__)


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
