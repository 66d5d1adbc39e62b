"""Staff read money as money in the order admin: totals, unit prices and line
totals with their currency, VAT rates as percentages."""

import re

import pytest
from django.urls import reverse

from tests.billing.factories import PaidOrderFactory, product
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_order_list_and_page_show_money_as_money(staff_client):
    mug = product(name="Blue mug", unit_amount=1290, rate="20")
    book = product(name="Django book", unit_amount=1055, rate="5.5")
    order = PaidOrderFactory(lines=[(mug, 2), (book, 1)])

    listing = staff_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "€36.35" in listing and "3635" not in listing

    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "€12.90" in page and "€25.80" in page and "€10.55" in page  # unit prices and a line total
    assert "5.5%" in page and "20%" in page
    assert "Succeeded" in page and "€36.35" in page  # the payment
    assert not re.search(r"\b1290\b|\d eur\b", page)  # no raw minor units, no bare currency code


def test_order_list_filters_by_the_shops_currencies_without_reading_every_order(client, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import OrderFactory, UserFactory

    settings.SHOP_CURRENCIES = ["eur", "usd"]
    eur, usd = OrderFactory(currency="eur"), OrderFactory(currency="usd")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/admin/orders/order/").content.decode()
    assert "?currency=usd" in page and "USD" in page
    assert not [q for q in captured.captured_queries if "DISTINCT" in q["sql"] and "currency" in q["sql"]]
    filtered = client.get("/admin/orders/order/?currency=usd").content.decode()
    assert usd.number in filtered and eur.number not in filtered
