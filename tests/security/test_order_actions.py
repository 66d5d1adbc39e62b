"""An unpaid order's page: "Pay now" (the open Checkout Session, or a new one)
and "Cancel order" (a confirmation, then a POST). A GET never changes the order:
Stripe's cancel return shows the page with the choice; the page loaded back
from Stripe asks Stripe about the order at most once per interval."""

import pytest
import stripe
from django.urls import reverse

from orders.models import Order
from tests.conftest import emulator_control
from tests.factories import ProductFactory
from tests.shop.conftest import messages_of
from tests.shop.test_checkout import VALID, cart_of, fill_cart

pytestmark = pytest.mark.django_db


def _stripe(emulator):
    return stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": emulator.url})


@pytest.fixture
def unpaid(client, stripe_emulator):
    """A guest's order at Stripe's payment page; the cart was emptied by the checkout."""
    product = ProductFactory(name="Blue mug", stock=5)
    fill_cart(client, (product, 2))
    response = client.post(reverse("shop:checkout"), VALID)
    assert response.status_code == 303
    order = Order.objects.get()
    return order, product, response["Location"]


def test_stripes_cancel_return_changes_nothing_and_offers_the_choice(client, stripe_emulator, unpaid):
    order, product, _ = unpaid
    for _ in range(3):  # a prefetching mail client, a shared link...
        response = client.get(reverse("orders:checkout_cancelled", args=[order.reference]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    assert "Pay now" in html and "Cancel order" in html and "You left the payment page" in html
    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT and product.stock == 3
    assert _stripe(stripe_emulator).v1.checkout.sessions.retrieve(order.stripe_checkout_session_id).status == "open"


def test_cancel_order_asks_for_confirmation_then_cancels_on_post(client, stripe_emulator, unpaid):
    order, product, _ = unpaid
    page = client.get(reverse("orders:cancel", args=[order.reference]))
    assert page.status_code == 200 and "Yes, cancel the order" in page.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT  # the GET changed nothing

    response = client.post(reverse("orders:cancel", args=[order.reference]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert any("is cancelled" in m for m in messages_of(response))
    assert cart_of(client) == {str(product.pk): 2}
    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and product.stock == 5
    assert _stripe(stripe_emulator).v1.checkout.sessions.retrieve(order.stripe_checkout_session_id).status == "expired"
    # The page no longer offers either.
    html = client.get(order.get_absolute_url()).content.decode()
    assert "Pay now" not in html and 'data-role="cancel-order"' not in html


def test_pay_now_after_closing_the_browser_reuses_the_open_session(client, stripe_emulator, unpaid):
    order, _, payment_page = unpaid
    client.cookies.clear()  # the browser was closed; a guest comes back by the link
    html = client.get(order.get_absolute_url()).content.decode()
    assert "Pay now" in html and "Cancel order" in html

    response = client.post(reverse("orders:pay", args=[order.reference]))

    assert response.status_code == 303 and response["Location"] == payment_page
    assert len(_stripe(stripe_emulator).v1.checkout.sessions.list({"limit": 10}).data) == 1


def test_pay_now_opens_a_new_session_when_the_first_one_is_gone(client, stripe_emulator, unpaid):
    order, _, payment_page = unpaid
    _stripe(stripe_emulator).v1.checkout.sessions.expire(order.stripe_checkout_session_id)

    response = client.post(reverse("orders:pay", args=[order.reference]))

    order.refresh_from_db()
    assert response.status_code == 303 and response["Location"] != payment_page
    assert order.stripe_checkout_session_id in response["Location"] and order.status == Order.Status.AWAITING_PAYMENT
    session = _stripe(stripe_emulator).v1.checkout.sessions.retrieve(order.stripe_checkout_session_id)
    assert session.status == "open" and session.amount_total == order.total


def test_a_paid_or_cancelled_order_cannot_be_paid_or_cancelled_again(client, stripe_emulator, unpaid):
    order, _, _ = unpaid
    client.post(reverse("orders:cancel", args=[order.reference]))
    response = client.post(reverse("orders:pay", args=[order.reference]), follow=True)
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    assert "can no longer be paid" in response.content.decode()
    assert client.get(reverse("orders:pay", args=[order.reference])).status_code == 405


def test_another_customers_order_cannot_be_paid_or_cancelled(client, stripe_emulator, unpaid):
    from tests.factories import UserFactory

    order, _, _ = unpaid
    Order.objects.filter(pk=order.pk).update(customer=UserFactory(username="owner@example.com"))
    client.force_login(UserFactory(username="other@example.com"))
    assert client.post(reverse("orders:cancel", args=[order.reference])).status_code == 404
    assert client.post(reverse("orders:pay", args=[order.reference])).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT


def test_the_status_page_asks_stripe_about_an_order_once_per_interval(client, stripe_emulator, unpaid):
    order, _, _ = unpaid
    # A harmless fault counts the Stripe calls that read this session.
    emulator_control(stripe_emulator.url, "faults", {
        "path": f"/v1/checkout/sessions/{order.stripe_checkout_session_id}*", "method": "GET", "count": 100,
        "delay_ms": 1,
    })
    client.cookies.clear()
    for _ in range(20):
        response = client.get(order.get_absolute_url(), {"session_id": "x"})
        assert response.status_code == 200
    [fault] = emulator_control(stripe_emulator.url, "faults", method="GET")["faults"]
    assert 100 - fault["remaining"] == 1
    emulator_control(stripe_emulator.url, "faults", method="DELETE")


def test_a_signed_link_lets_its_browser_pay_or_cancel_a_customers_order(client, stripe_emulator, unpaid):
    """The link e-mailed by "find my order" opens a signed-in customer's order
    in a browser without a session: its "Pay now" and "Cancel order" work
    there too, and only for that order."""
    from core.signed_links import signed_path
    from tests.factories import UserFactory

    order, _, payment_page = unpaid
    Order.objects.filter(pk=order.pk).update(customer=UserFactory(username="owner@example.com"))
    client.cookies.clear()
    assert client.post(reverse("orders:pay", args=[order.reference])).status_code == 404

    page = client.get(signed_path(order.get_absolute_url()))
    assert page.status_code == 200 and "Pay now" in page.content.decode()
    response = client.post(reverse("orders:pay", args=[order.reference]))
    assert response.status_code == 303 and response["Location"] == payment_page

    confirm = client.get(reverse("orders:cancel", args=[order.reference]))
    assert confirm.status_code == 200
    client.post(reverse("orders:cancel", args=[order.reference]))
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
