"""VAT by place of supply, through the paths production takes: the checkout
page shows the VAT for the billing address before paying, Stripe charges
exactly the order's total, and the invoice carries the same rates,
categories and mentions. VAT ids are checked against a local VIES."""

import re
import socket
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from orders.documents import order_documents_issue
from orders.models import Order
from payments import gateway
from payments.services import order_reconcile
from tests.factories import ProductFactory, TaxRateFactory
from tests.payments.helpers import pay_session, session_id_of
from tests.vies_server import REGISTERED

from .conftest import messages_of

pytestmark = pytest.mark.django_db

ADDRESSES = {
    "FR": {"billing_line1": "3 place du Marché", "billing_postal_code": "69002", "billing_city": "Lyon"},
    "DE": {"billing_line1": "Hauptstrasse 1", "billing_postal_code": "10115", "billing_city": "Berlin"},
    "US": {"billing_line1": "1 Navy Way", "billing_postal_code": "10001", "billing_city": "New York"},
}
NOT_REGISTERED = "DE129273398"  # well formed, but VIES does not know it
ART_138 = "Article 138"
ART_196 = "Article 196"
ART_146 = "Article 146"


@pytest.fixture
def catalogue(db):
    standard = TaxRateFactory(name="Standard rate", rate=Decimal("20.00"), category="standard")
    food = TaxRateFactory(name="Reduced rate (food)", rate=Decimal("5.50"), category="food")
    return {
        "mug": ProductFactory(name="Stoneware mug", sku="MUG-1", unit_amount=1600, stock=20, tax_rate=standard),
        "coffee": ProductFactory(name="Coffee beans", sku="COF-1", unit_amount=1290, stock=20, tax_rate=food),
        "workshop": ProductFactory(name="Brewing workshop (online)", sku="WS-1", unit_amount=3000, stock=20,
                                   tax_rate=standard, supply="services"),
    }


def checkout(client, catalogue, items, country, vat_id="", company=""):
    """Fill the cart, open Checkout, submit the address; confirm the new
    amounts when the page shows them. Returns (the page that showed the
    amounts, the 303 to Stripe)."""
    for key, quantity in items:
        client.post(reverse("shop:cart_add"), {"product_id": catalogue[key].pk, "quantity": quantity})
    page = client.get(reverse("shop:checkout"))
    data = {"email": "buyer@example.com", "billing_name": "Max Muster", "billing_company": company,
            "billing_country": country, "vat_id": vat_id, **ADDRESSES[country],
            "quote": page.context["summary"].key}
    response = client.post(reverse("shop:checkout"), data)
    if response.status_code == 200:
        page = response
        assert not Order.objects.exists()  # nothing placed before the customer saw the amounts
        response = client.post(reverse("shop:checkout"), {**data, "quote": page.context["summary"].key})
    assert response.status_code == 303, messages_of(response)
    return page, response


CASES = [
    # id, items, country, vat id, OSS, total, (rate, category) rows, mentions, notice
    ("FR consumer", [("mug", 2), ("coffee", 1)], "FR", "", True, 4490,
     {("20.00", "S"), ("5.50", "S")}, [], ""),
    # 1600 at 20 % is 1333 net; + 19 % = 1586. 1290 at 5.5 % is 1223 net; + 7 % = 1309.
    ("DE consumer, One-Stop-Shop", [("mug", 2), ("coffee", 1)], "DE", "", True, 2 * 1586 + 1309,
     {("19.00", "S"), ("7.00", "S")}, [], ""),
    ("DE consumer under the threshold", [("mug", 2), ("coffee", 1)], "DE", "", False, 4490,
     {("20.00", "S"), ("5.50", "S")}, [], ""),
    ("US consumer, export", [("mug", 2), ("coffee", 1)], "US", "", True, 2 * 1333 + 1223,
     {("0.00", "G")}, [ART_146], ""),
    ("DE business, goods and services", [("mug", 2), ("workshop", 1)], "DE", REGISTERED, True, 2 * 1333 + 2500,
     {("0.00", "K"), ("0.00", "AE")}, [ART_138, ART_196], ""),
    ("DE id VIES does not know", [("mug", 2)], "DE", NOT_REGISTERED, True, 2 * 1586,
     {("19.00", "S")}, [], "not registered"),
    ("VIES down", [("mug", 2)], "DE", REGISTERED, True, 2 * 1586,
     {("19.00", "S")}, [], "could not be reached"),
]


@pytest.mark.parametrize("case, items, country, vat_id, oss, total, rows, mentions, notice", CASES,
                         ids=[c[0] for c in CASES])
def test_vat_by_place_of_supply_from_checkout_to_invoice(
    client, settings, catalogue, vies, stripe_emulator, case, items, country, vat_id, oss, total, rows, mentions,
    notice,
):
    settings.SHOP_VAT_OSS = oss
    if case == "VIES down":
        vies.down = True
    page, response = checkout(client, catalogue, items, country, vat_id=vat_id, company="Muster GmbH" if vat_id else "")

    # Before paying, the page showed the total and the VAT treatment.
    html = page.content.decode()
    summary = page.context["summary"]
    assert summary.total == total
    assert re.search(r'data-testid="cart-total">[^<]*' + re.escape(f"{total / 100:.2f}"), html), html
    for mention in mentions:
        assert mention in html
    if notice:
        assert notice in html and "VAT is charged" in html

    # Stripe charges exactly the order's total.
    order = Order.objects.get()
    assert order.total == total
    session = gateway.checkout_session_retrieve(session_id_of(response["Location"]))
    assert session.amount_total == total
    # The VAT id check is kept with the order, with its date.
    if vat_id:
        expected = {"VIES down": "unavailable", "DE id VIES does not know": "invalid"}.get(case, "valid")
        assert order.vat_id_status == expected and order.vat_id_checked_at is not None

    pay_session(stripe_emulator.url, session.id)
    order = order_reconcile(order_id=order.pk)
    assert order.status == Order.Status.PAID
    invoice, _ = order_documents_issue(order_id=order.pk)
    snap = invoice.snapshot
    assert invoice.total_gross == total
    assert {(row["rate"], row["category"]) for row in snap["vat_breakdown"]} == rows
    for mention in mentions:
        assert any(mention in m for m in snap["legal_mentions"])
    if not mentions:
        assert not any("Article" in m for m in snap["legal_mentions"])
    assert sum(line["net"] for line in snap["lines"]) == invoice.total_net


def test_private_person_with_a_checksum_valid_id_of_another_state_pays_vat(client, catalogue, vies, stripe_emulator):
    # A Belgian id at a German address is not the buyer's: VAT is charged, and no VIES call is made.
    page, _ = checkout(client, catalogue, [("mug", 1)], "DE", vat_id="BE0403170701")
    order = Order.objects.get()
    assert order.vat_id_status == "mismatch"
    assert [line.vat_category for line in order.lines.all()] == ["S"]
    assert "not a VAT id of the billing country" in page.content.decode()
    assert vies.requests == []


def test_services_and_goods_outside_the_eu_are_refused_together(client, catalogue, vies):
    for key in ("mug", "workshop"):
        client.post(reverse("shop:cart_add"), {"product_id": catalogue[key].pk, "quantity": 1})
    data = {"email": "grace@example.com", "billing_name": "Grace Hopper", "billing_country": "US",
            **ADDRESSES["US"]}
    response = client.post(reverse("shop:checkout"), data, follow=True)
    assert "invoiced separately" in " ".join(messages_of(response))
    assert not Order.objects.exists()


def test_vies_is_off_without_a_url(settings):
    from billing.vies import vat_id_check

    settings.VIES_URL = ""
    cache.clear()
    check = vat_id_check(vat_id=REGISTERED, buyer_country="DE")
    assert check.status == "unavailable" and not check.verified


def test_vies_down_on_a_closed_port(settings):
    from billing.vies import vat_id_check

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.VIES_URL = f"http://127.0.0.1:{port}/check-vat-number"
    cache.clear()
    assert vat_id_check(vat_id=REGISTERED, buyer_country="DE").status == "unavailable"
