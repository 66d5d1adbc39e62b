"""Every object the emulator returns has exactly the keys of its type's
fixture in Stripe's fixtures3.json (and so do their nested objects)."""

import json
import urllib.parse
from pathlib import Path

from .conftest import control, new_session, pay_on_page, raw, wait_for_webhooks

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "stripe" / "fixtures3.json"
VENDORED = Path(__file__).resolve().parents[2] / "stripe_emulator" / "data" / "fixtures3.json"
FIXTURES = json.loads((SHARED if SHARED.exists() else VENDORED).read_text())["resources"]

# Keys Stripe sends only in some states, which the fixture therefore lacks:
# a failed refund's reason, the secret in the webhook endpoint create
# response, a session's line items and an invoice's payments when expanded.
OPTIONAL = {"refund": {"failure_reason"}, "webhook_endpoint": {"secret"}, "checkout.session": {"line_items"},
            "invoice": {"payments"}}
# Sub-objects the fixture abbreviates (e.g. last_payment_error is only
# {"type": ...} there): their fixture keys must be present, more are allowed.
OPEN = {"payment_intent.last_payment_error", "payment_intent.next_action", "event.data",
        # Billing: the fixture abbreviates these; Stripe also sends `price_details`
        # on pricing, the whole error on last_setup_error, the intent on a payment.
        "setup_intent.last_setup_error", "line_item.pricing", "invoiceitem.pricing",
        "invoice_payment.payment"}


def shape_problems(obj, type_, path=None):
    """Differences between `obj` and the fixture of `type_`, as strings."""
    fixture = FIXTURES["deleted_" + type_] if obj.get("deleted") else FIXTURES[type_]
    return _compare(obj, fixture, type_, path or type_, type_, OPTIONAL.get(type_, set()))


def _compare(obj, fixture, type_, path, rel, optional=frozenset(), open_=False):
    problems = [f"{path}: missing {k}" for k in fixture if k not in obj]
    if not open_:
        problems += [f"{path}: extra {k}" for k in obj if k not in fixture and k not in optional]
    for key, value in obj.items():
        sub = fixture.get(key)
        problems += _compare_value(value, sub, type_, f"{path}.{key}", f"{rel}.{key}")
    return problems


def _compare_value(value, sub, type_, path, rel):
    if isinstance(value, dict):
        kind = value.get("object") if isinstance(value.get("object"), str) else None
        if kind == "list":
            problems = _compare(value, {"object": 0, "data": 0, "has_more": 0, "url": 0}, type_, path, rel)
            for i, item in enumerate(value["data"]):
                problems += _compare_value(item, None, type_, f"{path}.data[{i}]", rel)
            return problems
        if kind in FIXTURES:  # a nested or expanded resource: its own fixture
            return shape_problems(value, kind, path)
        if isinstance(sub, dict) and sub and not rel.endswith(".metadata"):
            return _compare(value, sub, type_, path, rel, open_=rel in OPEN)
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _compare_value(
            item, sub[0] if isinstance(sub, list) and sub else None, type_, f"{path}[{i}]", rel)]
    return []


def _get(emulator, path):
    status, _, text = raw(emulator, "GET", path, headers={"Authorization": "Bearer sk_test_emulator"})
    assert status == 200, text
    return json.loads(text)


def _every_kind_of_object(client, emulator, receiver, endpoint):
    """Drive flows that produce every resource type; return the objects."""
    objects = [client.v1.accounts.retrieve_current().to_dict(), endpoint.to_dict()]
    customer = client.v1.customers.create(params={"email": "shape@example.com"})
    product = client.v1.products.create(params={"name": "Shape"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 700})
    objects += [customer.to_dict(), product.to_dict(), price.to_dict()]
    objects.append(client.v1.customers.delete(client.v1.customers.create().id).to_dict())

    session = new_session(client, line_items=[{"price": price.id, "quantity": 1}], customer=customer.id)
    objects.append(session.to_dict())
    pay_on_page(emulator, session, "4000000000000002")  # a failed charge and last_payment_error
    objects.append(client.v1.payment_intents.retrieve(client.v1.checkout.sessions.retrieve(session.id)
                                                      .payment_intent).to_dict())
    three_ds = new_session(client)
    location = pay_on_page(emulator, three_ds, "4000002500003155")[1]["location"]
    objects.append(_get(emulator, f"/v1/payment_intents/{location.rsplit('/', 1)[1]}"))  # next_action
    raw(emulator, "POST", location, {"action": "complete"})
    pay_on_page(emulator, session, "4000000000000259")  # success, then a dispute
    wait_for_webhooks(emulator)

    full = _get(emulator, f"/v1/checkout/sessions/{session.id}?" + urllib.parse.urlencode(
        {"expand[]": ["payment_intent.latest_charge.balance_transaction", "payment_intent.payment_method",
                      "customer", "line_items"]}, doseq=True))
    objects.append(full)
    charge_id = full["payment_intent"]["latest_charge"]["id"]
    control(emulator, "disputes", {"charge": _paid_charge(client, emulator)})
    objects.append(client.v1.refunds.create(params={"charge": _paid_charge(client, emulator)}).to_dict())
    control(emulator, "refunds/fail_next")  # a failed refund has `failure_reason`
    objects.append(client.v1.refunds.create(params={"charge": _paid_charge(client, emulator)}).to_dict())
    wait_for_webhooks(emulator)
    for path in ("/v1/disputes", "/v1/refunds", "/v1/charges", "/v1/payment_intents", "/v1/payment_methods",
                 "/v1/balance_transactions", "/v1/events?limit=100", "/v1/webhook_endpoints", "/v1/customers",
                 "/v1/products", "/v1/prices", "/v1/checkout/sessions",
                 f"/v1/checkout/sessions/{session.id}/line_items", f"/v1/charges/{charge_id}"):
        objects.append(_get(emulator, path))
    return objects


def _paid_charge(client, emulator):
    session = new_session(client)
    pay_on_page(emulator, session, "4242424242424242")
    pi_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    return client.v1.payment_intents.retrieve(pi_id).latest_charge


def _collect(value, seen):
    if isinstance(value, dict):
        if isinstance(value.get("object"), str) and value["object"] != "list":
            seen.setdefault(value["object"], value)
        for item in value.values():
            _collect(item, seen)
    elif isinstance(value, list):
        for item in value:
            _collect(item, seen)


def test_every_object_matches_its_fixture(client, emulator, receiver, endpoint):
    objects = _every_kind_of_object(client, emulator, receiver, endpoint)
    problems = []
    for obj in objects:
        kind = obj["object"]
        if kind == "list":
            problems += [p for item in obj["data"] for p in shape_problems(item, item["object"])]
        else:
            problems += shape_problems(obj, kind)
    problems += [p for event in receiver.events() for p in shape_problems(event, "event")]
    assert problems == []
    seen = {}
    _collect(objects, seen)
    _collect(receiver.events(), seen)
    expected = {"account", "customer", "product", "price", "checkout.session", "item", "payment_intent",
                "payment_method", "charge", "refund", "event", "webhook_endpoint", "balance_transaction",
                "dispute"}
    assert expected <= set(seen)


def _billing_objects(client, emulator):
    """Subscriptions, items, invoices, lines, invoice items, invoice payments,
    setup intents and test clocks (with their events)."""
    from .billing_helpers import DAY, advance, clock_customer, new_clock, recurring_price, subscribe

    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock)
    basic, pro = recurring_price(client, 1000), recurring_price(client, 2500, name="Pro")
    sub = subscribe(client, customer, basic)
    item = sub["items"].data[0]
    client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": pro.id}],
                                                   "proration_date": 1_800_000_000 + 5 * DAY})
    trial = subscribe(client, clock_customer(client, clock), basic, trial_period_days=7)
    advance(client, clock, 1_800_000_000 + 40 * DAY)
    session = new_session(client, mode="setup", line_items=None, customer=customer.id, currency="eur")
    pay_on_page(emulator, session, "4000000000000002")
    pay_on_page(emulator, session, "4242424242424242")
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {
        "items": [{"id": item.id, "price": basic.id}]}})
    canceled = client.v1.subscriptions.cancel(trial.id, params={"invoice_now": True, "prorate": True})
    objects = [preview.to_dict(), canceled.to_dict(), client.v1.test_helpers.test_clocks.retrieve(clock.id).to_dict()]
    invoice_id = client.v1.invoices.list(params={"subscription": sub.id}).data[0].id
    for path in ("/v1/subscriptions?status=all", f"/v1/subscription_items?subscription={sub.id}",
                 "/v1/invoices?limit=100", f"/v1/invoices/{invoice_id}/lines", "/v1/invoiceitems",
                 "/v1/invoice_payments", "/v1/setup_intents", "/v1/test_helpers/test_clocks",
                 f"/v1/invoices/{invoice_id}?expand[]=payments", f"/v1/subscription_items/{item.id}",
                 f"/v1/checkout/sessions/{session.id}?expand[]=setup_intent"):
        objects.append(_get(emulator, path))
    objects.append(client.v1.test_helpers.test_clocks.delete(clock.id).to_dict())
    return objects


def test_billing_objects_match_their_fixtures(client, emulator, receiver, endpoint):
    objects = _billing_objects(client, emulator)
    wait_for_webhooks(emulator)
    problems = []
    for obj in objects:
        if obj["object"] == "list":
            problems += [p for item in obj["data"] for p in shape_problems(item, item["object"])]
        else:
            problems += shape_problems(obj, obj["object"])
    problems += [p for event in receiver.events() for p in shape_problems(event, "event")]
    assert problems == []
    seen = {}
    _collect(objects, seen)
    _collect(receiver.events(), seen)
    expected = {"subscription", "subscription_item", "invoice", "line_item", "invoiceitem", "invoice_payment",
                "setup_intent", "test_helpers.test_clock", "plan"}
    assert expected <= set(seen)
    types = {e["type"] for e in receiver.events()}
    assert {"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
            "customer.subscription.trial_will_end", "invoice.created", "invoice.finalized", "invoice.paid",
            "invoice.payment_succeeded", "invoice.upcoming", "invoiceitem.created", "setup_intent.succeeded",
            "setup_intent.setup_failed", "test_helpers.test_clock.advancing",
            "test_helpers.test_clock.ready"} <= types


def test_the_checker_catches_differences():
    customer = {k: None for k in FIXTURES["customer"]}
    customer.update(object="customer", metadata={"anything": "goes"})
    assert shape_problems(customer, "customer") == []
    assert shape_problems(dict(customer, surprise=1), "customer") == ["customer: extra surprise"]
    del customer["email"]
    assert shape_problems(customer, "customer") == ["customer: missing email"]
    charge = dict(json.loads(json.dumps(FIXTURES["charge"])), source=None, transfer_data=None)
    charge["payment_method_details"]["card"]["cvv"] = "123"
    del charge["outcome"]["type"]
    assert sorted(shape_problems(charge, "charge")) == [
        "charge.outcome: missing type", "charge.payment_method_details.card: extra cvv"]
