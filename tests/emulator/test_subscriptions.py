"""Subscriptions through Checkout (hosted page form posts), setup mode, price
changes with proration previews, cancellation: all through the official SDK."""

import urllib.parse

import pytest
import stripe

from .billing_helpers import (
    DAY,
    advance,
    clock_customer,
    is_subsequence,
    new_clock,
    period,
    recurring_price,
    subscribe,
    subscription_session,
    types_for,
)
from .conftest import new_session, pay_on_page, raw, wait_for_webhooks


def _path(url):
    return urllib.parse.urlsplit(url).path


def test_subscription_checkout_on_the_hosted_page(client, emulator, receiver, endpoint):
    price = recurring_price(client, 2000, name="Basic")
    session = subscription_session(client, price, customer_email="sub@example.com", client_reference_id="user-7",
                                   metadata={"user": "7"}, subscription_data={"metadata": {"plan": "basic"}})
    assert session.mode == "subscription" and session.amount_total == 2000 and session.currency == "eur"
    status, _, page = raw(emulator, "GET", _path(session.url))
    assert status == 200 and "Subscribe" in page and "€20.00 per month" in page
    status, headers, _ = pay_on_page(emulator, session, "4242424242424242", email="sub@example.com")
    assert status == 303 and session.id in headers["location"]

    done = client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status, done.client_reference_id) == ("complete", "paid", "user-7")
    assert done.subscription.startswith("sub_") and done.invoice.startswith("in_")
    sub = client.v1.subscriptions.retrieve(done.subscription)
    assert sub.status == "active" and sub.customer == done.customer and sub.metadata.to_dict() == {"plan": "basic"}
    assert sub.latest_invoice == done.invoice
    item = sub["items"].data[0]
    assert item.object == "subscription_item" and item.price.id == price.id and item.plan.amount == 2000
    assert item.current_period_end > item.current_period_start
    customer = client.v1.customers.retrieve(sub.customer)
    assert customer.email == "sub@example.com"
    pm = client.v1.payment_methods.retrieve(customer.invoice_settings.default_payment_method)
    assert pm.customer == customer.id and pm.card.last4 == "4242"
    invoice = client.v1.invoices.retrieve(done.invoice, params={"expand": ["payments"]})
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == ("paid", 2000, "subscription_create")
    # Since basil only `parent` says which subscription an invoice bills.
    assert "subscription" not in invoice and invoice.parent.subscription_details.subscription == sub.id
    assert invoice.number.startswith(customer.invoice_prefix)
    line = invoice.lines.data[0]
    assert (line.amount, line.description) == (2000, "1 × Basic (at €20.00 / month)")
    assert line.pricing.price_details.price == price.id
    pi = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert pi.status == "succeeded" and pi.amount == 2000 and pi.customer == customer.id
    assert client.v1.charges.retrieve(pi.latest_charge).status == "succeeded"
    lines = client.v1.invoices.line_items.list(invoice.id)
    assert [x.id for x in lines.data] == [line.id]
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data[0].id == sub.id
    assert client.v1.subscription_items.retrieve(item.id).subscription == sub.id

    wait_for_webhooks(emulator)
    events = [e for e in receiver.events() if not e["type"].startswith(("product.", "price."))]
    assert [e["type"] for e in events] == [
        "customer.created", "customer.subscription.created", "invoice.created", "invoice.finalized",
        "payment_intent.created", "payment_method.attached", "customer.updated", "charge.succeeded",
        "payment_intent.succeeded", "invoice.paid", "invoice.payment_succeeded", "invoice_payment.paid",
        "customer.subscription.updated", "checkout.session.completed"]
    created = events[1]["data"]["object"]
    assert created["status"] == "incomplete"
    updated = events[-2]["data"]
    assert updated["object"]["status"] == "active" and updated["previous_attributes"]["status"] == "incomplete"


def test_declined_card_then_retry_on_the_same_session(client, emulator):
    price = recurring_price(client, 1000)
    session = subscription_session(client, price)
    status, _, page = pay_on_page(emulator, session, "4000000000000002")
    assert status == 402 and "Your card was declined." in page
    open_session = client.v1.checkout.sessions.retrieve(session.id)
    assert open_session.status == "open"
    sub = client.v1.subscriptions.list(params={"status": "incomplete"}).data[0]
    assert client.v1.invoices.retrieve(sub.latest_invoice).status == "open"
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.subscription == sub.id and client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_3d_secure_card_on_subscription_checkout(client, emulator):
    session = subscription_session(client, recurring_price(client, 1000))
    status, headers, _ = pay_on_page(emulator, session, "4000002500003155")
    assert status == 303 and headers["location"].startswith("/c/3ds/")
    status, headers, _ = raw(emulator, "POST", headers["location"], {"action": "complete"})
    assert status == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete" and client.v1.subscriptions.retrieve(done.subscription).status == "active"


def test_trial_checkout(client, emulator, receiver, endpoint):
    price = recurring_price(client, 1500, name="Pro")
    session = subscription_session(client, price, subscription_data={"trial_period_days": 14})
    assert session.amount_total == 0
    page = raw(emulator, "GET", _path(session.url))[2]
    assert "14 days free" in page and "€15.00 per month" in page and "Subscribe" in page
    assert pay_on_page(emulator, session, "4242424242424242")[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.payment_status == "no_payment_required"
    sub = client.v1.subscriptions.retrieve(done.subscription)
    assert sub.status == "trialing" and sub.trial_end - sub.trial_start == 14 * DAY
    assert period(sub) == (sub.trial_start, sub.trial_end)
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 0, 0)
    assert invoice.lines.data[0].description == "Trial period for Pro"
    customer = client.v1.customers.retrieve(sub.customer)
    assert customer.invoice_settings.default_payment_method
    wait_for_webhooks(emulator)
    types = receiver.types()
    assert "payment_intent.created" not in types and "charge.succeeded" not in types
    assert is_subsequence(["customer.created", "setup_intent.created", "payment_method.attached",
                           "setup_intent.succeeded", "customer.updated", "customer.subscription.created",
                           "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded",
                           "checkout.session.completed"], types)
    assert receiver.events()[types.index("customer.subscription.created")]["data"]["object"]["status"] == "trialing"


def test_setup_mode_replaces_the_card(client, emulator, receiver, endpoint):
    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock, card="pm_card_chargeCustomerFail")
    sub = subscribe(client, customer, recurring_price(client, 1000))
    assert sub.status == "incomplete"  # 0341 fails off-session charges, the first one too
    # The customer saves another card through a setup-mode session.
    session = new_session(client, mode="setup", line_items=None, customer=customer.id, currency="eur",
                          setup_intent_data={"metadata": {"purpose": "replace"}})
    assert session.mode == "setup" and session.setup_intent.startswith("seti_") and session.amount_total is None
    page = raw(emulator, "GET", _path(session.url))[2]
    assert "Save card" in page
    assert pay_on_page(emulator, session, "4000000000000002")[0] == 402  # declines are refused
    assert pay_on_page(emulator, session, "5555555555554444")[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["setup_intent"]})
    seti = done.setup_intent
    assert done.status == "complete" and seti.status == "succeeded" and seti.metadata.to_dict() == {
        "purpose": "replace"}
    new_pm = client.v1.payment_methods.retrieve(seti.payment_method)
    assert new_pm.customer == customer.id and new_pm.card.last4 == "4444"
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": new_pm.id}})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": new_pm.id})
    paid = client.v1.invoices.pay(sub.latest_invoice)
    assert paid.status == "paid"
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.default_payment_method == new_pm.id
    wait_for_webhooks(emulator)
    assert is_subsequence(["setup_intent.created", "setup_intent.setup_failed", "payment_method.attached",
                           "setup_intent.succeeded", "checkout.session.completed"], receiver.types())
    # A 0341 card attaches fine in setup mode.
    other = new_session(client, mode="setup", line_items=None, customer=customer.id, currency="eur")
    assert pay_on_page(emulator, other, "4000000000000341")[0] == 303


def test_price_change_preview_matches_the_invoice(client, emulator):
    start = 1_800_000_000
    clock = new_clock(client, start)
    customer = clock_customer(client, clock)
    basic = recurring_price(client, 1000, name="Basic")
    pro = recurring_price(client, 3000, name="Pro")
    sub = subscribe(client, customer, basic)
    advance(client, clock, start + 10 * DAY)
    item = sub["items"].data[0]
    when = start + 10 * DAY
    preview = client.v1.invoices.create_preview(params={
        "customer": customer.id, "subscription": sub.id,
        "subscription_details": {"items": [{"id": item.id, "price": pro.id}], "proration_date": when,
                                 "proration_behavior": "create_prorations"}})
    assert preview.object == "invoice" and preview.id.startswith("upcoming_in_")
    start_, end = period(sub)
    total, remaining = end - start_, end - when
    credit = -((2 * 1000 * remaining + total) // (2 * total))
    charge = (2 * 3000 * remaining + total) // (2 * total)
    prorations = [(x.amount, x.description) for x in preview.lines.data
                  if x.parent.subscription_item_details.proration]
    assert prorations == [(credit, "Unused time on Basic after 25 Jan 2027"),
                          (charge, "Remaining time on Pro after 25 Jan 2027")]
    assert preview.amount_due == credit + charge + 3000
    updated = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "price": pro.id}], "proration_date": when})
    assert updated["items"].data[0].price.id == pro.id and updated.latest_invoice == sub.latest_invoice
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert sorted(ii.amount for ii in pending) == sorted([credit, charge]) and all(ii.proration for ii in pending)
    advance(client, clock, end + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert renewal.amount_paid == preview.amount_due
    assert [(x.amount, x.description) for x in renewal.lines.data] == [
        (x.amount, x.description) for x in preview.lines.data]
    credit_line = renewal.lines.data[0]
    credited = credit_line.parent.subscription_item_details.proration_details.credited_items
    assert credited.invoice == sub.latest_invoice


def test_always_invoice_and_none(client, emulator):
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                                  "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    basic, pro = recurring_price(client, 1000), recurring_price(client, 3000, name="Pro")
    sub = subscribe(client, customer, basic)
    item = sub["items"].data[0]
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {
        "items": [{"id": item.id, "price": pro.id}], "proration_behavior": "always_invoice"}})
    sub = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": pro.id}],
                                                         "proration_behavior": "always_invoice"})
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    assert abs(invoice.amount_paid - preview.amount_due) <= 1  # seconds passed between the two
    assert invoice.amount_paid == pytest.approx(2000, abs=2)
    sub = client.v1.subscriptions.update(sub.id, params={"items": [{"id": item.id, "price": basic.id}],
                                                         "proration_behavior": "none"})
    assert sub.latest_invoice == invoice.id
    assert client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data == []


def test_cancel_at_period_end_then_resume(client, emulator, receiver, endpoint):
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                                  "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = subscribe(client, customer, recurring_price(client))
    canceling = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    assert canceling.cancel_at_period_end is True and canceling.cancel_at == period(sub)[1]
    assert canceling.status == "active" and canceling.cancellation_details.reason == "cancellation_requested"
    resumed = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": False})
    assert resumed.cancel_at_period_end is False and resumed.cancel_at is None and resumed.canceled_at is None
    wait_for_webhooks(emulator)
    updates = [e["data"] for e in receiver.events() if e["type"] == "customer.subscription.updated"]
    assert updates[-2]["previous_attributes"]["cancel_at_period_end"] is False
    assert updates[-1]["previous_attributes"]["cancel_at_period_end"] is True


def test_cancel_now(client, emulator, receiver, endpoint):
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                                  "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = subscribe(client, customer, recurring_price(client, 3000))
    canceled = client.v1.subscriptions.cancel(sub.id, params={"invoice_now": True, "prorate": True})
    assert canceled.status == "canceled" and canceled.ended_at and canceled.canceled_at
    final = client.v1.invoices.retrieve(canceled.latest_invoice)
    assert final.total < 0 and final.amount_due == 0 and final.status == "paid"
    assert client.v1.customers.retrieve(customer.id).balance == final.total  # credit kept for later
    assert client.v1.subscriptions.retrieve(sub.id).status == "canceled"
    assert client.v1.subscriptions.list(params={"customer": customer.id}).data == []
    assert client.v1.subscriptions.list(params={"customer": customer.id, "status": "all"}).data[0].id == sub.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.cancel(sub.id)
    wait_for_webhooks(emulator)
    assert types_for(receiver.events(), sub.id)[-1] == "customer.subscription.deleted"


def test_api_create_and_filters(client, emulator):
    clock = new_clock(client, 1_800_000_000)
    good = clock_customer(client, clock)
    price = recurring_price(client, 700, interval="year")
    sub = subscribe(client, good, price, metadata={"k": "v"})
    assert sub.status == "active" and period(sub) == (1_800_000_000, 1_831_536_000)
    assert client.v1.subscriptions.list(params={"price": price.id}).data[0].id == sub.id
    assert client.v1.subscriptions.list(params={"test_clock": clock.id}).data[0].id == sub.id
    assert client.v1.subscriptions.list(params={"status": "trialing"}).data == []
    paid = client.v1.invoices.list(params={"customer": good.id, "status": "paid"}).data[0]
    assert paid.parent.subscription_details.subscription == sub.id
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.invoices.create_preview(params={"customer": client.v1.customers.create().id})
    assert "Nothing to invoice" in str(err.value)
    bad = clock_customer(client, clock, card="pm_card_chargeDeclined")
    with pytest.raises(stripe.CardError):
        subscribe(client, bad, price, payment_behavior="error_if_incomplete")


def test_subscriptions_off_any_test_clock_renew_with_the_emulator_clock(client, emulator):
    from .conftest import control

    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa",
                                                  "invoice_settings": {"default_payment_method": "pm_card_visa"}})
    sub = subscribe(client, customer, recurring_price(client, 800, interval="week"))
    control(emulator, "clock/advance", {"seconds": 8 * DAY})
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [(i.billing_reason, i.status) for i in invoices] == [
        ("subscription_cycle", "paid"), ("subscription_create", "paid")]
    assert period(client.v1.subscriptions.retrieve(sub.id))[0] == period(sub)[1]


def test_changing_from_monthly_to_yearly_credits_unused_time_and_bills_the_new_year(client, emulator):
    # Stripe restarts the cycle when the interval changes: the invoice is the
    # credit for the unused month plus the full new year, no "remaining time" line.
    start = 1_800_000_000
    clock = new_clock(client, start)
    customer = clock_customer(client, clock)
    sub = subscribe(client, customer, recurring_price(client, 3000, interval="month"))
    month_start, month_end = period(sub)
    halfway = month_start + (month_end - month_start) // 2
    advance(client, clock, halfway)
    yearly = recurring_price(client, 30000, interval="year")
    item = sub["items"].data[0].id

    preview = client.v1.invoices.create_preview(params={
        "customer": customer.id, "subscription": sub.id,
        "subscription_details": {"items": [{"id": item, "price": yearly.id}], "proration_date": halfway},
    })
    updated = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item, "price": yearly.id}], "proration_date": halfway,
    })

    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    amounts = sorted(line.amount for line in client.v1.invoices.line_items.list(invoice.id).data)
    assert amounts == [-1500, 30000]
    assert invoice.total == preview.total == 28500
    assert period(updated) == (halfway, halfway + 365 * 86400)
