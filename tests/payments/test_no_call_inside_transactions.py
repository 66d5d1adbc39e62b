"""No call to Stripe inside a database transaction, dj-stripe's included.

dj-stripe's sync fetches, inside its own transactions, every related object
it has not mirrored yet and the account that owns the API key: on SQLite
(the demo) that holds the database's write lock while Stripe answers. The
mirror (payments.mirror) makes those reads first, outside any transaction.
Every test that talks to the emulator also fails if any call is made inside
a transaction (tests/conftest.py, `no_stripe_call_inside_a_transaction`)."""

import json

import pytest
import stripe
from django.db import transaction
from djstripe.models import Customer, PaymentMethod, Product, Subscription

from payments import gateway, inbox, mirror
from payments.models import WebhookEvent
from tests.conftest import emulator_control

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def calls(stripe_emulator, monkeypatch):
    """Every request sent to Stripe: (method, path, sent inside a transaction).
    (In place of the suite's guard, which would fail the first test.)"""
    sent = []
    request = getattr(stripe.RequestsClient.request, "unguarded", stripe.RequestsClient.request)

    def recording(self, method, url, headers, post_data=None):
        sent.append((method.upper(), url.split("?")[0].split("/v1/")[-1], gateway.inside_a_transaction()))
        return request(self, method, url, headers, post_data)

    monkeypatch.setattr(stripe.RequestsClient, "request", recording)
    return sent


@pytest.fixture
def customer_at_stripe(stripe_emulator):
    """A customer with a default card, made at Stripe and not mirrored yet."""
    api = gateway.client().v1
    customer = api.customers.create({
        "email": "first@example.com", "name": "First Buyer", "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
    })
    return json.loads(str(api.customers.retrieve(customer.id)))


def test_dj_stripe_alone_reads_from_stripe_inside_its_transaction(customer_at_stripe, calls):
    """What the mirror avoids: dj-stripe's own sync of a customer fetches its
    card (and the account), inside the transaction that writes the rows."""
    Customer.sync_from_stripe_data(gateway.sdk_object(customer_at_stripe))
    inside = [(method, path) for method, path, made_inside in calls if made_inside]
    card_id = customer_at_stripe["invoice_settings"]["default_payment_method"]
    assert ("GET", f"payment_methods/{card_id}") in inside, (
        "dj-stripe no longer calls Stripe inside its transactions: the mirror's rounds are not needed")


def test_the_mirror_makes_those_reads_first_outside_any_transaction(customer_at_stripe, calls):
    customer = mirror.object_sync(Customer, customer_at_stripe)

    card_id = customer_at_stripe["invoice_settings"]["default_payment_method"]
    assert customer.id == customer_at_stripe["id"]
    assert PaymentMethod.objects.get(id=card_id).customer_id == customer.id
    reads = [(method, path) for method, path, _ in calls]
    assert ("GET", f"payment_methods/{card_id}") in reads and ("GET", "account") in reads
    assert not [call for call in calls if call[2]], "a call was made inside a transaction"
    assert len(reads) == len(set(reads)), "a read was made twice"

    # Mirrored once, the same customer is synced again with no call at all.
    calls.clear()
    mirror.object_sync(Customer, customer_at_stripe)
    assert calls == []


def test_a_read_refused_inside_a_transaction_is_not_sent_and_is_served_once_made_outside(
    customer_at_stripe, calls
):
    mirror.object_sync(Customer, {**customer_at_stripe, "invoice_settings": {}})  # the account, the customer
    calls.clear()
    customer_id = customer_at_stripe["id"]
    with gateway.calls_outside_transactions() as outside:
        with pytest.raises(gateway.CallInsideTransaction) as refused, transaction.atomic():
            Customer(id=customer_id).api_retrieve()
        assert calls == []  # nothing was sent
        outside.fetch(refused.value)
        with transaction.atomic():
            assert Customer(id=customer_id).api_retrieve()["email"] == "first@example.com"
    assert [(method, made_inside) for method, _, made_inside in calls] == [("GET", False)]


def test_a_read_dj_stripe_catches_and_goes_on_without_is_made_outside_and_the_sync_run_again(
    stripe_emulator, calls, caplog
):
    """dj-stripe syncs a product's features with a call it makes inside its
    transaction and whose failure it only logs: refused there, it is made
    outside and the sync runs again, rather than the features being lost."""
    product = json.loads(str(gateway.client().v1.products.create({"name": "Beans", "id": "prod_beans_outside"})))
    with caplog.at_level("WARNING", logger="djstripe"):
        mirrored = mirror.object_sync(Product, product)
    assert mirrored.id == "prod_beans_outside"
    assert ("GET", "products/prod_beans_outside/features", False) in calls
    assert not [call for call in calls if call[2]], "a call was made inside a transaction"
    assert "Failed to fetch product features" not in caplog.text


def test_of_two_events_of_one_second_only_the_one_stored_last_is_mirrored_as_stripe_has_it_now(
    stripe_emulator, stripe_webhooks
):
    api = gateway.client().v1
    customer = api.customers.create({
        "email": "tie@example.com", "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
    })
    price = api.prices.create({"currency": "eur", "unit_amount": 900, "recurring": {"interval": "month"},
                               "product_data": {"name": "Tie plan"}})
    subscription = api.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    stripe_webhooks()
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 100})
    api.subscriptions.update(subscription.id, {"metadata": {"step": "now"}})
    [latest] = [e for e in api.events.list({"type": "customer.subscription.updated"}).data
                if e.data.object.metadata.get("step") == "now"]
    data = json.loads(str(latest))
    first = json.loads(json.dumps(data))
    first["id"] = "evt_same_second_stored_first"
    first["data"]["object"]["metadata"] = {"step": "its own payload"}
    stored_first = inbox.event_store(stripe_id=first["id"], event_type=first["type"], body=json.dumps(first),
                                     object_id=subscription.id, created=data["created"])
    stored_last = inbox.event_store(stripe_id=data["id"], event_type=data["type"], body=json.dumps(data),
                                    object_id=subscription.id, created=data["created"])
    # Stripe has something newer than both payloads.
    api.subscriptions.update(subscription.id, {"metadata": {"step": "at Stripe"}})

    assert inbox.event_process(event_id=stored_first.event_id).processed
    # Superseded: the event stored after it, of the same second, writes.
    assert Subscription.objects.get(id=subscription.id).metadata == {}
    assert inbox.event_process(event_id=stored_last.event_id).processed
    assert Subscription.objects.get(id=subscription.id).metadata == {"step": "at Stripe"}
    assert set(WebhookEvent.objects.filter(pk__in=[stored_first.event_id, stored_last.event_id])
               .values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
