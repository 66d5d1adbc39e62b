"""The only module that imports `stripe`.

Every call goes through the official SDK, to Stripe itself or, when
STRIPE_API_BASE is set, to the offline emulator. Stripe's exceptions become
our own (payments.exceptions) here, so nothing else ever sees one.
"""

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import stripe
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from djstripe.settings import djstripe_settings

from ..exceptions import GatewayError, GatewayRequestRefused, GatewayUnavailable, PaymentDeclined

logger = logging.getLogger("payments.gateway")

UNAVAILABLE_MESSAGE = "The payment service is unavailable right now. Please try again in a few minutes."
RATE_LIMITED_MESSAGE = "The payment service is busy right now. Nothing was charged: please try again in a minute."
# A 429 is retried after Retry-After when Stripe gives one, else after
# 0.5, 1, 2, 4 s (with jitter), as long as the total wait stays within
# STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS: a customer waits a bounded time, then reads "try again".
RATE_LIMIT_FIRST_DELAY = 0.5
RATE_LIMIT_MAX_DELAY = 4.0


class CallInsideTransaction(Exception):  # noqa: N818  (a refusal, raised before anything is sent)
    """A call to Stripe refused because the calling thread's database
    connection is inside a transaction (see `calls_outside_transactions`)."""

    def __init__(self, client, method: str, url: str, headers, post_data):
        super().__init__(f"{method.upper()} {url} refused: it would be made inside a database transaction")
        self.client, self.method, self.url, self.headers, self.post_data = client, method, url, headers, post_data


_local = threading.local()


def inside_a_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether this thread's connection is inside a transaction the code
    opened (a test case's wrapping transaction does not count, as for
    Django's `atomic(durable=True)`)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


class _Outside:
    """What `calls_outside_transactions` yields: the reads refused in the
    block, to be made outside any transaction (`fetch`), then served."""

    def __init__(self):
        self.answers: dict[tuple[str, str], tuple] = {}
        self.refused: list[CallInsideTransaction] = []

    def fetch(self, refused: CallInsideTransaction) -> None:
        """Make a refused read now (outside any transaction) and keep its answer."""
        key = (refused.method.lower(), refused.url)
        if refused.method.lower() != "get" or key in self.answers:
            raise GatewayRequestRefused(str(refused), detail=str(refused), code="call_inside_transaction")
        try:
            self.answers[key] = stripe.RequestsClient.request(
                refused.client, refused.method, refused.url, refused.headers, refused.post_data
            )
        except stripe.APIConnectionError as e:
            logger.warning("stripe unavailable during %s %s: %s", refused.method.upper(), refused.url, e)
            raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e)) from e

    def unanswered(self) -> list[CallInsideTransaction]:
        """Reads refused since the last call that were not fetched: those the
        code caught and went on without (dj-stripe does for a product's
        features). Each once."""
        pending = [r for r in self.refused if (r.method.lower(), r.url) not in self.answers]
        self.refused = []
        unique = {(r.method.lower(), r.url): r for r in pending}
        return list(unique.values())


@contextmanager
def calls_outside_transactions() -> Iterator[_Outside]:
    """Within this block, a call to Stripe (ours or dj-stripe's, in this
    thread) that would be made inside a transaction raises
    CallInsideTransaction before anything is sent. The block's caller makes
    that read itself, outside any transaction (`fetch`), and runs its code
    again: the answer is served from here, in a transaction or not, for the
    rest of the block. A refusal the code caught and went on without is kept
    (`unanswered`). Only reads (GET) are made so; a write refused stays
    refused (GatewayRequestRefused)."""
    current = getattr(_local, "outside", None)
    if current is not None:  # nested: the outer block's answers
        yield current
        return
    _local.outside = _Outside()
    try:
        yield _local.outside
    finally:
        _local.outside = None


class _HTTPClient(stripe.RequestsClient):
    def request(self, method, url, headers, post_data=None):
        outside = getattr(_local, "outside", None)
        if outside is not None:
            answer = outside.answers.get((method.lower(), url))
            if answer is not None:
                return answer
            if inside_a_transaction():
                refused = CallInsideTransaction(self, method, url, headers, post_data)
                outside.refused.append(refused)
                raise refused
        return super().request(method, url, headers, post_data)


def configure() -> None:
    """Point the SDK's global configuration (used by dj-stripe) at the configured Stripe."""
    stripe.api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    if settings.STRIPE_API_BASE:
        stripe.upload_api_base = settings.STRIPE_API_BASE
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = _HTTPClient(timeout=settings.STRIPE_TIMEOUT_SECONDS)


@lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str, version: str, retries: int, timeout: float) -> stripe.StripeClient:
    bases = {"api": api_base, "files": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=bases,
        stripe_version=version,
        max_network_retries=retries,
        http_client=_HTTPClient(timeout=timeout),
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


def to_dict(obj) -> dict:
    """A Stripe object as plain JSON types, exactly as on the wire (decimals as
    strings, nested objects included): what dj-stripe's sync_from_stripe_data stores."""
    return json.loads(str(obj)) if hasattr(obj, "to_dict") else dict(obj)


def sdk_object(data: dict):
    """A payload (a webhook event's object, as stored) as the SDK object that
    dj-stripe's sync_from_stripe_data expects: its lists page on by
    themselves, when a payload says it has more."""
    return stripe.convert_to_stripe_object(
        data, api_key=djstripe_settings.STRIPE_SECRET_KEY, stripe_version=settings.STRIPE_API_VERSION
    )


def call(what: str, fn: Callable[[], Any], *, missing_ok: bool = False) -> dict | None:
    """Run one SDK call and return its object as a dict; Stripe's errors become ours.

    `missing_ok`: an object Stripe does not have (resource_missing) is None, an
    expected answer rather than an error. A 409 "another request with this
    Idempotency-Key is in progress" means the same write is running elsewhere:
    try again later, like a 5xx."""
    deadline = time.monotonic() + settings.STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS
    attempt = 0
    while True:
        try:
            return _call_once(what, fn, missing_ok=missing_ok)
        except stripe.RateLimitError as e:
            # The same `fn`, so a write is retried with the same idempotency key.
            delay = rate_limit_delay(e, attempt)
            if time.monotonic() + delay > deadline:
                logger.warning("stripe rate limit during %s, giving up after %d retries: %s", what, attempt, e)
                raise GatewayUnavailable(RATE_LIMITED_MESSAGE, detail=str(e), code="rate_limit") from e
            logger.info("stripe rate limit during %s: retry %d in %.2f s", what, attempt + 1, delay)
            time.sleep(delay)
            attempt += 1


def rate_limit_delay(error, attempt: int) -> float:
    """Seconds to wait before retrying a 429: Stripe's Retry-After if it sent
    one (seconds), else exponential backoff with jitter."""
    headers = getattr(error, "headers", None) or {}
    retry_after = next((value for key, value in headers.items() if key.lower() == "retry-after"), None)
    try:
        if retry_after is not None:
            return max(0.0, float(retry_after))
    except (TypeError, ValueError):
        pass
    delay = min(RATE_LIMIT_FIRST_DELAY * (2**attempt), RATE_LIMIT_MAX_DELAY)
    return delay / 2 + random.uniform(0, delay / 2)


def _call_once(what: str, fn: Callable[[], Any], *, missing_ok: bool) -> dict | None:
    try:
        result = fn()
    except stripe.RateLimitError:
        raise  # call() retries it
    except stripe.CardError as e:
        raise PaymentDeclined(e.user_message or "Your card was declined.", detail=str(e), code=e.code or "") from e
    except stripe.APIConnectionError as e:
        logger.warning("stripe unavailable during %s: %s", what, e)
        raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e), code=getattr(e, "code", "") or "") from e
    except stripe.IdempotencyError as e:
        if e.http_status == 409:  # the same write is in flight elsewhere: try again later
            logger.warning("stripe: %s already in progress elsewhere: %s", what, e)
            raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e), code="idempotency_error") from e
        logger.error("stripe refused %s (idempotency key reused with other parameters): %s", what, e)
        raise GatewayRequestRefused(str(e), detail=str(e), code="idempotency_error") from e
    except stripe.APIError as e:
        logger.warning("stripe error during %s: %s", what, e)
        raise GatewayUnavailable(UNAVAILABLE_MESSAGE, detail=str(e), code=e.code or "") from e
    except stripe.InvalidRequestError as e:
        if missing_ok and e.code == "resource_missing":
            return None
        logger.error("stripe refused %s: %s", what, e)
        raise GatewayRequestRefused(e.user_message or str(e), detail=str(e), code=e.code or "",
                                    param=getattr(e, "param", None) or "") from e
    except stripe.StripeError as e:
        logger.error("stripe failed %s: %s", what, e)
        raise GatewayError(e.user_message or "The payment service refused the request.", detail=str(e)) from e
    return to_dict(result)


def call_list(what: str, fn: Callable[[], Any]) -> list[dict]:
    """A list call, every page of it (the SDK fetches the next pages), as dicts."""
    items: list[dict] = []

    def every_page():
        items.extend(to_dict(item) for item in fn().auto_paging_iter())
        return {}

    call(what, every_page)
    return items


def signature_valid(body: bytes, header: str, secret: str, tolerance: int) -> bool:
    """Whether `header` (Stripe-Signature) signs `body` with the endpoint's
    secret, within `tolerance` seconds. Only the endpoint's own secret counts:
    no secret is ever taken from the request."""
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        return False
    return True
