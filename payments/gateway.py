"""The only module that imports `stripe`.

Every call goes through the official SDK, to Stripe itself or, when
STRIPE_API_BASE is set, to the offline emulator. Writes always carry an
idempotency key derived from our own records, so the SDK's automatic retries
(and ours) can never create a second session or refund. Stripe's exceptions
become our own (payments.exceptions).
"""

import functools
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
    """A plain dict of a Stripe object (nested objects included)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


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
