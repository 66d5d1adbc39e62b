"""Every object the emulator returns, and every event it sends, has the shape
of the pinned API version: the fields the official SDK declares (no unknown
key, the right types and enum values, null only where allowed) and every key
Stripe always sends (its fixture of the object). See shapes.py."""

import json
import urllib.parse

from .conftest import control, new_session, pay_on_page, raw, wait_for_webhooks
from .shapes import FIXTURES, collect, problems


def _all_problems(objects, events):
    found = []
    for obj in objects:
        found += problems(obj)
    for event in events:
        found += problems(event)
    return found


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


def test_every_object_has_the_pinned_shape(client, emulator, receiver, endpoint):
    objects = _every_kind_of_object(client, emulator, receiver, endpoint)
    assert _all_problems(objects, receiver.events()) == []
    seen = collect([objects, receiver.events()], {})
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


def test_billing_objects_have_the_pinned_shape(client, emulator, receiver, endpoint):
    objects = _billing_objects(client, emulator)
    wait_for_webhooks(emulator)
    assert _all_problems(objects, receiver.events()) == []
    seen = collect([objects, receiver.events()], {})
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
    customer.update(object="customer", id="cus_1", metadata={"anything": "goes"}, created=1, livemode=False,
                    balance=0, delinquent=False, invoice_prefix="ABC", next_invoice_sequence=1,
                    preferred_locales=[], tax_exempt="none", invoice_settings=None)
    assert [p for p in problems(customer) if "invoice_settings" not in p] == []
    assert "customer: unknown key surprise" in problems(dict(customer, surprise=1))
    del customer["email"]
    assert "customer: missing email" in problems(customer)
    assert "customer.tax_exempt: 'sometimes' is not one of ['exempt', 'none', 'reverse']" in problems(
        dict(customer, tax_exempt="sometimes"))
    invoice = dict(json.loads(json.dumps(FIXTURES["invoice"])))
    assert "invoice: unknown key subscription" in problems(invoice)  # gone since basil
    session = dict(json.loads(json.dumps(FIXTURES["checkout.session"])), ui_mode="hosted")
    assert any("checkout.session.ui_mode: 'hosted'" in p for p in problems(session))
