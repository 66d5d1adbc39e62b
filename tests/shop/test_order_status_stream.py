"""The status page's stream of server-sent events: the page learns that the
order is paid within a fraction of a second, not at its next 2 s poll; when
the server's streams are all taken it polls, as before."""

import json

import pytest
from django.urls import reverse

from billing.models import Document
from core.signed_links import signed_path
from orders.services import order_mark_paid
from shop import order_views
from tests.factories import OrderFactory, UserFactory

# Real commits: the documents are issued after the payment's commit.
pytestmark = pytest.mark.django_db(transaction=True)


def _events(chunks) -> list[dict]:
    events = []
    for chunk in chunks:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if text.startswith("event: status\n"):
            events.append(json.loads(text.split("data: ", 1)[1]))
    return events


def test_the_page_learns_the_payment_from_its_stream_as_soon_as_it_is_recorded(client):
    order = OrderFactory()
    page = client.get(order.get_absolute_url()).content.decode()
    stream_url = reverse("orders:status_stream", args=[order.reference])
    assert f'data-stream-url="{stream_url}"' in page

    response = client.get(stream_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks).decode() == "retry: 3000\n\n"
    [waiting] = _events([next(chunks)])
    assert (waiting["status"], waiting["done"]) == ("awaiting_payment", False)

    order_mark_paid(order_id=order.pk, amount_paid=order.total, currency="eur")  # the webhook's work
    # The same stream tells it (it reads the order every 0.25 s): no poll, no reload needed.
    [paid] = _events([next(chunks)])
    assert (paid["status"], paid["status_display"], paid["documents_ready"], paid["done"]) == (
        "paid", "Paid", True, True)
    assert Document.objects.filter(order=order, kind=Document.Kind.INVOICE).exists()
    assert list(chunks) == []  # nothing more will change: the stream ends
    response.close()


def test_a_stream_is_only_for_whoever_may_see_the_order(client):
    owner, stranger = UserFactory(), UserFactory()
    order = OrderFactory(customer=owner)
    stream_url = reverse("orders:status_stream", args=[order.reference])
    client.force_login(stranger)
    assert client.get(stream_url).status_code == 404
    # The order page's signed link (from an e-mail) opens its stream too.
    page_link = signed_path(order.get_absolute_url())
    link = page_link.split("?", 1)[1]
    page = client.get(page_link).content.decode()
    assert f'data-stream-url="{stream_url}?{link}"' in page
    client.logout()
    response = client.get(f"{stream_url}?{link}")
    assert response.status_code == 200
    assert _events([next(iter(response.streaming_content)) for _ in range(2)])[0]["status"] == "awaiting_payment"
    response.close()


def test_when_every_stream_is_taken_the_page_is_told_to_poll(client, monkeypatch):
    monkeypatch.setattr(order_views, "_stream_slots", order_views.threading.BoundedSemaphore(1))
    first, second = OrderFactory(), OrderFactory()
    open_stream = client.get(reverse("orders:status_stream", args=[first.reference]))
    assert open_stream.status_code == 200
    refused = client.get(reverse("orders:status_stream", args=[second.reference]))
    assert (refused.status_code, refused["Retry-After"]) == (503, "10")
    # The page's script then polls the API's status, which answers.
    status = client.get(reverse("api:order-status", args=[second.reference]))
    assert status.json()["status"] == "awaiting_payment"
    open_stream.close()  # its slot is given back
    again = client.get(reverse("orders:status_stream", args=[second.reference]))
    assert again.status_code == 200
    again.close()
