from decimal import Decimal

import pytest
from django.urls import reverse

from shop.cart import SESSION_KEY
from tests.factories import ProductFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db


def add(client, product, quantity="1", **extra):
    return client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": quantity, **extra}, follow=True)


def cart_of(client) -> dict:
    return dict(client.session.get(SESSION_KEY, {}))


def test_add_to_cart_shows_lines_totals_and_vat_per_rate(client, mug, coffee):
    add(client, mug, "2")
    response = add(client, coffee, "3")
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert "Added 3 × Coffee beans to your cart." in messages_of(response)
    cart = response.context["cart"]
    assert cart.total == 2 * 1600 + 3 * 1290 == 7070
    assert cart.count == 5
    breakdown = {vat.rate: vat for vat in cart.vat_breakdown}
    # VAT-included prices: VAT = gross x rate / (100 + rate), half-up per rate.
    assert breakdown[Decimal("20.00")].gross == 3200
    assert breakdown[Decimal("20.00")].vat == 533  # 533.33
    assert breakdown[Decimal("5.50")].gross == 3870
    assert breakdown[Decimal("5.50")].vat == 202  # 201.75 -> 202
    html = response.content.decode()
    assert "€70.70" in html  # total
    assert "€32.00" in html and "€38.70" in html  # line totals
    assert "incl. VAT 20%" in html and "€5.33" in html
    assert "incl. VAT 5.5%" in html and "€2.02" in html
    assert 'data-testid="cart-count" aria-label="5 items in cart">5<' in html


def test_adding_twice_accumulates(client, mug):
    add(client, mug, "1")
    add(client, mug, "2")
    assert cart_of(client) == {str(mug.pk): 3}


def test_update_quantity_and_remove(client, mug, coffee):
    add(client, mug, "1")
    add(client, coffee, "1")
    response = client.post(reverse("shop:cart_update"), {"product_id": mug.pk, "quantity": "4"}, follow=True)
    assert "Your cart has been updated." in messages_of(response)
    assert response.context["cart"].total == 4 * 1600 + 1290
    response = client.post(reverse("shop:cart_remove"), {"product_id": coffee.pk}, follow=True)
    assert cart_of(client) == {str(mug.pk): 4}
    assert response.context["cart"].total == 6400
    assert "Coffee beans" not in response.content.decode().split("<main")[1]


def test_empty_cart_page(client):
    response = client.get(reverse("shop:cart"))
    assert "Your cart is empty." in response.content.decode()


@pytest.mark.parametrize(
    "quantity, message",
    [
        ("0", "Quantity must be at least 1."),
        ("-2", "Quantity must be at least 1."),
        ("abc", "Quantity must be a whole number."),
        ("1.5", "Quantity must be a whole number."),
        ("", "Quantity must be a whole number."),
        ("6", "Only 5 of “Stoneware mug” left in stock."),  # stock is 5
        ("100", "You can order at most 99 of one product."),
    ],
)
def test_bad_quantity_on_add_gives_message_and_changes_nothing(client, mug, coffee, quantity, message):
    add(client, coffee, "2")
    before = cart_of(client)
    response = add(client, mug, quantity)
    assert any(message in m for m in messages_of(response)), messages_of(response)
    assert cart_of(client) == before
    # Shown on the page the customer lands on (the product page).
    assert message.replace("“", "&ldquo;") in response.content.decode() or message in response.content.decode()


def test_adding_beyond_stock_counts_what_is_already_in_cart(client, mug):
    add(client, mug, "4")
    response = add(client, mug, "2")
    assert any("Only 5 of" in m and "You already have 4 in your cart." in m for m in messages_of(response))
    assert cart_of(client) == {str(mug.pk): 4}


def test_above_99_even_with_big_stock(client):
    big = ProductFactory(stock=500)
    add(client, big, "90")
    response = add(client, big, "10")
    assert any("at most 99" in m for m in messages_of(response))
    assert cart_of(client) == {str(big.pk): 90}


@pytest.mark.parametrize(
    "quantity, message",
    [
        ("0", "Quantity must be at least 1."),
        ("-1", "Quantity must be at least 1."),
        ("two", "Quantity must be a whole number."),
        ("6", "Only 5 of “Stoneware mug” left in stock."),
        ("100", "You can order at most 99 of one product."),
    ],
)
def test_bad_quantity_on_update_gives_message_and_changes_nothing(client, mug, quantity, message):
    add(client, mug, "2")
    response = client.post(reverse("shop:cart_update"), {"product_id": mug.pk, "quantity": quantity}, follow=True)
    assert message in messages_of(response)
    assert cart_of(client) == {str(mug.pk): 2}
    assert response.context["cart"].total == 3200
    assert response.redirect_chain[-1][0] == reverse("shop:cart")


def test_out_of_stock_or_inactive_or_unknown_product_cannot_be_added(client):
    gone = ProductFactory(stock=0, name="Gone tea")
    retired = ProductFactory(active=False)
    response = add(client, gone, "1")
    assert "“Gone tea” is out of stock." in messages_of(response)
    response = add(client, retired, "1")
    assert "This product is not available." in messages_of(response)
    response = client.post(reverse("shop:cart_add"), {"product_id": "999999", "quantity": "1"}, follow=True)
    assert "This product is not available." in messages_of(response)
    response = client.post(reverse("shop:cart_add"), {"product_id": "x", "quantity": "1"}, follow=True)
    assert "This product is not available." in messages_of(response)
    assert cart_of(client) == {}


def test_update_of_product_not_in_cart_changes_nothing(client, mug, coffee):
    add(client, mug, "1")
    response = client.post(reverse("shop:cart_update"), {"product_id": coffee.pk, "quantity": "3"}, follow=True)
    assert "This product is not in your cart." in messages_of(response)
    assert cart_of(client) == {str(mug.pk): 1}


def test_client_sent_price_and_total_are_ignored(client, mug):
    add(client, mug, "2", price="1", unit_amount="1", total="1", line_total="1")
    assert cart_of(client) == {str(mug.pk): 2}  # ids and quantities only, never a price
    response = client.post(
        reverse("shop:cart_update"), {"product_id": mug.pk, "quantity": "3", "price": "0.01", "total": "0"}, follow=True
    )
    assert response.context["cart"].total == 3 * 1600
    assert "€48.00" in response.content.decode()


def test_prices_come_from_database_at_display_time(client, mug):
    add(client, mug, "1")
    mug.unit_amount = 1800
    mug.save()
    response = client.get(reverse("shop:cart"))
    assert response.context["cart"].total == 1800


def test_product_withdrawn_after_adding_drops_out_of_cart(client, mug, coffee):
    add(client, mug, "1")
    add(client, coffee, "1")
    mug.active = False
    mug.save()
    response = client.get(reverse("shop:cart"))
    assert [line.product for line in response.context["lines"]] == [coffee]
    assert cart_of(client) == {str(coffee.pk): 1}


def test_tampered_session_values_are_ignored(client, mug):
    session = client.session
    session[SESSION_KEY] = {str(mug.pk): 2, "evil": 5, "7": -3, "8": "10"}
    session.save()
    response = client.get(reverse("shop:cart"))
    assert response.context["cart"].count == 2
    assert response.context["cart"].total == 3200


def test_cart_routes_are_post_only(client, mug):
    assert client.get(reverse("shop:cart_add"), {"product_id": mug.pk, "quantity": 1}).status_code == 405
    assert client.get(reverse("shop:cart_update")).status_code == 405
    assert client.get(reverse("shop:cart_remove")).status_code == 405
    assert cart_of(client) == {}


def test_a_cart_holds_one_currency(client, mug, settings):
    settings.SHOP_CURRENCIES = ["eur", "usd"]
    dollars = ProductFactory(name="Desk lamp", unit_amount=4500, currency="usd", stock=3)
    client.post(reverse("shop:cart_add"), {"product_id": mug.pk, "quantity": 1})
    response = client.post(reverse("shop:cart_add"), {"product_id": dollars.pk, "quantity": 1}, follow=True)
    assert "Your cart is in EUR and “Desk lamp” is sold in USD" in response.content.decode()
    assert cart_of(client) == {str(mug.pk): 1}
    page = client.get(reverse("shop:cart")).content.decode()
    assert "€16.00" in page and "USD" not in page
