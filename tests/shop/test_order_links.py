"""Finding an order without an account: the "find my order" form, the signed
link it e-mails, and what that link opens (the one order page, nothing else)."""

import re
import time

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.urls import reverse

from orders.models import Order
from tests.factories import OrderFactory, UserFactory

# Real commits: the e-mail goes through the outbox, sent after commit (core.email).
pytestmark = pytest.mark.django_db(transaction=True)

FIND = "/orders/find/"


@pytest.fixture(autouse=True)
def _fresh_budget():
    """The hourly budget of "find my order" counts in the cache: each test starts afresh."""
    cache.clear()


def _link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/orders/\S+)", message.body).group(1)


def _later(monkeypatch, seconds: int) -> None:
    """The clock `seconds` from now, as django.core.signing reads it."""
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + seconds)


def test_the_form_is_reachable_from_every_page(client):
    page = client.get(reverse("shop:product_list")).content.decode()
    assert f'href="{FIND}"' in page
    form = client.get(FIND)
    assert form.status_code == 200
    assert "Find my order" in form.content.decode()


def test_same_answer_whether_or_not_the_address_has_orders(client):
    order = OrderFactory(email="ada@example.com")
    found = client.post(FIND, {"email": "Ada@Example.com", "reference": order.number})
    not_found = client.post(FIND, {"email": "nobody@example.com", "reference": order.number})
    wrong_number = client.post(FIND, {"email": "ada@example.com", "reference": "ORD-999999"})
    texts = []
    for response, email in ((found, "ada@example.com"), (not_found, "nobody@example.com"),
                            (wrong_number, "ada@example.com")):
        assert response.status_code == 200
        texts.append(response.content.decode().replace(email, "EMAIL"))
    assert texts[0] == texts[1] == texts[2]
    assert "If we have an order placed with" in texts[0]
    # Only the address with a matching order gets an e-mail, with its link.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert order.number in mail.outbox[0].subject
    assert _link_in(mail.outbox[0]).startswith(f"/orders/{order.reference}/?link=")


def test_latest_orders_when_no_number_is_given(client):
    older, newer = OrderFactory(email="ada@example.com"), OrderFactory(email="ada@example.com")
    OrderFactory(email="someone.else@example.com")
    client.post(FIND, {"email": "ada@example.com", "reference": ""})
    body = mail.outbox[0].body
    assert older.number in body and newer.number in body
    assert body.count("?link=") == 2


def test_bad_input_is_a_clear_message(client):
    response = client.post(FIND, {"email": "not an address", "reference": "ORD-1"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert not mail.outbox


def test_signed_link_opens_a_customers_order_without_a_session(client):
    customer = UserFactory()
    order = OrderFactory(customer=customer, email=customer.email)
    # Without a session and without the link: the order is the customer's only.
    assert client.get(order.get_absolute_url()).status_code == 404

    client.post(FIND, {"email": customer.email, "reference": order.number})
    link = _link_in(mail.outbox[0])
    page = client.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Order {order.number}" in html
    # It polls its status with the same link, and the API answers.
    status_url = re.search(r'data-status-url="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "?link=" in status_url
    status = client.get(status_url)
    assert status.status_code == 200 and status.json()["status"] == "awaiting_payment"
    assert client.get(reverse("api:order-status", args=[order.reference])).status_code == 404

    # It reveals nothing else: no sign-in, no other order, no account.
    account = client.get(reverse("shop:account"))
    assert account.status_code == 302 and "/accounts/login/" in account["Location"]
    other = OrderFactory(customer=customer, email=customer.email)
    token = link.split("?link=", 1)[1]
    broken = client.get(f"{other.get_absolute_url()}?link={token}")
    assert broken.status_code == 403
    assert "This link does not work" in broken.content.decode()
    assert other.number not in broken.content.decode()


def test_altered_and_expired_links_get_a_clear_page(client, monkeypatch, settings):
    order = OrderFactory(customer=UserFactory())
    client.post(FIND, {"email": order.email, "reference": str(order.reference)})
    link = _link_in(mail.outbox[0])

    altered = client.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB"))
    assert altered.status_code == 403
    assert "This link does not work" in altered.content.decode()

    _later(monkeypatch, settings.SIGNED_LINK_MAX_AGE + 60)
    expired = client.get(link)
    assert expired.status_code == 410
    html = expired.content.decode()
    assert "This link has expired" in html and f'href="{FIND}"' in html
    assert order.number not in html


def test_a_guest_order_still_opens_with_its_reference_alone(client):
    order = OrderFactory()
    assert client.get(order.get_absolute_url()).status_code == 200


def test_requests_past_the_hourly_budget_send_nothing(client, settings):
    settings.ORDER_FIND_EMAILS_PER_HOUR = 2
    order = OrderFactory(email="ada@example.com")
    answers = [client.post(FIND, {"email": "ada@example.com", "reference": order.number}) for _ in range(4)]
    assert all(a.status_code == 200 and "If we have an order placed with" in a.content.decode() for a in answers)
    assert len(mail.outbox) == 2


def test_expired_order_page_says_nothing_of_a_coming_invoice(client):
    order = OrderFactory(status=Order.Status.EXPIRED)
    html = client.get(order.get_absolute_url()).content.decode()
    assert "This order expired before it was paid" in html
    assert "issued once the payment is confirmed" not in html
    assert "No invoice: nothing was charged for this order." in html
    # Nothing to wait for: the spinner is hidden.
    assert re.search(r'<span class="spinner"[^>]*\bhidden\b', html)
