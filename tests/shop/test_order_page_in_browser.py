"""What Chromium shows on an order page that has nothing more to wait for: no
spinner (the `hidden` attribute wins over `.spinner`'s display), and for an
expired order no promise of an invoice."""

from contextlib import contextmanager
from pathlib import Path

import pytest

from orders.models import Order
from tests.billing.factories import issued_pair
from tests.factories import OrderFactory

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is missing: make browser-deps"),
]


@contextmanager
def chromium_page():
    # Started after the test's rows are written: Playwright's loop forbids the ORM.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def test_no_spinner_on_paid_and_expired_orders(live_server):
    paid, _, _ = issued_pair()
    expired = OrderFactory(status=Order.Status.EXPIRED)
    waiting = OrderFactory()
    with chromium_page() as page:
        _check_pages(page, live_server.url, paid, expired, waiting)


def _check_pages(page, base, paid, expired, waiting):

    page.goto(base + paid.get_absolute_url())
    assert page.locator("[data-role=status]").inner_text() == "Paid"
    assert page.locator(".spinner").is_hidden()

    page.goto(base + expired.get_absolute_url())
    assert page.locator(".spinner").is_hidden()
    documents = page.locator("[data-role=documents]").inner_text()
    assert "issued once the payment is confirmed" not in documents
    assert "nothing was charged" in documents

    # While a payment is awaited, it spins.
    page.goto(base + waiting.get_absolute_url())
    assert page.locator(".spinner").is_visible()
