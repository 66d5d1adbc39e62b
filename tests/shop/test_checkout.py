"""Checkout: the form, the order it places and where the customer goes next.

No fake checkout_start here: the gateway paths use the real payments code,
against the emulator (happy path) or an address where nothing listens
(Stripe unavailable)."""

import socket

import pytest
from django.urls import reverse

from orders.models import Order
from shop.cart import SESSION_KEY
from tests.factories import UserFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

VALID = {
    "email": "guest@example.com",
    "billing_name": "Camille Martin",
    "billing_company": "",
    "billing_line1": "3 place du Marché",
    "billing_postal_code": "69002",
    "billing_city": "Lyon",
    "billing_country": "FR",
    "vat_id": "",
}


def fill_cart(client, *pairs):
    for product, quantity in pairs:
        client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": quantity})


def cart_of(client) -> dict:
    return dict(client.session.get(SESSION_KEY, {}))


@pytest.fixture
def stripe_down(settings):
    """Point the SDK at a loopback port where nothing listens, with no retries."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{port}"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_SECONDS = 2.0
    return settings.STRIPE_API_BASE


def test_checkout_with_empty_cart_goes_back_to_cart(client):
    response = client.get(reverse("shop:checkout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert "Your cart is empty: add a product before checking out." in messages_of(response)
    response = client.post(reverse("shop:checkout"), VALID, follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert Order.objects.count() == 0


def test_checkout_form_for_guest(client, mug, coffee):
    fill_cart(client, (mug, 2), (coffee, 1))
    response = client.get(reverse("shop:checkout"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Sign in" in html and "continue as a guest" in html
    assert '<option value="FR" selected>France</option>' in html
    for code in ("DE", "IT", "ES", "GB", "US", "CH"):
        assert f'<option value="{code}"' in html
    # The order summary, priced from the database.
    assert "2 × Stoneware mug" in html and "€32.00" in html
    assert "1 × Coffee beans" in html and "€12.90" in html
    assert "€44.90" in html
    assert 'name="email"' in html and "readonly" not in html.split('name="email"')[1].split(">")[0]


def test_checkout_email_prefilled_and_read_only_when_signed_in(client, mug):
    user = UserFactory(username="ana@example.com", email="ana@example.com")
    client.force_login(user)
    fill_cart(client, (mug, 1))
    html = client.get(reverse("shop:checkout")).content.decode()
    email_input = html.split('name="email"')[1].split(">")[0]
    assert 'value="ana@example.com"' in email_input
    assert "readonly" in email_input and "disabled" in email_input
    assert "continue as a guest" not in html


@pytest.mark.parametrize(
    "changes, field, error",
    [
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"billing_name": ""}, "billing_name", "This field is required."),
        ({"billing_line1": ""}, "billing_line1", "This field is required."),
        ({"billing_postal_code": ""}, "billing_postal_code", "This field is required."),
        ({"billing_postal_code": "75@01"}, "billing_postal_code", "Enter a valid postal code."),
        ({"billing_city": ""}, "billing_city", "This field is required."),
        ({"billing_country": "XX"}, "billing_country", "Select a valid choice."),
        ({"billing_country": ""}, "billing_country", "This field is required."),
        ({"vat_id": "12345"}, "vat_id", "2-letter country code followed by 2 to 13 letters or digits"),
        ({"vat_id": "FR1"}, "vat_id", "2-letter country code"),
        ({"vat_id": "FR12345678901234"}, "vat_id", "2-letter country code"),
        # An EU member state's id with wrong check digits (python-stdnum): a typo.
        ({"vat_id": "DE123456789"}, "vat_id", "This VAT id is not valid"),
    ],
)
def test_checkout_form_errors_place_no_order(client, mug, changes, field, error):
    fill_cart(client, (mug, 2))
    response = client.post(reverse("shop:checkout"), {**VALID, **changes})
    assert response.status_code == 200
    assert any(error in e for e in response.context["form"].errors[field])
    page = response.content.decode()
    assert error.split("“")[0] in page
    assert "Please check the fields marked below." in page
    assert Order.objects.count() == 0
    mug.refresh_from_db()
    assert mug.stock == 5
    assert cart_of(client) == {str(mug.pk): 2}


def test_vat_id_is_normalised():
    from shop.forms import CheckoutForm

    form = CheckoutForm({**VALID, "vat_id": "fr 40 123.456.824"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["vat_id"] == "FR40123456824"
    assert form.billing_details().vat_id == "FR40123456824"


def test_out_of_stock_at_checkout_goes_back_to_cart_and_writes_nothing(client, mug, coffee):
    fill_cart(client, (coffee, 2), (mug, 2))
    # Someone else bought the last mugs in the meantime.
    mug.stock = 0
    mug.save()
    response = client.post(reverse("shop:checkout"), VALID, follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert "“Stoneware mug” is out of stock." in messages_of(response)
    assert Order.objects.count() == 0
    coffee.refresh_from_db()
    assert coffee.stock == 40  # the coffee reserved first was rolled back
    assert cart_of(client) == {str(coffee.pk): 2, str(mug.pk): 2}


def test_fewer_left_at_checkout_says_how_many(client, mug):
    fill_cart(client, (mug, 3))
    mug.stock = 2
    mug.save()
    response = client.post(reverse("shop:checkout"), VALID, follow=True)
    assert "Only 2 of “Stoneware mug” left in stock." in messages_of(response)
    assert Order.objects.count() == 0


def test_payment_service_down_cancels_order_and_keeps_cart(client, mug, stripe_down):
    fill_cart(client, (mug, 2))
    response = client.post(reverse("shop:checkout"), {**VALID, "price": "1", "total": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert any("unavailable" in m for m in messages_of(response)), messages_of(response)
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELLED
    assert order.total == 3200  # from the database, not the posted fields
    mug.refresh_from_db()
    assert mug.stock == 5  # released
    assert cart_of(client) == {str(mug.pk): 2}
    assert "Stoneware mug" in response.content.decode()


def test_signed_in_order_uses_account_email_and_customer(client, mug, stripe_down):
    user = UserFactory(username="ana@example.com", email="ana@example.com")
    client.force_login(user)
    fill_cart(client, (mug, 1))
    data = {**VALID, "email": "someone-else@example.com", "vat_id": "de 136 695 976"}
    page = client.post(reverse("shop:checkout"), data)
    # A German id at a French address does not exempt the sale: the customer reads why, then confirms.
    assert "not a VAT id of the billing country" in page.content.decode()
    client.post(reverse("shop:checkout"), {**data, "quote": page.context["summary"].key})
    order = Order.objects.get()
    assert order.vat_id_status == "mismatch"
    assert order.email == "ana@example.com"
    assert order.customer == user
    assert order.vat_id == "DE136695976"
    assert (order.billing_name, order.billing_city, order.billing_country) == ("Camille Martin", "Lyon", "FR")


def test_checkout_redirects_to_stripe_checkout(client, mug, coffee, stripe_emulator):
    emulator = stripe_emulator
    fill_cart(client, (mug, 2), (coffee, 1))
    response = client.post(reverse("shop:checkout"), {**VALID, "price": "1", "total": "1"})
    assert response.status_code == 303
    order = Order.objects.get()
    assert response["Location"].startswith(emulator.url)
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.total == 2 * 1600 + 1290
    assert order.email == "guest@example.com"
    assert order.customer is None
    assert order.stripe_checkout_session_id
    assert sorted((line.name, line.quantity, line.unit_amount) for line in order.lines.all()) == [
        ("Coffee beans", 1, 1290), ("Stoneware mug", 2, 1600)
    ]
    mug.refresh_from_db()
    coffee.refresh_from_db()
    assert (mug.stock, coffee.stock) == (3, 39)
    assert cart_of(client) == {}
    # The hosted payment page is really there.
    import urllib.request

    with urllib.request.urlopen(response["Location"], timeout=10) as page:
        assert page.status == 200


def test_cancel_on_payment_page_puts_items_back_in_cart(client, mug, coffee, stripe_emulator):
    fill_cart(client, (mug, 2), (coffee, 1))
    response = client.post(reverse("shop:checkout"), VALID)
    assert response.status_code == 303
    order = Order.objects.get()
    assert cart_of(client) == {}
    response = client.get(reverse("orders:checkout_cancelled", args=[order.reference]), follow=True)
    assert response.redirect_chain[-1][0] == order.get_absolute_url()  # the choice: pay now or cancel
    response = client.post(reverse("orders:cancel", args=[order.reference]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert f"Order {order.number} is cancelled; nothing was charged. Your cart is as you left it." in messages_of(response)
    assert cart_of(client) == {str(mug.pk): 2, str(coffee.pk): 1}
    assert response.context["cart"].total == 2 * 1600 + 1290
    order.refresh_from_db()
    mug.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and mug.stock == 5


def test_a_returning_customer_finds_the_last_billing_address(client, mug):
    from tests.factories import OrderFactory

    customer = UserFactory()
    OrderFactory(customer=customer, email=customer.email, billing_name="Old Name", billing_city="Nantes")
    OrderFactory(customer=customer, email=customer.email, billing_name="Camille Martin", billing_company="ACME",
                 billing_line1="3 place du Marché", billing_postal_code="69002", billing_city="Lyon",
                 billing_country="BE", vat_id="BE0123456749")
    client.force_login(customer)
    fill_cart(client, (mug, 1))
    form = client.get(reverse("shop:checkout")).context["form"]
    assert {name: form[name].value() for name in ("billing_name", "billing_company", "billing_line1",
                                                  "billing_postal_code", "billing_city", "billing_country",
                                                  "vat_id")} == {
        "billing_name": "Camille Martin", "billing_company": "ACME", "billing_line1": "3 place du Marché",
        "billing_postal_code": "69002", "billing_city": "Lyon", "billing_country": "BE", "vat_id": "BE0123456749"}
    # A first order starts empty.
    client.force_login(UserFactory())
    fill_cart(client, (mug, 1))
    assert client.get(reverse("shop:checkout")).context["form"]["billing_line1"].value() in (None, "")


def test_lines_short_of_stock_are_flagged_in_the_cart_before_the_form(client, mug, coffee):
    fill_cart(client, (mug, 3), (coffee, 2))
    mug.stock = 1
    mug.save(update_fields=["stock"])
    cart = client.get(reverse("shop:cart")).content.decode()
    assert "Only 1 left: lower the quantity to check out." in cart
    assert 'href="/checkout/"' not in cart
    response = client.get(reverse("shop:checkout"))
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart")
    assert messages_of(client.get(reverse("shop:cart"))) == [
        "Not enough stock for “Stoneware mug”: change your cart to check out."]

    mug.stock = 0
    mug.save(update_fields=["stock"])
    assert "Out of stock: remove it to check out." in client.get(reverse("shop:cart")).content.decode()
    client.post(reverse("shop:cart_remove"), {"product_id": mug.pk})
    assert client.get(reverse("shop:checkout")).status_code == 200


def test_a_sold_out_product_is_refused_before_any_lock_or_write(client, mug):
    # A rush on the last units is mostly refusals: each costs reads only.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fill_cart(client, (mug, 1))
    mug.stock = 0
    mug.save()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("shop:checkout"), VALID)
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart")
    assert "“Stoneware mug” is out of stock." in messages_of(client.get(reverse("shop:cart")))
    written = [q["sql"] for q in queries.captured_queries
               if q["sql"].split()[0].upper() in ("UPDATE", "INSERT", "DELETE", "SAVEPOINT") or "FOR UPDATE" in q["sql"]]
    assert written == [] and Order.objects.count() == 0


def test_a_product_withdrawn_after_the_checkout_page_is_refused_and_nothing_is_written(client, mug, coffee):
    fill_cart(client, (mug, 1), (coffee, 1))
    assert client.get(reverse("shop:checkout")).status_code == 200
    mug.active = False
    mug.save(update_fields=["active"])
    response = client.post(reverse("shop:checkout"), VALID)
    assert response.status_code == 302 and response["Location"] == reverse("shop:cart")
    cart = client.get(reverse("shop:cart"))
    assert "A product in your cart is no longer sold; please review your cart." in messages_of(cart)
    assert "Coffee beans" in cart.content.decode() and "Stoneware mug" not in cart.content.decode()
    coffee.refresh_from_db()
    assert Order.objects.count() == 0 and coffee.stock == 40
