"""Webhook receivers, connected by each app to the events it handles.

The endpoint (payments.views.stripe_webhook) only verifies the signature and
stores the event (payments.inbox); a worker then lets dj-stripe mirror the
objects and runs the receivers connected here, outside any transaction (so a
receiver may call Stripe, then call a guarded service). Each app connects its
own receivers in its AppConfig.ready() with `connect()` (payments here,
subscriptions in its app): a receiver gets the event's object, finds our
object by Stripe id and calls one service. Receivers are idempotent and do not
depend on the order events arrive in: an exception makes the worker retry the
whole event with backoff, running every receiver of it again.

`enabled_events()` is what the shop asks Stripe to send: the events with a
receiver, plus those whose objects dj-stripe mirrors for staff and pages.
"""

import logging
from collections.abc import Callable, Iterable, Mapping

from . import disputes, refunds, services
from .gateway import CheckoutSession, Dispute, PaymentIntent, Refund
from .gateway.types import Charge

logger = logging.getLogger(__name__)

Receiver = Callable[[dict], None]
# event type -> {app label: receiver}
RECEIVERS: dict[str, dict[str, Receiver]] = {}
MIRRORED: set[str] = set()


def connect(app_label: str, receivers: Mapping[str, Receiver], *, mirrored: Iterable[str] = ()) -> None:
    """Connect `app_label`'s receivers (once per event type and app, however
    often called) and note the events it wants mirrored."""
    for event_type, receiver in receivers.items():
        RECEIVERS.setdefault(event_type, {})[app_label] = receiver
    MIRRORED.update(mirrored)


def disconnect(app_label: str, event_type: str) -> None:
    RECEIVERS.get(event_type, {}).pop(app_label, None)


def receivers_for(event_type: str) -> list[Receiver]:
    """The receivers of an event type, in no promised order."""
    return list(RECEIVERS.get(event_type, {}).values())


def dispatch(event_type: str, obj: dict) -> int:
    """Run every receiver of `event_type` on the event's object; returns how
    many ran. Unknown types are acknowledged and ignored."""
    receivers = receivers_for(event_type)
    for receiver in receivers:
        logger.info("webhook %s -> %s.%s", event_type, receiver.__module__, receiver.__name__)
        receiver(obj)
    return len(receivers)


def enabled_events() -> list[str]:
    return sorted(set(RECEIVERS) | MIRRORED)


# ---------------------------------------------------------------------------
# The payments app's receivers: one-time orders, refunds, disputes
# ---------------------------------------------------------------------------


def on_checkout_session(obj: dict) -> None:
    """completed, async_payment_succeeded, expired: settle the order."""
    session = CheckoutSession.from_stripe(obj)
    if session.mode == "payment":  # subscription and setup sessions are the subscriptions app's
        services.checkout_session_settle(session=session)


def on_checkout_session_async_payment_failed(obj: dict) -> None:
    session = CheckoutSession.from_stripe(obj)
    if session.mode == "payment":
        services.checkout_session_async_failed(session=session)


def on_payment_intent_payment_failed(obj: dict) -> None:
    services.payment_intent_failed(intent=PaymentIntent.from_stripe(obj))


def on_refund_event(obj: dict) -> None:
    refunds.refund_sync(stripe_refund=Refund.from_stripe(obj))


def on_charge_refunded(obj: dict) -> None:
    refunds.charge_refunded_sync(charge=Charge.from_stripe(obj))


def on_charge_dispute_event(obj: dict) -> None:
    disputes.dispute_sync(stripe_dispute=Dispute.from_stripe(obj))


RECEIVERS_OF_PAYMENTS: dict[str, Receiver] = {
    "checkout.session.completed": on_checkout_session,
    "checkout.session.async_payment_succeeded": on_checkout_session,
    "checkout.session.expired": on_checkout_session,
    "checkout.session.async_payment_failed": on_checkout_session_async_payment_failed,
    "payment_intent.payment_failed": on_payment_intent_payment_failed,
    "refund.created": on_refund_event,
    "refund.updated": on_refund_event,
    "refund.failed": on_refund_event,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_charge_dispute_event,
    "charge.dispute.updated": on_charge_dispute_event,
    "charge.dispute.closed": on_charge_dispute_event,
}
# Nothing more to mirror: the shop reads no mirrored charge or payment intent
# (our Payment rows say how each order was paid), and each of those events
# made dj-stripe fetch the object again: two of a renewal's events were only that.
MIRRORED_BY_PAYMENTS: tuple[str, ...] = ()
