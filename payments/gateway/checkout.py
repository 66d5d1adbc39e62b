"""Checkout Sessions (payment, subscription and setup mode), payment intents
and setup intents. Writes carry an idempotency key derived from our records."""

from .client import call, client
from .types import CheckoutSession, PaymentIntent, SetupIntent


def checkout_session_create(
    *,
    idempotency_key: str,
    line_items: list[dict],
    currency: str,
    customer_email: str,
    client_reference_id: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    expires_at: int,
    promotion_code: str = "",
) -> CheckoutSession:
    """A Checkout Session in payment mode for a shop order, prices inline (VAT
    included), with the order's promotion code (Stripe takes it off the lines
    and the hosted page shows it)."""
    params = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": item["quantity"],
                "price_data": {
                    "currency": currency,
                    "unit_amount": item["unit_amount"],
                    "tax_behavior": "inclusive",
                    "product_data": {"name": item["name"], "metadata": {"sku": item["sku"]}},
                },
            }
            for item in line_items
        ],
        "customer_email": customer_email,
        "client_reference_id": client_reference_id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": expires_at,
    }
    if promotion_code:
        params["discounts"] = [{"promotion_code": promotion_code}]
    return CheckoutSession.from_stripe(call(
        "checkout session create",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    ))


def checkout_session_create_subscription(
    *,
    idempotency_key: str,
    customer: str,
    price_id: str,
    trial_period_days: int | None,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    subscription_data: dict = {"metadata": metadata}
    if trial_period_days:
        subscription_data["trial_period_days"] = trial_period_days
    params = {
        "mode": "subscription",
        "customer": customer,
        "line_items": [{"price": price_id, "quantity": 1}],
        "subscription_data": subscription_data,
        # The shop set the customer's billing address before (its VAT was
        # worked out for it) and the invoices print it: Checkout asks only
        # what the card needs, and does not change the customer's address.
        "billing_address_collection": "auto",
        # A discount code (payments.discount_codes) is typed on Stripe's page.
        "allow_promotion_codes": True,
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return CheckoutSession.from_stripe(call(
        "checkout session create (subscription)",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    ))


def checkout_session_create_setup(
    *,
    idempotency_key: str,
    customer: str,
    currency: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
) -> CheckoutSession:
    params = {
        "mode": "setup",
        "customer": customer,
        "currency": currency,
        "payment_method_types": ["card"],
        "metadata": metadata,
        "setup_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    return CheckoutSession.from_stripe(call(
        "checkout session create (setup)",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    ))


def checkout_session_retrieve(session_id: str) -> CheckoutSession:
    """The session with its payment intent and latest charge expanded."""
    return CheckoutSession.from_stripe(call(
        "checkout session retrieve",
        lambda: client().v1.checkout.sessions.retrieve(
            session_id, {"expand": ["payment_intent", "payment_intent.latest_charge"]}
        ),
    ))


def checkout_session_expire(session_id: str, *, idempotency_key: str) -> CheckoutSession:
    return CheckoutSession.from_stripe(call(
        "checkout session expire",
        lambda: client().v1.checkout.sessions.expire(session_id, options={"idempotency_key": idempotency_key}),
    ))


def payment_intent_retrieve(payment_intent_id: str) -> PaymentIntent:
    """The intent with its latest charge expanded (the card used)."""
    return PaymentIntent.from_stripe(call(
        "payment intent retrieve",
        lambda: client().v1.payment_intents.retrieve(payment_intent_id, {"expand": ["latest_charge"]}),
    ))


def setup_intent_retrieve(setup_intent_id: str) -> SetupIntent:
    return SetupIntent.from_stripe(call(
        "setup intent retrieve",
        lambda: client().v1.setup_intents.retrieve(setup_intent_id, {"expand": ["payment_method"]}),
    ))
