"""This site's webhook endpoints at Stripe."""

import uuid

from .client import call, call_list, client
from .types import WebhookEndpoint


def webhook_endpoint_list() -> list[WebhookEndpoint]:
    return [WebhookEndpoint.from_stripe(e)
            for e in call_list("webhook endpoint list", lambda: client().v1.webhook_endpoints.list({"limit": 100}))]


def webhook_endpoint_create(*, url: str, enabled_events: list[str], metadata: dict, api_version: str) -> WebhookEndpoint:
    # One key for this creation, kept across the retries of a rate-limited call
    # (a fixed one would replay an endpoint deleted and created again the same day).
    idempotency_key = f"webhook-endpoint-create-{uuid.uuid4()}"
    return WebhookEndpoint.from_stripe(call(
        "webhook endpoint create",
        lambda: client().v1.webhook_endpoints.create(
            {"url": url, "enabled_events": enabled_events, "metadata": metadata, "api_version": api_version},
            {"idempotency_key": idempotency_key},
        ),
    ))


def webhook_endpoint_delete(endpoint_id: str) -> None:
    call("webhook endpoint delete", lambda: client().v1.webhook_endpoints.delete(endpoint_id))
