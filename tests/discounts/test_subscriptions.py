"""A subscription signed up with a 3-month coupon (typed on Stripe's page):
through a test clock, three discounted invoices, then full price; our
invoices take Stripe's line discount amounts, VAT on what was paid."""

import urllib.parse
import urllib.request

import pytest

from billing.models import Document
from subscriptions.selectors import subscription_for_user
from subscriptions.signup import subscription_checkout_start
from tests.payments.helpers import pay_session, session_id_of
from tests.subscriptions.conftest import advance, billing_in, clock_of, period_end, webhooks_held

pytestmark = pytest.mark.django_db(transaction=True)


def type_code_on_the_page(url: str, code: str) -> str:
    body = urllib.parse.urlencode({"promotion_code": code}).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{url}/promotion_code", data=body, method="POST"),
                                timeout=10) as page:
        return page.read().decode()


def test_a_three_month_coupon_discounts_three_invoices_then_full_price(stripe_emulator, stripe_webhooks, plans,
                                                                         subscriber, api, make_code):
    make_code("CLUB3", percent_off="20", duration="repeating", duration_in_months=3)
    price = plans["coffee-club-plus-monthly"]  # 29.00 a month, VAT included
    with webhooks_held(stripe_emulator.url):
        url = subscription_checkout_start(user=subscriber, price_id=price.id, billing=billing_in())
    stripe_webhooks()
    page = type_code_on_the_page(url, "club3")
    assert "Code applied." in page and "Discount (CLUB3) for 3 months" in page
    pay_session(stripe_emulator.url, session_id_of(url))
    stripe_webhooks()

    clock = clock_of(subscriber)
    for _ in range(3):
        end = period_end(subscription_for_user(subscriber))
        advance(api, clock, end + 3600, stripe_webhooks)

    invoices = list(Document.objects.filter(kind="invoice").order_by("sequence"))
    assert [doc.total_gross for doc in invoices] == [2320, 2320, 2320, 2900]
    for doc in invoices[:3]:
        [line] = doc.snapshot["lines"]
        assert (line["unit_gross"], line["discount"], line["gross"]) == (2900, 580, 2320)
        receipt = Document.objects.get(kind="receipt", related_document=doc)
        assert receipt.total_gross == 2320
        assert sum(row["gross"] for row in doc.snapshot["vat_breakdown"]) == 2320
    assert "discount" not in invoices[3].snapshot["lines"][0]
