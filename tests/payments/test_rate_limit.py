"""Stripe's 429: every call is retried (a write with the same idempotency key),
after Retry-After when given, with a bounded backoff; then a clear "try again"."""

import pytest
import stripe
from django.urls import reverse

from orders.models import Order
from payments import gateway
from payments.gateway.client import rate_limit_delay
from payments.services import checkout_start, order_reconcile
from tests.conftest import emulator_control
from tests.factories import ProductFactory
from tests.payments.test_checkout import place, sessions_at_stripe
from tests.shop.conftest import messages_of
from tests.shop.test_checkout import VALID, cart_of, fill_cart

pytestmark = pytest.mark.django_db


def _rate_limit(emulator, path, method, count):
    emulator_control(emulator.url, "faults", {"path": path, "method": method, "count": count, "status": 429})


def test_a_rate_limited_checkout_is_retried_with_the_same_key_and_succeeds(stripe_emulator):
    _rate_limit(stripe_emulator, "/v1/checkout/sessions", "POST", 2)
    order = place(ProductFactory(stock=3))

    url = checkout_start(order=order)

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT and order.stripe_checkout_session_id in url
    assert len(sessions_at_stripe(stripe_emulator)) == 1  # the retries made no second session
    assert emulator_control(stripe_emulator.url, "faults", method="GET")["faults"] == []  # both 429s were met


def test_reads_are_retried_too(stripe_emulator):
    order = place(ProductFactory(stock=3))
    checkout_start(order=order)
    order.refresh_from_db()
    _rate_limit(stripe_emulator, f"/v1/checkout/sessions/{order.stripe_checkout_session_id}", "GET", 2)
    assert order_reconcile(order_id=order.pk).status == Order.Status.AWAITING_PAYMENT
    assert emulator_control(stripe_emulator.url, "faults", method="GET")["faults"] == []


def test_a_customer_rate_limited_for_good_reads_try_again_and_keeps_the_cart(client, stripe_emulator, settings):
    settings.STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS = 1.5
    _rate_limit(stripe_emulator, "/v1/checkout/sessions", "POST", 100)
    mug = ProductFactory(name="Stoneware mug", stock=5)
    fill_cart(client, (mug, 2))

    response = client.post(reverse("shop:checkout"), VALID, follow=True)

    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert any("busy right now" in m and "try again" in m for m in messages_of(response)), messages_of(response)
    assert cart_of(client) == {str(mug.pk): 2}
    mug.refresh_from_db()
    assert mug.stock == 5 and Order.objects.get().status == Order.Status.CANCELLED
    # A few retries were made within the bound, not one and not a hundred.
    remaining = emulator_control(stripe_emulator.url, "faults", method="GET")["faults"][0]["remaining"]
    assert 2 <= 100 - remaining <= 6
    emulator_control(stripe_emulator.url, "faults", method="DELETE")


def test_retry_after_is_honoured_and_the_backoff_is_bounded():
    with_header = stripe.RateLimitError("slow down", http_status=429, headers={"Retry-After": "2"})
    assert rate_limit_delay(with_header, 0) == 2.0
    without = stripe.RateLimitError("slow down", http_status=429, headers={})
    delays = [rate_limit_delay(without, attempt) for attempt in range(10)]
    assert all(0 < delay <= 4.0 for delay in delays) and delays[0] <= 0.5
    assert gateway.client is not None
