"""The only module that imports `stripe`.

Every call goes through the official SDK, to Stripe itself or, when
STRIPE_API_BASE is set, to the offline emulator. Writes always carry an
idempotency key derived from our own records, so the SDK's automatic retries
(and ours) can never create a second session or refund. Stripe's exceptions
become our own (payments.exceptions).
"""

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

from .exceptions import GatewayError, GatewayRequestRefused, GatewayUnavailable, PaymentDeclined

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "The payment service is unavailable right now. Please try again in a few minutes."


def configure() -> None:
    """Point the SDK's global configuration (used by dj-stripe) at the configured Stripe."""
    stripe.api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    if settings.STRIPE_API_BASE:
        stripe.upload_api_base = settings.STRIPE_API_BASE
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str, version: str, retries: int, timeout: float) -> stripe.StripeClient:
    bases = {"api": api_base, "files": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=bases,
        stripe_version=version,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    # Built from settings at call time so a test (or a deploy) that changes
    # them is followed; cached so connections are reused.
    return _client_for(
        djstripe_settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_API_VERSION,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


def _call(what: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except stripe.CardError as e:
        raise PaymentDeclined(e.user_message or "Your card was declined.", detail=str(e), code=e.code or "") from e
    except (stripe.APIConnectionError, stripe.RateLimitError) as e:
        logger.warning("stripe unavailable during %s: %s", what, e)
        raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e), code=getattr(e, "code", "") or "") from e
    except stripe.APIError as e:
        logger.warning("stripe error during %s: %s", what, e)
        raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e), code=e.code or "") from e
    except stripe.InvalidRequestError as e:
        logger.error("stripe refused %s: %s", what, e)
        raise GatewayRequestRefused(e.user_message or str(e), detail=str(e), code=e.code or "") from e
    except stripe.StripeError as e:
        logger.error("stripe failed %s: %s", what, e)
        raise GatewayError(e.user_message or "The payment service refused the request.", detail=str(e)) from e


def to_dict(obj) -> dict:
    """A Stripe object as plain JSON types, exactly as on the wire (decimals as
    strings, nested objects included): what dj-stripe's sync_from_stripe_data stores."""
    return json.loads(str(obj)) if hasattr(obj, "to_dict") else dict(obj)


# --------------------------------------------------------------------------
# Checkout Sessions
# --------------------------------------------------------------------------
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
) -> dict:
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
    session = _call(
        "checkout session create",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(session)


def checkout_session_retrieve(session_id: str) -> dict:
    """The session with its payment intent and latest charge expanded."""
    session = _call(
        "checkout session retrieve",
        lambda: client().v1.checkout.sessions.retrieve(
            session_id, {"expand": ["payment_intent", "payment_intent.latest_charge"]}
        ),
    )
    return to_dict(session)


def checkout_session_expire(session_id: str, *, idempotency_key: str) -> dict:
    session = _call(
        "checkout session expire",
        lambda: client().v1.checkout.sessions.expire(session_id, options={"idempotency_key": idempotency_key}),
    )
    return to_dict(session)


# --------------------------------------------------------------------------
# Payment intents
# --------------------------------------------------------------------------
def payment_intent_retrieve(payment_intent_id: str) -> dict:
    intent = _call(
        "payment intent retrieve",
        lambda: client().v1.payment_intents.retrieve(payment_intent_id, {"expand": ["latest_charge"]}),
    )
    return to_dict(intent)


# --------------------------------------------------------------------------
# Webhook endpoints
# --------------------------------------------------------------------------
def webhook_endpoint_list() -> list[dict]:
    page = _call("webhook endpoint list", lambda: client().v1.webhook_endpoints.list({"limit": 100}))
    return [to_dict(e) for e in page.auto_paging_iter()]


def webhook_endpoint_create(*, url: str, enabled_events: list[str], metadata: dict, api_version: str) -> dict:
    endpoint = _call(
        "webhook endpoint create",
        lambda: client().v1.webhook_endpoints.create(
            {"url": url, "enabled_events": enabled_events, "metadata": metadata, "api_version": api_version}
        ),
    )
    return to_dict(endpoint)


def webhook_endpoint_delete(endpoint_id: str) -> None:
    _call("webhook endpoint delete", lambda: client().v1.webhook_endpoints.delete(endpoint_id))


# --------------------------------------------------------------------------
# Refunds, disputes and evidence files (payments.refunds, payments.disputes)
# --------------------------------------------------------------------------
def _in_flight_is_unavailable(what: str, fn: Callable[[], Any]) -> Any:
    # A 409 "another request with this Idempotency-Key is in progress" means
    # the same write is running elsewhere: try again later, like a 5xx.
    try:
        return _call(what, fn)
    except GatewayError as error:
        if isinstance(error.__cause__, stripe.IdempotencyError):
            raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=error.detail, code="idempotency_error") from error
        raise


def refund_create(
    *, idempotency_key: str, payment_intent_id: str, amount: int, reason: str, metadata: dict[str, str]
) -> dict:
    params: dict[str, Any] = {"payment_intent": payment_intent_id, "amount": amount, "metadata": metadata}
    if reason:
        params["reason"] = reason
    refund = _in_flight_is_unavailable(
        "refund create", lambda: client().v1.refunds.create(params, {"idempotency_key": idempotency_key})
    )
    return to_dict(refund)


def refund_retrieve(refund_id: str) -> dict:
    return to_dict(_call("refund retrieve", lambda: client().v1.refunds.retrieve(refund_id)))


def refund_list(*, payment_intent_id: str = "", charge_id: str = "") -> list[dict]:
    params: dict[str, Any] = {"limit": 100}
    if payment_intent_id:
        params["payment_intent"] = payment_intent_id
    if charge_id:
        params["charge"] = charge_id
    page = _call("refund list", lambda: client().v1.refunds.list(params))
    return [to_dict(r) for r in page.auto_paging_iter()]


def file_create(*, content: bytes, filename: str, purpose: str, idempotency_key: str) -> dict:
    """Upload a file (multipart, to the files base URL), e.g. dispute evidence."""
    import io

    def upload():
        handle = io.BytesIO(content)
        handle.name = filename  # the SDK sends it as the part's filename
        return client().v1.files.create({"purpose": purpose, "file": handle}, {"idempotency_key": idempotency_key})

    return to_dict(_in_flight_is_unavailable("file create", upload))


def dispute_retrieve(dispute_id: str) -> dict:
    return to_dict(_call("dispute retrieve", lambda: client().v1.disputes.retrieve(dispute_id)))


def dispute_update(*, dispute_id: str, evidence: dict[str, str], submit: bool, idempotency_key: str) -> dict:
    params = {"evidence": evidence, "submit": submit}
    dispute = _in_flight_is_unavailable(
        "dispute update",
        lambda: client().v1.disputes.update(dispute_id, params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(dispute)


# --------------------------------------------------------------------------
# Subscriptions: plans, customers, test clocks, Checkout in subscription and
# setup mode, subscription changes, invoices (billing.subscriptions calls these)
# --------------------------------------------------------------------------

def product_retrieve(product_id: str) -> dict | None:
    """The product, or None when Stripe has no product with that id."""
    def retrieve():
        try:
            return client().v1.products.retrieve(product_id)
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None  # an expected answer, not an error worth logging
            raise

    product = _call("product retrieve", retrieve)
    return to_dict(product) if product is not None else None


def product_create(*, product_id: str, name: str, description: str, metadata: dict) -> dict:
    params = {"id": product_id, "name": name, "metadata": metadata}
    if description:
        params["description"] = description
    product = _call(
        "product create",
        lambda: client().v1.products.create(params, {"idempotency_key": f"product-{product_id}-create"}),
    )
    return to_dict(product)


def price_list_by_lookup_keys(lookup_keys: list[str]) -> list[dict]:
    page = _call(
        "price list",
        lambda: client().v1.prices.list({"lookup_keys": lookup_keys, "limit": 100, "expand": ["data.product"]}),
    )
    return [to_dict(p) for p in page.auto_paging_iter()]


def price_create(
    *, product_id: str, lookup_key: str, currency: str, unit_amount: int, interval: str,
    trial_period_days: int | None, metadata: dict,
) -> dict:
    recurring: dict = {"interval": interval}
    if trial_period_days:
        recurring["trial_period_days"] = trial_period_days
    price = _call(
        "price create",
        lambda: client().v1.prices.create(
            {
                "product": product_id,
                "currency": currency,
                "unit_amount": unit_amount,
                "tax_behavior": "inclusive",
                "recurring": recurring,
                "lookup_key": lookup_key,
                "metadata": metadata,
            },
            {"idempotency_key": f"price-{lookup_key}-{currency}-{unit_amount}-create"},
        ),
    )
    return to_dict(price)


def price_retrieve(price_id: str) -> dict:
    return to_dict(_call("price retrieve", lambda: client().v1.prices.retrieve(price_id, {"expand": ["product"]})))


def test_clock_create(*, idempotency_key: str, frozen_time: int, name: str) -> dict:
    clock = _call(
        "test clock create",
        lambda: client().v1.test_helpers.test_clocks.create(
            {"frozen_time": frozen_time, "name": name[:300]}, {"idempotency_key": idempotency_key}
        ),
    )
    return to_dict(clock)


def test_clock_retrieve(clock_id: str) -> dict:
    return to_dict(_call("test clock retrieve", lambda: client().v1.test_helpers.test_clocks.retrieve(clock_id)))


def test_clock_advance(clock_id: str, *, frozen_time: int) -> dict:
    clock = _call(
        "test clock advance",
        lambda: client().v1.test_helpers.test_clocks.advance(clock_id, {"frozen_time": frozen_time}),
    )
    return to_dict(clock)


def customer_create(
    *, idempotency_key: str, email: str, name: str, metadata: dict, test_clock: str | None = None
) -> dict:
    params = {"email": email, "metadata": metadata}
    if name:
        params["name"] = name
    if test_clock:
        params["test_clock"] = test_clock
    customer = _call(
        "customer create", lambda: client().v1.customers.create(params, {"idempotency_key": idempotency_key})
    )
    return to_dict(customer)


def customer_retrieve(customer_id: str) -> dict:
    return to_dict(_call("customer retrieve", lambda: client().v1.customers.retrieve(customer_id)))


def customer_set_default_payment_method(customer_id: str, *, payment_method_id: str) -> dict:
    customer = _call(
        "customer update",
        lambda: client().v1.customers.update(
            customer_id,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            {"idempotency_key": f"customer-{customer_id}-default-pm-{payment_method_id}"},
        ),
    )
    return to_dict(customer)


def checkout_session_create_subscription(
    *,
    idempotency_key: str,
    customer: str,
    price_id: str,
    trial_period_days: int | None,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
) -> dict:
    subscription_data: dict = {"metadata": metadata}
    if trial_period_days:
        subscription_data["trial_period_days"] = trial_period_days
    params = {
        "mode": "subscription",
        "customer": customer,
        "line_items": [{"price": price_id, "quantity": 1}],
        "subscription_data": subscription_data,
        # The buyer's address goes on the invoices (and the customer keeps it).
        "billing_address_collection": "required",
        "customer_update": {"address": "auto", "name": "auto"},
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    session = _call(
        "checkout session create (subscription)",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(session)


def checkout_session_create_setup(
    *,
    idempotency_key: str,
    customer: str,
    currency: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
) -> dict:
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
    session = _call(
        "checkout session create (setup)",
        lambda: client().v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(session)


def setup_intent_retrieve(setup_intent_id: str) -> dict:
    intent = _call(
        "setup intent retrieve",
        lambda: client().v1.setup_intents.retrieve(setup_intent_id, {"expand": ["payment_method"]}),
    )
    return to_dict(intent)


def subscription_retrieve(subscription_id: str) -> dict:
    return to_dict(_call("subscription retrieve", lambda: client().v1.subscriptions.retrieve(subscription_id)))


def subscription_list_for_customer(customer_id: str) -> list[dict]:
    page = _call(
        "subscription list",
        lambda: client().v1.subscriptions.list({"customer": customer_id, "status": "all", "limit": 100}),
    )
    return [to_dict(s) for s in page.auto_paging_iter()]


def subscription_update(subscription_id: str, *, params: dict, idempotency_key: str) -> dict:
    subscription = _call(
        "subscription update",
        lambda: client().v1.subscriptions.update(subscription_id, params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(subscription)


def subscription_cancel(subscription_id: str, *, idempotency_key: str, comment: str = "") -> dict:
    params = {"cancellation_details": {"comment": comment[:500]}} if comment else {}
    subscription = _call(
        "subscription cancel",
        lambda: client().v1.subscriptions.cancel(subscription_id, params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(subscription)


def invoice_create_preview(*, customer: str, subscription: str, subscription_details: dict) -> dict:
    invoice = _call(
        "invoice preview",
        lambda: client().v1.invoices.create_preview(
            {"customer": customer, "subscription": subscription, "subscription_details": subscription_details}
        ),
    )
    return to_dict(invoice)


def invoice_retrieve(invoice_id: str) -> dict:
    """The invoice with its payments (intent and charge) expanded, for the card used."""
    invoice = _call(
        "invoice retrieve",
        lambda: client().v1.invoices.retrieve(
            invoice_id, {"expand": ["payments.data.payment.payment_intent.latest_charge"]}
        ),
    )
    return to_dict(invoice)


def invoice_lines_all(invoice_id: str) -> list[dict]:
    page = _call("invoice lines", lambda: client().v1.invoices.line_items.list(invoice_id, {"limit": 100}))
    return [to_dict(line) for line in page.auto_paging_iter()]


def invoice_list(*, status: str, created_gte: int | None = None, limit: int = 100) -> list[dict]:
    params: dict = {"status": status, "limit": limit}
    if created_gte:
        params["created"] = {"gte": created_gte}
    page = _call("invoice list", lambda: client().v1.invoices.list(params))
    return [to_dict(i) for i in page.auto_paging_iter()]


def invoice_pay(invoice_id: str, *, idempotency_key: str, payment_method: str | None = None) -> dict:
    params = {"payment_method": payment_method} if payment_method else {}
    invoice = _call(
        "invoice pay",
        lambda: client().v1.invoices.pay(invoice_id, params, {"idempotency_key": idempotency_key}),
    )
    return to_dict(invoice)


def emulator_retry_schedule_set(days: list[int], *, final_action: str = "cancel") -> dict | None:
    """Set the offline emulator's Smart Retries schedule (its control route).

    Real Stripe has no API for this: the retry schedule and what happens after
    the last failed attempt are set in the Dashboard (Settings → Billing →
    Subscriptions and emails → Manage failed payments). Returns None (and does
    nothing) when talking to Stripe itself.
    """
    if not settings.STRIPE_API_BASE:
        return None
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{settings.STRIPE_API_BASE.rstrip('/')}/_emulator/billing/retry_schedule",
        data=json.dumps({"days": list(days), "final_action": final_action}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.STRIPE_TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"{}")
    except OSError as error:
        raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(error)) from error
