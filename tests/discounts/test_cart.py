"""A discount code in the cart: applied whatever its case and spaces, refused
with a clear message (unknown, expired, inactive, used up, minimum not met,
another currency, first order only), shown with the VAT on the discounted
amounts before paying."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from payments.discount_codes import discount_code_deactivate
from tests.factories import OrderFactory
from tests.shop.conftest import messages_of

pytestmark = pytest.mark.django_db


def fill_cart(client, *pairs):
    for product, quantity in pairs:
        client.post(reverse("shop:cart_add"), {"product_id": product.pk, "quantity": quantity})


def apply(client, code):
    return client.post(reverse("shop:cart_discount"), {"code": code}, follow=True)


def test_a_code_in_another_case_with_spaces_is_applied_and_the_vat_recomputed(client, make_code, mug, coffee):
    make_code("SPRING10", percent_off="10")
    fill_cart(client, (mug, 2), (coffee, 1))
    response = apply(client, "  spring10 ")
    assert "Code SPRING10 (10% off) applied." in messages_of(response)
    page = response.content.decode()
    summary = response.context["summary"]
    # 10 % of each line, half up: 3.20 off 32.00 and 1.29 off 12.90.
    assert (summary.subtotal, summary.discount_total, summary.total) == (4490, 449, 4041)
    # VAT on the discounted amounts: 28.80 at 20 % (4.80) and 11.61 at 5.5 % (0.61).
    assert [(row.rate, row.gross, row.tax) for row in summary.vat_breakdown] == [
        (Decimal("20.00"), 2880, 480), (Decimal("5.50"), 1161, 61)]
    assert summary.vat_total == 541
    assert 'data-testid="discount">−€4.49<' in page
    assert 'data-testid="cart-total">€40.41<' in page
    assert 'data-testid="vat-total">€5.41<' in page
    assert 'data-testid="discount-code">SPRING10<' in page


def test_the_code_can_be_removed(client, make_code, mug):
    make_code("SPRING10")
    fill_cart(client, (mug, 1))
    apply(client, "spring10")
    response = client.post(reverse("shop:cart_discount"), {"remove": "1"}, follow=True)
    assert "The code “SPRING10” was removed." in messages_of(response)
    assert response.context["summary"].total == 1600


@pytest.mark.parametrize("typed, message", [
    ("NOPE", "“NOPE” is not a valid discount code."),
    ("   ", "Enter a discount code."),
    ("<script>", "“<script>” is not a valid discount code."),
])
def test_unknown_or_empty_codes_are_refused(client, make_code, mug, typed, message):
    make_code("SPRING10")
    fill_cart(client, (mug, 1))
    response = apply(client, typed)
    assert message in messages_of(response)
    assert response.context["summary"].total == 1600
    assert "&lt;script&gt;" in response.content.decode() or typed != "<script>"


def test_a_code_for_another_currency_is_refused(client, make_code, mug):
    make_code("FIVEUSD", amount_off=500, currency="usd")
    fill_cart(client, (mug, 1))
    response = apply(client, "fiveusd")
    assert "The code “FIVEUSD” is for orders in USD, and your cart is in EUR." in messages_of(response)


def test_a_minimum_not_met_says_how_much(client, make_code, mug):
    make_code("BIG50", percent_off="15", minimum_amount=5000)
    fill_cart(client, (mug, 2))
    response = apply(client, "big50")
    assert "The code “BIG50” needs an order of at least €50.00 (your cart: €32.00)." in messages_of(response)
    fill_cart(client, (mug, 2))  # 4 mugs: 64.00
    response = apply(client, "big50")
    assert "Code BIG50 (15% off) applied." in messages_of(response)


def test_an_expired_code_is_refused(client, make_code, mug):
    make_code("SOON", expires_at=timezone.now() + timedelta(seconds=2))
    fill_cart(client, (mug, 1))
    time.sleep(2.2)
    response = apply(client, "soon")
    assert "The code “SOON” has expired." in messages_of(response)


def test_a_deactivated_code_is_refused_and_dropped_from_the_cart(client, make_code, mug):
    promo = make_code("GONE")
    fill_cart(client, (mug, 1))
    assert "Code GONE (10% off) applied." in messages_of(apply(client, "gone"))
    discount_code_deactivate(promotion_code_id=promo.id)
    response = client.get(reverse("shop:cart"))
    assert "The code “GONE” is no longer valid. The code was removed from your cart." in messages_of(response)
    assert response.context["summary"].total == 1600
    assert "The code “GONE” is no longer valid." in messages_of(apply(client, "gone"))


def test_a_used_up_code_is_refused(client, make_code, mug):
    make_code("ONCE", max_redemptions=1)
    OrderFactory(status=Order.Status.PAID, stripe_promotion_code_id=_promo_id("ONCE"), discount_code="ONCE")
    fill_cart(client, (mug, 1))
    response = apply(client, "once")
    assert "The code “ONCE” has been used the maximum number of times." in messages_of(response)


def test_a_first_order_code_is_refused_to_a_returning_customer(client, make_code, mug, django_user_model):
    make_code("WELCOME", first_order_only=True)
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-Secret-123")
    OrderFactory(status=Order.Status.PAID, customer=user, email="ada@example.com")
    client.force_login(user)
    fill_cart(client, (mug, 1))
    assert "The code “WELCOME” is for a first order only." in messages_of(apply(client, "welcome"))
    client.logout()
    fill_cart(client, (mug, 1))
    assert "Code WELCOME (10% off) applied." in messages_of(apply(client, "welcome"))


def test_an_amount_off_larger_than_the_cart_takes_it_to_zero_never_below(client, make_code, mug):
    make_code("HUNDRED", amount_off=10000)
    fill_cart(client, (mug, 1))
    summary = apply(client, "hundred").context["summary"]
    assert (summary.discount_total, summary.total, summary.vat_total) == (1600, 0, 0)
    assert [line.total for line in summary.lines] == [0]


def _promo_id(code):
    from djstripe.models import PromotionCode

    return PromotionCode.objects.get(stripe_data__code=code).id
