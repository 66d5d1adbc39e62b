"""Every object the emulator returns, and every event it sends, has the shape
of the pinned API version: the fields the official SDK declares (no unknown
key, the right types and enum values, null only where allowed) and every key
Stripe always sends (its fixture of the object). See shapes.py."""

import io
import json
import urllib.parse

import stripe

from .conftest import API_KEY, control, new_session, pay_on_page, raw, wait_for_webhooks
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
    objects.append(client.v1.products.delete(client.v1.products.create(params={"name": "Gone"}).id).to_dict())
    spare = client.v1.webhook_endpoints.create(params={"url": "https://example.com/hook", "enabled_events": ["*"]})
    objects.append(client.v1.webhook_endpoints.delete(spare.id).to_dict())
    files = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url, "files": emulator.url})
    upload = io.BytesIO(b"%PDF-1.4 evidence")
    upload.name = "evidence.pdf"
    objects.append(files.v1.files.create(params={"purpose": "dispute_evidence", "file": upload}).to_dict())

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
                 "/v1/products", "/v1/prices", "/v1/checkout/sessions", "/v1/files",
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
                "dispute", "file"}
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


def _discount_objects(client, emulator):
    """Coupons, promotion codes, discounts (on a subscription, an invoice, an
    invoice item, a Checkout Session), tax IDs, invoices made through the API,
    and what is deleted of them."""
    from .billing_helpers import DAY, advance, clock_customer, new_clock, recurring_price, subscribe

    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock)
    price = recurring_price(client, 1000)
    pct = client.v1.coupons.create(params={"percent_off": 25, "duration": "repeating", "duration_in_months": 2,
                                           "name": "Quarter"})
    off = client.v1.coupons.create(params={"amount_off": 200, "currency": "eur", "max_redemptions": 5,
                                           "redeem_by": 1_900_000_000})
    promo = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": pct.id}, "code": "QUARTER",
        "restrictions": {"minimum_amount": 100, "minimum_amount_currency": "eur"}})
    sub = subscribe(client, customer, price, discounts=[{"promotion_code": promo.id}])
    draft = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur",
                                              "discounts": [{"coupon": off.id}]})
    item = client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id, "amount": 900,
                                                  "currency": "eur", "discounts": [{"coupon": pct.id}]})
    client.v1.invoices.finalize_invoice(draft.id)
    gone = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur"})
    doomed = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 5, "currency": "eur"})
    deleted_item = client.v1.invoice_items.delete(doomed.id).to_dict()  # before a renewal takes it
    advance(client, clock, 1_800_000_000 + 70 * DAY)  # renewals, and the repeating discount ends
    session = new_session(client, allow_promotion_codes=True, billing_address_collection="required",
                          tax_id_collection={"enabled": True}, line_items=[
                              {"price_data": {"currency": "eur", "unit_amount": 1500, "product_data": {"name": "X"}},
                               "quantity": 1}])
    raw(emulator, "POST", urllib.parse.urlsplit(session.url).path + "/promotion_code", {"promotion_code": "QUARTER"})
    raw(emulator, "POST", urllib.parse.urlsplit(session.url).path, {
        "email": "tax@example.com", "number": "4242424242424242", "exp": "12 / 34", "cvc": "123",
        "line1": "Kungsgatan 1", "postal_code": "11143", "city": "Stockholm", "country": "SE",
        "business_name": "Ab AB", "tax_id": "SE123456789701"})
    tax_customer = client.v1.checkout.sessions.retrieve(session.id).customer
    tax_id = client.v1.customers.tax_ids.create(tax_customer, params={"type": "gb_vat", "value": "GB123456789"})
    objects = [pct.to_dict(), off.to_dict(), promo.to_dict(), item.to_dict(),
               client.v1.invoices.delete(gone.id).to_dict(), deleted_item,
               client.v1.customers.tax_ids.delete(tax_customer, tax_id.id).to_dict()]
    temp = client.v1.subscriptions.update(sub.id, params={"discounts": [{"coupon": off.id}]})
    objects.append(client.v1.subscriptions.delete_discount(temp.id).to_dict())
    expand = "expand[]=data.discounts&expand[]=data.total_discount_amounts.discount"
    for path in (f"/v1/invoices?limit=100&{expand}", f"/v1/invoices/{draft.id}/lines?expand[]=data.discounts",
                 f"/v1/subscriptions/{sub.id}?expand[]=discounts.promotion_code",
                 f"/v1/checkout/sessions/{session.id}?expand[]=customer.tax_ids&expand[]=discounts.promotion_code",
                 f"/v1/checkout/sessions/{session.id}/line_items", "/v1/coupons", "/v1/promotion_codes",
                 f"/v1/coupons/{pct.id}", f"/v1/invoiceitems?customer={customer.id}"):
        objects.append(_get(emulator, path))
    objects.append(client.v1.coupons.delete(off.id).to_dict())
    return objects


def test_discount_and_invoice_objects_have_the_pinned_shape(client, emulator, receiver, endpoint):
    objects = _discount_objects(client, emulator)
    wait_for_webhooks(emulator)
    assert _all_problems(objects, receiver.events()) == []
    seen = collect([objects, receiver.events()], {})
    assert {"coupon", "promotion_code", "discount", "tax_id", "invoice", "invoiceitem", "line_item",
            "item"} <= set(seen)
    types = {e["type"] for e in receiver.events()}
    assert {"coupon.created", "coupon.deleted", "promotion_code.created", "customer.discount.created",
            "customer.discount.deleted", "customer.tax_id.created", "customer.tax_id.deleted", "invoice.deleted",
            "invoiceitem.deleted"} <= types


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
