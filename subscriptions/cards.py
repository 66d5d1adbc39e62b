"""The card and overdue payments: replacing the card through Checkout in setup
mode (the new card becomes the default, and pays an overdue invoice at once),
and paying an overdue invoice with the card on file."""

import logging
import uuid

from django.conf import settings
from django.urls import reverse
from djstripe.models import Subscription

from payments import gateway
from payments.exceptions import GatewayError, PaymentDeclined
from payments.gateway import CheckoutSession

from .customers import absolute_url, customer_mirror, subscription_audit, subscription_mirror
from .exceptions import SubscriptionError
from .selectors import LIVE_STATUSES

logger = logging.getLogger(__name__)


def subscription_pay_overdue(*, subscription: Subscription, actor=None) -> bool:
    """The customer pays the overdue invoice now with the card on file. True
    when Stripe took the payment; False when the card was declined again (the
    invoice stays open: replace the card). Stripe's webhooks bring the paid
    invoice and the active subscription into the mirror."""
    invoice_id = overdue_invoice_id(subscription)
    if subscription.status not in ("past_due", "unpaid") or not invoice_id:
        raise SubscriptionError("Nothing is overdue on this subscription.")
    paid = invoice_pay_overdue(invoice_id=invoice_id, payment_method_id=None)
    subscription_audit(subscription=subscription, actor=actor, action="subscription.overdue_paid" if paid else
           "subscription.overdue_declined", message=f"overdue invoice {invoice_id} "
           + ("paid with the card on file" if paid else "declined again on the card on file"), invoice=invoice_id)
    return paid


def overdue_invoice_id(subscription: Subscription) -> str:
    """The invoice a past-due subscription waits on (Stripe's latest_invoice)."""
    latest = subscription.stripe_data.get("latest_invoice")
    return (latest.get("id") if isinstance(latest, dict) else latest) or ""


def card_replace_start(*, subscription: Subscription) -> str:
    """A Checkout Session in setup mode to save a new card; the webhook makes it
    the default of the customer and of the subscription, and pays an overdue
    invoice with it."""
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has ended; there is no card to replace.")
    metadata = {"shop_purpose": "card_replace", "subscription": subscription.id}
    session = gateway.checkout_session_create_setup(
        idempotency_key=f"shop-sub-{subscription.id}-card-{uuid.uuid4().hex}",
        customer=subscription.customer.id,
        currency=(subscription.stripe_data.get("currency") or settings.SHOP_CURRENCY),
        metadata=metadata,
        success_url=absolute_url(reverse("subscriptions:subscription")) + "?card_session={CHECKOUT_SESSION_ID}",
        cancel_url=absolute_url(reverse("subscriptions:subscription")),
    )
    return session.url


def card_replace_completed(*, session: CheckoutSession) -> Subscription | None:
    """checkout.session.completed in setup mode: the new card becomes the
    default for the customer's invoices and for the subscription; an overdue
    invoice is paid with it at once (Stripe would otherwise wait for its next
    retry). Every write carries an idempotency key, so a repeated webhook is
    harmless."""
    if not session.setup_intent_id:
        return None
    intent = gateway.setup_intent_retrieve(session.setup_intent_id)
    if intent.status != "succeeded":
        logger.info("setup intent %s is %s; no card to use", intent.id, intent.status)
        return None
    method_id = intent.payment_method_id
    customer_id = session.customer_id or intent.customer_id
    if not (method_id and customer_id):
        return None
    gateway.customer_set_default_payment_method(customer_id, payment_method_id=method_id)
    subscription_id = session.metadata.get("subscription")
    mirrored = Subscription.objects.filter(id=subscription_id).select_related("customer").first()
    if mirrored is not None:
        subscription_audit(subscription=mirrored, actor="stripe", action="subscription.card_replaced",
               message=f"new card {method_id} made the default (Checkout in setup mode)")
    subscription = None
    if subscription_id:
        remote = gateway.subscription_update(
            subscription_id,
            params={"default_payment_method": method_id},
            idempotency_key=f"shop-sub-{subscription_id}-default-pm-{method_id}",
        )
        if remote.status in ("past_due", "unpaid") and remote.latest_invoice_id:
            invoice_pay_overdue(invoice_id=remote.latest_invoice_id, payment_method_id=method_id)
        subscription = subscription_mirror(subscription_id)
    customer_mirror(customer_id)
    return subscription


def invoice_pay_overdue(*, invoice_id: str, payment_method_id: str | None) -> bool:
    """Pay an open invoice now, with the given card (None: the one on file). A
    decline is not an error here: the invoice stays open and Stripe's retries
    go on."""
    # A new card is tried once per card; the card on file once per click.
    attempt = payment_method_id or uuid.uuid4().hex
    try:
        invoice = gateway.invoice_pay(
            invoice_id,
            idempotency_key=f"shop-invoice-{invoice_id}-pay-{attempt}",
            payment_method=payment_method_id,
        )
    except PaymentDeclined as error:
        logger.info("overdue invoice %s not paid with the new card: %s", invoice_id, error.detail or error)
        return False
    except GatewayError as error:
        if "paid" in (error.detail or str(error)).lower():
            return True  # paid meanwhile (a retry, or an earlier delivery of this webhook)
        raise
    return invoice.status == "paid"
