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
    if obj.get("mode") in ("subscription", "setup"):
        on_subscription_checkout_completed(obj)
        return
    services.checkout_session_settle(session=obj)


def on_checkout_session_async_payment_succeeded(obj: dict) -> None:
    services.checkout_session_settle(session=obj)


def on_checkout_session_expired(obj: dict) -> None:
    services.checkout_session_settle(session=obj)


def on_checkout_session_async_payment_failed(obj: dict) -> None:
    services.checkout_session_async_failed(session=obj)


def on_payment_intent_payment_failed(obj: dict) -> None:
    services.payment_intent_failed(intent=obj)


# -- subscriptions (billing.subscriptions, billing.dunning) -------------------
# dj-stripe's own receivers run first and mirror the subscription, invoice and
# customer as Stripe has them now; these add the shop's side effects.


def on_subscription_checkout_completed(obj: dict) -> None:
    from billing import subscriptions

    if obj.get("mode") == "setup":
        subscriptions.card_replace_completed(session=obj)
    else:
        subscriptions.subscription_checkout_completed(session=obj)


def on_invoice_paid(obj: dict) -> None:
    from billing.tasks import issue_subscription_invoice_documents

    issue_subscription_invoice_documents.delay_on_commit(obj["id"])


def on_invoice_payment_failed(obj: dict) -> None:
    from billing.dunning import dunning_payment_failed

    dunning_payment_failed(invoice=obj)


def on_customer_subscription_deleted(obj: dict) -> None:
    from billing.dunning import dunning_subscription_ended

    dunning_subscription_ended(subscription=obj)


# -- refunds and disputes (payments.refunds, payments.disputes) ---------------


def on_refund_event(obj: dict) -> None:
    from . import refunds

    refunds.refund_sync(stripe_refund=obj)


def on_charge_refunded(obj: dict) -> None:
    from . import refunds

    refunds.charge_refunded_sync(charge=obj)


def on_charge_dispute_event(obj: dict) -> None:
    from . import disputes

    disputes.dispute_sync(stripe_dispute=obj)


HANDLERS = {
    "refund.created": on_refund_event,
    "refund.updated": on_refund_event,
    "refund.failed": on_refund_event,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_charge_dispute_event,
    "charge.dispute.updated": on_charge_dispute_event,
    "charge.dispute.closed": on_charge_dispute_event,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.deleted": on_customer_subscription_deleted,
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
        # Subscriptions: dj-stripe mirrors these (customers and their cards,
        # subscriptions, invoices, plans) for the account page and admin.
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.trial_will_end",
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_succeeded",
        "invoice.updated",
        "invoice.voided",
        "payment_method.attached",
        "payment_method.detached",
        "setup_intent.succeeded",
        # Not product.* / price.*: every order's inline price_data would be
        # mirrored too; plans are mirrored by `manage.py stripe_sync_plans`.
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
