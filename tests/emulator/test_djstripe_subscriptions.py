"""dj-stripe accepts and processes the webhooks of subscription checkouts,
renewals on a test clock and setup-mode sessions: every API call it makes
while syncing (subscriptions, items, invoices, lines, customers, prices,
products, payment methods, setup intents) succeeds against the emulator."""

import uuid

import pytest
import stripe
from django.urls import reverse

from stripe_emulator import EmulatorServer

from .billing_helpers import advance, period, recurring_price, subscription_session
from .conftest import API_KEY, DJSTRIPE_KEY, FAST, control, new_session, pay_on_page, wait_for_webhooks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.emulator.djstripe_urls")]


@pytest.fixture(scope="module")
def emulator():
    # dj-stripe answers each webhook after syncing objects back from the
    # emulator; with deliveries concurrent on a busy machine that can take
    # longer than FAST's 1 s timeout, which would count as a failed delivery.
    server = EmulatorServer(host="127.0.0.1", port=0, api_key=API_KEY, **dict(FAST, webhook_timeout=15)).start()
    yield server
    server.stop()


@pytest.fixture
def djstripe_on_emulator(global_stripe, settings, emulator):
    # The shop's own webhook handlers (billing, payments) call the API too.
    settings.STRIPE_API_BASE = settings.STRIPE_API_HOST = emulator.url
    settings.STRIPE_TEST_SECRET_KEY = DJSTRIPE_KEY
    settings.STRIPE_LIVE_MODE = False
    global_stripe.api_key = DJSTRIPE_KEY
    return global_stripe


def test_djstripe_processes_subscription_webhooks(djstripe_on_emulator, emulator, live_server):
    from djstripe.models import Event, Invoice, LineItem, Subscription, WebhookEndpoint, WebhookEventTrigger
    from djstripe.settings import djstripe_settings

    djstripe_uuid = uuid.uuid4()
    url = live_server.url + reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": djstripe_uuid})
    data = WebhookEndpoint._api_create(url=url, enabled_events=["*"], metadata={"djstripe_uuid": str(djstripe_uuid)},
                                       api_version=djstripe_settings.STRIPE_API_VERSION)
    WebhookEndpoint.sync_from_stripe_data(data)

    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_800_000_000})
    customer = client.v1.customers.create(params={"email": "dj@example.com", "test_clock": clock.id})
    price = recurring_price(client, 2500, name="Synced plan")
    session = subscription_session(client, price, customer=customer.id, subscription_data={"metadata": {"a": "b"}})
    assert pay_on_page(emulator, session, "4242424242424242", email="dj@example.com")[0] == 303
    sub_id = client.v1.checkout.sessions.retrieve(session.id).subscription
    sub = client.v1.subscriptions.retrieve(sub_id)
    # Setup mode, then a renewal on the clock (invoice.upcoming has no id).
    setup = new_session(client, mode="setup", line_items=None, customer=customer.id, currency="eur")
    assert pay_on_page(emulator, setup, "5555555555554444")[0] == 303
    advance(client, clock, period(sub)[1] + 60)
    wait_for_webhooks(emulator, timeout=60)

    attempts = control(emulator, "deliveries", method="GET")["data"]
    failed = [a for a in attempts if a["status_code"] != 200]
    assert failed == [], (failed[0]["event_type"], failed[0]["response_body"]) if failed else ""
    triggers = WebhookEventTrigger.objects.all()
    assert triggers.count() == len(attempts)
    bad = [(t.event.type if t.event else None, t.exception, t.traceback[-800:]) for t in triggers
           if not (t.valid and t.processed)]
    assert bad == []
    for type_ in ("customer.subscription.created", "customer.subscription.updated", "invoice.paid",
                  "invoice.upcoming", "setup_intent.succeeded", "checkout.session.completed"):
        assert Event.objects.filter(type=type_).exists(), type_
    synced = Subscription.objects.get(id=sub_id)
    assert synced.status == "active" and synced.customer_id == customer.id
    assert synced.items.count() == 1
    # dj-stripe 2.11 links an invoice to its subscription through the top-level
    # `subscription` key, which the pinned API version no longer sends (basil
    # moved it to parent.subscription_details): the link is only in the data.
    invoices = Invoice.objects.filter(customer_id=customer.id)
    assert invoices.count() == 2 and not invoices.filter(subscription__isnull=False).exists()
    assert {i.stripe_data["parent"]["subscription_details"]["subscription"] for i in invoices} == {sub_id}
    assert {i.billing_reason for i in invoices} == {"subscription_create", "subscription_cycle"}
    assert all(i.status == "paid" for i in invoices)
    assert LineItem.objects.filter(subscription_id=sub_id).count() == 2
