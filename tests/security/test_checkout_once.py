"""One checkout per cart at a time: two simultaneous POSTs of the same cart
(a double click, two tabs) place one order; the second request gets the first
order's payment page. Real threads, real database (CI: PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from orders.models import Order
from tests.factories import ProductFactory
from tests.shop.test_checkout import VALID, fill_cart


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_checkouts_of_one_cart_place_one_order(stripe_emulator):
    product = ProductFactory(name="Blue mug", stock=5)
    first = Client()
    fill_cart(first, (product, 2))
    second = Client()
    second.cookies = first.cookies  # the same browser: the same session, the same cart
    start = threading.Barrier(2)
    responses = {}

    def checkout(name, client):
        try:
            start.wait(timeout=10)
            responses[name] = client.post(reverse("shop:checkout"), VALID)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(name, client))
               for name, client in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    order = Order.objects.get()  # one order, not two
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert [responses[name].status_code for name in ("first", "second")] == [303, 303]
    assert responses["first"]["Location"] == responses["second"]["Location"] == order.checkout_url
    product.refresh_from_db()
    assert product.stock == 3  # held once


@pytest.mark.django_db
def test_the_same_cart_posted_again_later_goes_to_its_order_not_a_new_one(client, stripe_emulator):
    product = ProductFactory(name="Blue mug", stock=5)
    fill_cart(client, (product, 2))
    stale_session = client.cookies["sessionid"].value
    first = client.post(reverse("shop:checkout"), VALID)
    assert first.status_code == 303
    # The browser's back button and "resend": the form is posted again.
    client.cookies["sessionid"] = stale_session
    again = client.post(reverse("shop:checkout"), VALID)
    assert again.status_code == 302 and again["Location"] == reverse("shop:cart")  # the cart is empty now
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_new_cart_after_a_checkout_is_checked_out_on_its_own(client, stripe_emulator):
    product = ProductFactory(name="Blue mug", stock=5)
    fill_cart(client, (product, 1))
    client.post(reverse("shop:checkout"), VALID)
    fill_cart(client, (product, 1))
    assert client.post(reverse("shop:checkout"), VALID).status_code == 303
    assert Order.objects.count() == 2
