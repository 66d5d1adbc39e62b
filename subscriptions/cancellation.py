"""Cancelling and resuming: the customer cancels at the end of the period
(or takes it back before it ends); staff cancel at once. Each is asked of
Stripe, audited, and confirmed by its webhook."""

import uuid

from djstripe.models import Subscription

from payments import gateway

from .customers import subscription_audit
from .exceptions import SubscriptionError
from .selectors import LIVE_STATUSES, subscription_period_end


def subscription_cancel_at_period_end(*, subscription: Subscription, actor=None, reason: str = "") -> None:
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has already ended.")
    if subscription.cancel_at_period_end:
        return
    gateway.subscription_update(
        subscription.id,
        params={"cancel_at_period_end": True},
        idempotency_key=f"shop-sub-{subscription.id}-cancel-{uuid.uuid4().hex}",
    )
    end = subscription_period_end(subscription)
    subscription_audit(subscription=subscription, actor=actor, action="subscription.cancel_at_period_end", reason=reason,
           message=f"cancellation at the end of the period{f' ({end:%Y-%m-%d})' if end else ''} asked of Stripe")


def subscription_resume(*, subscription: Subscription, actor=None) -> None:
    """Undo a cancellation at period end, before the period ends."""
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has already ended; subscribe again from the plans page.")
    if not (subscription.cancel_at_period_end or subscription.cancel_at):
        return
    gateway.subscription_update(
        subscription.id,
        params={"cancel_at_period_end": False},
        idempotency_key=f"shop-sub-{subscription.id}-resume-{uuid.uuid4().hex}",
    )
    subscription_audit(subscription=subscription, actor=actor, action="subscription.resumed",
           message="resuming (no cancellation at the end of the period) asked of Stripe")


def subscription_cancel_now(*, subscription: Subscription, actor, reason: str = "") -> None:
    """Staff cancel a subscription at once, through Stripe (the
    customer.subscription.deleted webhook brings it into the mirror and tells
    the customer). Recorded in the audit trail."""
    if subscription.status in ("canceled", "incomplete_expired"):
        raise SubscriptionError(f"{subscription.id} has already ended.")
    gateway.subscription_cancel(
        subscription.id,
        idempotency_key=f"shop-sub-{subscription.id}-staff-cancel",
        comment=f"Cancelled by staff ({actor.get_username()}){': ' + reason if reason else ''}",
    )
    subscription_audit(subscription=subscription, actor=actor, action="subscription.cancelled", reason=reason,
           message="cancelled by staff at Stripe")
