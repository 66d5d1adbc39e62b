"""The webhook inbox: the endpoint verifies, stores once and answers; a worker
processes each stored event once, retries failures and shows stuck events to
staff, who run them again; the sweeper picks up what a lost message left.

Tasks run eagerly here (in the live server's request thread, after commit),
so the outcome is there when the delivery returns."""

import hashlib
import hmac
import json
import threading
import time
import urllib.request
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from djstripe.models import WebhookEndpoint

from billing.models import Document
from dashboard.attention import attention_items
from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments import inbox, webhooks
from payments.models import Payment, WebhookEvent
from payments.selectors import events_stuck
from payments.services import checkout_start
from payments.tasks import sweep_webhook_events
from tests.conftest import emulator_control
from tests.factories import ProductFactory, UserFactory

from .helpers import pay_session, session_id_of

BILLING = BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris",
                         country="FR")

pytestmark = pytest.mark.django_db(transaction=True)


def post(url: str, body: bytes, *, secret: str | None = None, headers: dict | None = None) -> tuple[int, str]:
    """POST a body to the endpoint, signed with `secret` as Stripe signs."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if secret is not None:
        t = int(time.time())
        mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        all_headers["Stripe-Signature"] = f"t={t},v1={mac}"
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def paid_session_event(stripe_emulator, stripe_webhooks):
    """An order paid at Stripe whose checkout.session.completed was never
    delivered (all deliveries dropped): (order, the event's body, endpoint)."""
    product = ProductFactory(name="Blue mug", unit_amount=1250, stock=3)
    order = order_place(items=[CartItem(product.pk, 2)], email="ada@example.com", billing=BILLING)
    session_id = session_id_of(checkout_start(order=order))
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 100})
    pay_session(stripe_emulator.url, session_id)
    stripe_webhooks()
    assert not WebhookEvent.objects.exists()
    from payments import gateway

    [event] = gateway.client().v1.events.list({"type": "checkout.session.completed"}).data
    return order, json.dumps(event.to_dict()).encode(), WebhookEndpoint.objects.get()


def test_a_signed_event_is_stored_once_processed_and_answered(paid_session_event):
    order, body, endpoint = paid_session_event

    assert post(endpoint.url, body, secret=endpoint.secret) == (200, "ok")
    assert post(endpoint.url, body, secret=endpoint.secret) == (200, "duplicate")

    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.type) == ("processed", 1, "checkout.session.completed")
    assert event.body == body.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Document.objects.filter(order=order, kind="invoice").count() == 1


def test_a_bad_signature_stores_nothing(paid_session_event):
    order, body, endpoint = paid_session_event

    assert post(endpoint.url, body, secret="whsec_not_the_endpoints")[0] == 400
    assert post(endpoint.url, body)[0] == 400  # no signature at all
    assert post(endpoint.url, body, headers={"Stripe-Signature": "t=1,v1=deadbeef"})[0] == 400

    assert not WebhookEvent.objects.exists()
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT


def test_a_secret_from_a_request_header_is_never_accepted_even_with_debug(paid_session_event, settings):
    """dj-stripe's view, with DEBUG, takes the secret from X-Djstripe-Webhook-Secret:
    anyone could sign their own "paid" event. The shop's endpoint never does."""
    settings.DEBUG = True
    order, body, endpoint = paid_session_event
    forged = json.loads(body)
    forged["id"] = "evt_forged"

    status, _ = post(endpoint.url, json.dumps(forged).encode(), secret="whsec_attacker",
                     headers={"X-Djstripe-Webhook-Secret": "whsec_attacker"})

    assert status == 400
    assert not WebhookEvent.objects.exists()
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT
    assert not Document.objects.exists()


def test_an_oversized_body_gets_413_and_stores_nothing(paid_session_event, settings):
    order, body, endpoint = paid_session_event
    settings.STRIPE_WEBHOOK_MAX_BYTES = len(body) - 1

    status, text = post(endpoint.url, body, secret=endpoint.secret)

    assert status == 413 and "too large" in text
    assert not WebhookEvent.objects.exists()
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT


def test_not_an_event_is_refused_with_400(paid_session_event):
    _, _, endpoint = paid_session_event

    assert post(endpoint.url, b'{"object": "event"}', secret=endpoint.secret)[0] == 400
    assert post(endpoint.url, b"not json", secret=endpoint.secret)[0] == 400
    assert not WebhookEvent.objects.exists()


def test_the_same_event_50_times_concurrently_is_processed_once(paid_session_event):
    order, body, endpoint = paid_session_event
    results = []
    threads = [threading.Thread(target=lambda: results.append(post(endpoint.url, body, secret=endpoint.secret)))
               for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 50 and {status for status, _ in results} == {200}
    assert [text for _, text in results].count("ok") == 1
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.filter(order=order, status="succeeded").count() == 1
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert Document.objects.filter(order=order, kind="receipt").count() == 1
    assert len([m for m in mail.outbox if m.to == ["ada@example.com"]]) == 1


@pytest.fixture
def failing_receiver():
    """A receiver of checkout.session.completed that raises while `failing` is set."""
    state = {"failing": True, "calls": 0}

    def receiver(obj: dict) -> None:
        state["calls"] += 1
        if state["failing"]:
            raise RuntimeError("the warehouse system is down")

    webhooks.connect("tests", {"checkout.session.completed": receiver})
    yield state
    webhooks.disconnect("tests", "checkout.session.completed")


def test_a_failing_receiver_is_retried_then_stuck_and_staff_run_it_again(paid_session_event, failing_receiver,
                                                                         client, settings):
    order, body, endpoint = paid_session_event

    assert post(endpoint.url, body, secret=endpoint.secret)[0] == 200  # acknowledged: the work is the worker's

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.STUCK
    assert event.attempts == failing_receiver["calls"] == settings.STRIPE_EVENT_MAX_ATTEMPTS
    assert "the warehouse system is down" in event.last_error
    assert list(events_stuck()) == [event]

    staff = UserFactory(is_staff=True, is_superuser=True)
    [item] = [i for i in attention_items(user=staff) if i.key == "events-stuck"]
    assert (item.label, item.count) == ("Stuck events", 1)
    client.force_login(staff)
    listing = client.get(item.url).content.decode()
    assert event.stripe_id in listing and "the warehouse system is down" in listing
    page = client.get(f"/admin/payments/webhookevent/{event.pk}/change/").content.decode()
    assert "Run again" in page and "RuntimeError: the warehouse system is down" in page

    failing_receiver["failing"] = False  # the cause is fixed
    response = client.post(f"/admin/payments/webhookevent/{event.pk}/run-again/", follow=True)

    assert "queued to run again" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, "")
    assert not events_stuck().exists()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Document.objects.filter(order=order, kind="invoice").count() == 1


def test_run_again_is_refused_without_the_permission(paid_session_event, failing_receiver, client):
    _, body, endpoint = paid_session_event
    post(endpoint.url, body, secret=endpoint.secret)
    event = WebhookEvent.objects.get()
    viewer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(viewer)

    assert "Run again" not in client.get(f"/admin/payments/webhookevent/{event.pk}/change/").content.decode()
    assert client.post(f"/admin/payments/webhookevent/{event.pk}/run-again/").status_code == 403
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.STUCK


def test_the_sweeper_processes_an_event_whose_message_was_lost(paid_session_event):
    order, body, _ = paid_session_event
    data = json.loads(body)
    # Stored, then the broker lost the message (or the worker died holding it).
    stored = inbox.event_store(stripe_id=data["id"], event_type=data["type"], body=body.decode())
    assert sweep_webhook_events() == 0  # too recent: its message may still come
    WebhookEvent.objects.filter(pk=stored.event_id).update(received_at=timezone.now() - timedelta(minutes=5))

    assert sweep_webhook_events() == 1
    assert sweep_webhook_events() == 0

    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Document.objects.filter(order=order, kind="invoice").count() == 1


def test_an_event_whose_worker_died_is_run_again_after_its_lease(paid_session_event):
    order, body, _ = paid_session_event
    data = json.loads(body)
    stored = inbox.event_store(stripe_id=data["id"], event_type=data["type"], body=body.decode())
    assert inbox.event_claim(event_id=stored.event_id)  # a worker took it, then was killed
    assert not inbox.event_claim(event_id=stored.event_id)  # nobody else while it holds the lease
    assert sweep_webhook_events() == 0

    WebhookEvent.objects.filter(pk=stored.event_id).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert sweep_webhook_events() == 1

    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 2)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID


def test_only_the_events_the_shop_uses_are_registered(stripe_emulator, stripe_webhooks):
    from payments import gateway

    [remote] = gateway.webhook_endpoint_list()
    assert sorted(remote.enabled_events) == webhooks.enabled_events()
    assert "*" not in remote.enabled_events
    assert set(webhooks.RECEIVERS) <= set(remote.enabled_events)
