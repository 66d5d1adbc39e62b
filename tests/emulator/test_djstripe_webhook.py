"""dj-stripe's webhook view accepts the emulator's signed webhooks, and every
API call dj-stripe makes while syncing them succeeds against the emulator."""

import urllib.error
import urllib.request
import uuid

import pytest
import stripe
from django.urls import reverse

from stripe_emulator import EmulatorServer

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
def djstripe_on_emulator(global_stripe, settings):
    """dj-stripe talks to the emulator through the global SDK configuration."""
    settings.STRIPE_TEST_SECRET_KEY = DJSTRIPE_KEY
    settings.STRIPE_LIVE_MODE = False
    global_stripe.api_key = DJSTRIPE_KEY
    return global_stripe


def test_djstripe_accepts_and_processes_emulator_webhooks(djstripe_on_emulator, emulator, live_server):
    from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger
    from djstripe.models.checkout import Session
    from djstripe.settings import djstripe_settings

    # As dj-stripe's admin form registers an endpoint.
    djstripe_uuid = uuid.uuid4()
    url = live_server.url + reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": djstripe_uuid})
    data = WebhookEndpoint._api_create(url=url, enabled_events=["*"], metadata={"djstripe_uuid": str(djstripe_uuid)},
                                       api_version=djstripe_settings.STRIPE_API_VERSION)
    endpoint = WebhookEndpoint.sync_from_stripe_data(data)
    assert endpoint.secret.startswith("whsec_") and endpoint.djstripe_uuid == djstripe_uuid

    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    product = client.v1.products.create(params={"name": "Synced"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 1500})
    session = new_session(client, line_items=[{"price": price.id, "quantity": 1}])
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 303
    client.v1.refunds.create(params={"payment_intent": client.v1.checkout.sessions.retrieve(session.id).payment_intent})
    wait_for_webhooks(emulator, timeout=30)

    attempts = control(emulator, "deliveries", method="GET")["data"]
    failed = [a for a in attempts if a["status_code"] != 200]
    assert failed == [], failed[0]["response_body"] if failed else ""
    assert Event.objects.filter(type="checkout.session.completed").exists()
    for type_ in ("payment_intent.succeeded", "charge.succeeded", "customer.created", "refund.updated"):
        assert Event.objects.filter(type=type_).exists(), type_
    triggers = WebhookEventTrigger.objects.all()
    assert triggers.count() == len(attempts)
    assert all(t.valid and t.processed for t in triggers)
    synced = Session.objects.get(id=session.id)
    assert synced.payment_status == "paid" and synced.customer_id

    # A bad signature is refused.
    body = b'{"id": "evt_forged", "livemode": false, "type": "charge.succeeded"}'
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=deadbeef"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request)
    assert err.value.code == 400
