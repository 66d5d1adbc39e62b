"""Webhook receivers: a dispatch table by event type.

dj-stripe's endpoint (/stripe/webhook/<uuid>/) verifies the signature, stores
the Event (once: a repeated delivery of the same event id stops there) and
mirrors the Stripe objects, then sends the event's signal. Each receiver here
finds our object by Stripe id and calls one service. An exception makes
dj-stripe answer 500 and roll back, so Stripe delivers the event again later:
that is what we want for transient errors, and why the services are idempotent.
"""

import logging

from djstripe.signals import WEBHOOK_SIGNALS

from . import services

logger = logging.getLogger(__name__)


def on_checkout_session_completed(obj: dict) -> None:
    services.checkout_session_settle(session=obj)


def on_checkout_session_async_payment_succeeded(obj: dict) -> None:
    services.checkout_session_settle(session=obj)


def on_checkout_session_expired(obj: dict) -> None:
    services.checkout_session_settle(session=obj)


def on_checkout_session_async_payment_failed(obj: dict) -> None:
    services.checkout_session_async_failed(session=obj)


def on_payment_intent_payment_failed(obj: dict) -> None:
    services.payment_intent_failed(intent=obj)


HANDLERS = {
    "checkout.session.completed": on_checkout_session_completed,
    "checkout.session.async_payment_succeeded": on_checkout_session_async_payment_succeeded,
    "checkout.session.expired": on_checkout_session_expired,
    "checkout.session.async_payment_failed": on_checkout_session_async_payment_failed,
    "payment_intent.payment_failed": on_payment_intent_payment_failed,
}


# What the shop asks Stripe to send: the events above, plus those whose objects
# dj-stripe mirrors for staff (payments, charges, refunds, disputes).
ENABLED_EVENTS = sorted(
    set(HANDLERS)
    | {
        "payment_intent.succeeded",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
    }
)


def dispatch(sender, event, **kwargs) -> None:
    handler = HANDLERS.get(event.type)
    if handler is None:  # acknowledged and ignored
        return
    logger.info("webhook %s %s", event.type, event.id)
    handler(event.data["object"])


for _event_type in HANDLERS:
    WEBHOOK_SIGNALS[_event_type].connect(dispatch, weak=False, dispatch_uid=f"payments:{_event_type}")
