"""Starting Stripe Checkout for an order, against the emulator over HTTP."""

import pytest
import stripe

from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments.exceptions import GatewayUnavailable
from payments.services import checkout_start
from tests.conftest import emulator_control
from tests.factories import ProductFactory

BILLING = BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris",
                         country="FR")


def place(product, quantity=1):
    return order_place(items=[CartItem(product.pk, quantity)], email="ada@example.com", billing=BILLING)


def sessions_at_stripe(emulator):
    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": emulator.url})
    return client.v1.checkout.sessions.list({"limit": 100}).data


@pytest.mark.django_db
def test_checkout_session_names_the_order_and_its_lines(stripe_emulator):
    product = ProductFactory(name="Blue mug", unit_amount=1250, stock=3)
    order = place(product, 2)

    url = checkout_start(order=order)

    order.refresh_from_db()
    assert url.startswith(stripe_emulator.url) and order.stripe_checkout_session_id in url
    [session] = sessions_at_stripe(stripe_emulator)
    assert session.id == order.stripe_checkout_session_id
    assert session.client_reference_id == str(order.pk)
    assert session.metadata["order_reference"] == str(order.reference)
    assert (session.amount_total, session.currency) == (2500, "eur")
    assert session.expires_at >= int(order.created_at.timestamp()) + 30 * 60
    assert "/orders/" in session.success_url and "{CHECKOUT_SESSION_ID}" in session.success_url


@pytest.mark.django_db
def test_a_failing_call_is_retried_with_the_same_idempotency_key(stripe_emulator):
    emulator_control(stripe_emulator.url, "faults",
                     {"path": "/v1/checkout/sessions", "method": "POST", "count": 1, "status": 500})
    order = place(ProductFactory(stock=3))

    checkout_start(order=order)

    assert len(sessions_at_stripe(stripe_emulator)) == 1  # the retry did not create a second one
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


@pytest.mark.django_db
@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 429}, {"delay_ms": 1500}])
def test_checkout_that_still_fails_cancels_the_order_and_releases_stock(stripe_emulator, settings, fault):
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    settings.STRIPE_RATE_LIMIT_MAX_WAIT_SECONDS = 1.0
    emulator_control(stripe_emulator.url, "faults",
                     {"path": "/v1/checkout/sessions", "method": "POST", "count": 10, **fault})
    product = ProductFactory(stock=3)
    order = place(product, 2)

    with pytest.raises(GatewayUnavailable, match="try again"):
        checkout_start(order=order)

    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert product.stock == 3
    emulator_control(stripe_emulator.url, "faults", method="DELETE")
