"""The mirror from the stored payload: an invoice's or a subscription's event
is mirrored without calling Stripe back while it is the newest known about its
object; an older one delivered late does not put old data back."""

import json
import time

import pytest
from djstripe.models import Event as MirroredEvent
from djstripe.models import Invoice, Subscription

from billing.models import Document
from payments import gateway, inbox, mirror
from payments.models import WebhookEvent
from tests.conftest import emulator_control

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribed(stripe_emulator, stripe_webhooks):
    """A customer with an active monthly subscription, mirrored by the shop's
    own webhooks: (the SDK client, the subscription's id)."""
    api = gateway.client().v1
    customer = api.customers.create({
        "email": "mirror@example.com", "name": "Mirror", "payment_method": "pm_card_visa",
        "address": {"line1": "1 rue du Bac", "postal_code": "75007", "city": "Paris", "country": "FR"},
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
    })
    price = api.prices.create({"currency": "eur", "unit_amount": 1900, "recurring": {"interval": "month"},
                               "product_data": {"name": "Mirror plan"}})
    subscription = api.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    stripe_webhooks()
    assert Subscription.objects.filter(id=subscription.id).exists()
    return api, subscription.id


def _api_faults(url: str) -> list[dict]:
    return emulator_control(url, "faults", method="GET")["faults"]


def test_a_subscription_update_is_mirrored_from_its_payload_without_calling_stripe(
    subscribed, stripe_emulator, stripe_webhooks
):
    api, subscription_id = subscribed
    # A minute after the subscription's creation (events of one second cannot
    # be ordered by their time: those are fetched).
    emulator_control(stripe_emulator.url, "clock/advance", {"seconds": 60})
    api.subscriptions.update(subscription_id, {"metadata": {"note": "from the payload"}})
    # Were the mirror to fetch the subscription or its invoice, Stripe would fail.
    for path in ("/v1/subscriptions/*", "/v1/invoices/*"):
        emulator_control(stripe_emulator.url, "faults", {"path": path, "method": "GET", "status": 500, "count": 5})
    stripe_webhooks()

    event = WebhookEvent.objects.get(type="customer.subscription.updated", body__contains="from the payload")
    assert (event.status, event.object_id) == (WebhookEvent.Status.PROCESSED, subscription_id)
    assert Subscription.objects.get(id=subscription_id).metadata == {"note": "from the payload"}
    stored = json.loads(event.body)
    mirrored_event = MirroredEvent.objects.get(id=event.stripe_id)
    assert mirrored_event.request_id == ((stored.get("request") or {}).get("id") or "")
    assert [f["remaining"] for f in _api_faults(stripe_emulator.url)] == [5, 5]  # no call was made


def test_a_renewal_is_mirrored_from_its_payloads_and_invoiced(subscribed, stripe_emulator, stripe_webhooks):
    api, subscription_id = subscribed
    period_end = api.subscriptions.retrieve(subscription_id)["items"].data[0].current_period_end
    emulator_control(stripe_emulator.url, "clock/advance", {"seconds": period_end - int(time.time()) + 3600})
    stripe_webhooks()

    [renewal] = [e for e in WebhookEvent.objects.filter(type="invoice.paid")
                 if json.loads(e.body)["data"]["object"]["billing_reason"] == "subscription_cycle"]
    assert renewal.status == WebhookEvent.Status.PROCESSED
    assert not mirror.newer_event_known(renewal)  # so its payload was what was mirrored
    invoice = Invoice.objects.get(id=renewal.object_id)
    assert (invoice.status, invoice.stripe_data["amount_paid"]) == ("paid", 1900)
    subscription = Subscription.objects.get(id=subscription_id)
    assert subscription.stripe_data["items"]["data"][0]["current_period_start"] >= period_end
    assert Document.objects.filter(stripe_invoice_id=invoice.id, kind=Document.Kind.INVOICE).exists()


def test_a_payload_older_than_a_known_event_is_not_mirrored_as_is(subscribed, stripe_emulator, stripe_webhooks):
    api, subscription_id = subscribed
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 100})
    api.subscriptions.update(subscription_id, {"metadata": {"step": "now"}})
    stripe_webhooks()
    [latest] = [e for e in api.events.list({"type": "customer.subscription.updated"}).data
                if e.data.object.metadata.get("step") == "now"]
    # An event made a minute before, whose payload says something Stripe no
    # longer says: since a later event about the subscription is known, its
    # payload is not trusted and the subscription is fetched as it is now.
    data = json.loads(str(latest))  # as on the wire
    newer = inbox.event_store(stripe_id=data["id"], event_type=data["type"], body=json.dumps(data),
                              object_id=subscription_id, created=data["created"])
    stale = json.loads(json.dumps(data))
    stale["id"], stale["created"] = "evt_stale_one", data["created"] - 60
    stale["data"]["object"]["metadata"] = {"step": "a minute ago"}
    older = inbox.event_store(stripe_id=stale["id"], event_type=stale["type"], body=json.dumps(stale),
                              object_id=subscription_id, created=stale["created"])
    assert inbox.event_process(event_id=newer.event_id).processed
    assert inbox.event_process(event_id=older.event_id).processed
    assert Subscription.objects.get(id=subscription_id).metadata == {"step": "now"}


def test_a_newer_event_mirrored_while_an_older_payload_is_written_does_not_leave_the_older_one(
    subscribed, stripe_emulator, stripe_webhooks, monkeypatch
):
    """Two deliveries about one subscription processed at once: the older
    finds no newer event, then, while it writes its payload, the newer one is
    stored and mirrored first. The older one's write must not stay last."""
    api, subscription_id = subscribed
    # Both events after the subscription's creation (a minute later), the older by 30 s.
    emulator_control(stripe_emulator.url, "clock/advance", {"seconds": 60})
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 100})
    api.subscriptions.update(subscription_id, {"metadata": {"step": "now"}})
    stripe_webhooks()
    [latest] = [e for e in api.events.list({"type": "customer.subscription.updated"}).data
                if e.data.object.metadata.get("step") == "now"]
    data = json.loads(str(latest))
    stale = json.loads(json.dumps(data))
    stale["id"], stale["created"] = "evt_older_one", data["created"] - 30
    stale["data"]["object"]["metadata"] = {"step": "a minute ago"}
    older = inbox.event_store(stripe_id=stale["id"], event_type=stale["type"], body=json.dumps(stale),
                              object_id=subscription_id, created=stale["created"])

    real_sync = Subscription.sync_from_stripe_data.__func__
    newer_processed = []

    def sync_with_the_newer_event_arriving_meanwhile(cls, obj, *args, **kwargs):
        if json.loads(str(obj)).get("metadata") == {"step": "a minute ago"} and not newer_processed:
            newer = inbox.event_store(stripe_id=data["id"], event_type=data["type"], body=json.dumps(data),
                                      object_id=subscription_id, created=data["created"])
            newer_processed.append(inbox.event_process(event_id=newer.event_id).processed)
            assert Subscription.objects.get(id=subscription_id).metadata == {"step": "now"}
        return real_sync(cls, obj, *args, **kwargs)

    monkeypatch.setattr(Subscription, "sync_from_stripe_data",
                        classmethod(sync_with_the_newer_event_arriving_meanwhile))
    assert inbox.event_process(event_id=older.event_id).processed
    assert newer_processed == [True]
    assert Subscription.objects.get(id=subscription_id).metadata == {"step": "now"}
    assert MirroredEvent.objects.filter(id__in=[data["id"], stale["id"]]).count() == 2


def test_a_payload_naming_what_dj_stripe_expands_by_id_only_is_fetched_instead():
    # An invoice payload names its discounts by id: dj-stripe's sync needs them
    # expanded, so that event is mirrored the fetching way.
    assert mirror.payload_complete(Invoice, {"id": "in_1", "discounts": [], "lines": {"data": [{"discounts": []}]}})
    assert not mirror.payload_complete(Invoice, {"id": "in_1", "discounts": ["di_1"]})
    assert not mirror.payload_complete(Invoice, {"id": "in_1", "discounts": [],
                                                 "lines": {"data": [{"discounts": ["di_1"]}]}})
    assert mirror.payload_complete(Subscription, {"id": "sub_1", "discounts": ["di_1"]})
