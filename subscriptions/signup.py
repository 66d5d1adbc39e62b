"""Signing up: the plan price a user may subscribe to, and Stripe Checkout in
subscription mode, charged the buyer's price (the plan's price with the VAT
of their billing address: subscriptions.pricing); then the
checkout.session.completed webhook ties the customer to its user and mirrors
the subscription.

Stripe holds the truth: each step is a Stripe call through payments.gateway,
never inside a database transaction; its effect reaches the pages once
Stripe's webhook has brought it into dj-stripe's mirror.
"""

import uuid

from django.contrib.auth import get_user_model
from django.urls import reverse
from djstripe.models import Price, Subscription

from billing.vies import VatIdCheck
from orders.services import BillingDetails
from payments import gateway
from payments.gateway import CheckoutSession

from .customers import (
    absolute_url,
    customer_billing_set,
    customer_get_or_create,
    customer_mirror,
    stripe_metadata,
    subscription_mirror,
    user_token,
)
from .exceptions import AlreadySubscribed, QuoteChanged, SubscriptionError
from .plans import buyer_price_get_or_create
from .pricing import plan_quote
from .selectors import LIVE_STATUSES, customer_for_user, plan_price_get


def subscription_signup_price(*, user, price_id: str) -> Price:
    """The plan price `user` may sign up for. Refused (AlreadySubscribed) when
    the user already has a live subscription: Stripe is asked, since the
    mirror may lag its webhook."""
    price = plan_price_get(price_id)
    if price is None:
        raise SubscriptionError("This plan is not available.")
    customer = customer_for_user(user)
    if customer is None or customer.stripe_data.get("deleted"):
        return price
    for remote in gateway.subscription_list_for_customer(customer.id):
        if remote.status not in LIVE_STATUSES:
            continue
        if price.product_id in {item.product_id for item in remote.items}:
            raise AlreadySubscribed(f"You already subscribe to {price.product.name}.")
        raise AlreadySubscribed(
            "You already have a subscription. To switch plans, use “Change plan” on your subscription page."
        )
    return price


def subscription_checkout_start(
    *, user, price_id: str, billing: BillingDetails, vat_check: VatIdCheck | None = None,
    quote_key: str | None = None,
) -> str:
    """Start a Checkout Session in subscription mode for the signed-in user and
    return its URL. The plan is charged with the VAT of the buyer's billing
    address (and VAT id, `vat_check` from billing.vies, asked by the caller
    outside any transaction): the buyer's price (subscriptions.plans), whose
    amount is the quote the page showed (`quote_key`: QuoteChanged when the
    address gives another). The address is set on the Stripe customer, where
    the invoices take it from; the VAT id check is kept in the subscription's
    metadata. Refused (AlreadySubscribed) when the user already has a live
    subscription."""
    price = subscription_signup_price(user=user, price_id=price_id)
    quote = plan_quote(plan_price=price, country=billing.country, vat_check=vat_check)
    if quote_key is not None and quote_key != quote.key:
        raise QuoteChanged(quote)
    customer = customer_get_or_create(user=user)
    customer_billing_set(customer, billing)
    charged = buyer_price_get_or_create(plan_price=price, treatment=quote.treatment)
    recurring = price.recurring or {}
    metadata = stripe_metadata({
        "shop_purpose": "subscription", "user_id": str(user.pk), "price": price.id,
        **quote.subscription_metadata(company=billing.company),
    })
    session = gateway.checkout_session_create_subscription(
        # A fresh key per click: the SDK's own retries of this call reuse it.
        idempotency_key=f"shop-subscribe-{user_token(user)}-{charged.id}-{uuid.uuid4().hex}",
        customer=customer.id,
        price_id=charged.id,
        trial_period_days=recurring.get("trial_period_days") or None,
        metadata=metadata,
        success_url=absolute_url(reverse("subscriptions:subscription")) + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=absolute_url(reverse("subscriptions:plans")),
    )
    return session.url


def subscription_checkout_completed(*, session: CheckoutSession) -> Subscription | None:
    """checkout.session.completed in subscription mode: make sure the customer
    is tied to its user and the subscription is in the mirror (dj-stripe's own
    subscription events do the same; whichever comes first wins, both read
    Stripe's current state)."""
    if not session.subscription_id:
        return None
    user_id = session.metadata.get("user_id")
    if session.customer_id:
        user = None
        if str(user_id or "").isdigit():
            user = get_user_model().objects.filter(pk=int(user_id)).first()
        customer_mirror(session.customer_id, user=user)
    return subscription_mirror(session.subscription_id)
