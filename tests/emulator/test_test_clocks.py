"""Test clocks: renewals, dunning (retries, past_due, cancellation), trials and
speed, driven through the official SDK."""

import time

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
from .conftest import control, pay_on_page, wait_for_webhooks


def test_clock_create_retrieve_list_delete(client, emulator, receiver, endpoint):
    clock = new_clock(client, 1_800_000_000, name="crud")
    assert (clock.object, clock.status, clock.frozen_time, clock.name) == (
        "test_helpers.test_clock", "ready", 1_800_000_000, "crud")
    assert clock.id.startswith("clock_") and clock.deletes_after > clock.created
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == 1_800_000_000
    assert [c.id for c in client.v1.test_helpers.test_clocks.list().data] == [clock.id]
    customer = clock_customer(client, clock)
    assert customer.test_clock == clock.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1_700_000_000})
    done = advance(client, clock, 1_800_000_000 + DAY)
    assert done.frozen_time == 1_800_000_000 + DAY and done.status_details.to_dict() == {}
    gone = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert gone.deleted is True
    assert client.v1.customers.retrieve(customer.id).deleted is True  # its customers go with it
    wait_for_webhooks(emulator)
    assert is_subsequence(["test_helpers.test_clock.created", "test_helpers.test_clock.advancing",
                           "test_helpers.test_clock.ready", "test_helpers.test_clock.deleted"], receiver.types())


def test_renewal_invoice_paid(client, emulator, receiver, endpoint):
    start = 1_800_000_000  # 2027-01-15 08:00 UTC
    clock = new_clock(client, start)
    customer = clock_customer(client, clock)
    price = recurring_price(client, 2000)
    sub = subscribe(client, customer, price)
    assert sub.status == "active" and sub.test_clock == clock.id and sub.start_date == start
    first_start, first_end = period(sub)
    assert (first_start, first_end) == (start, 1_802_678_400)  # 2027-02-15 08:00
    advance(client, clock, first_end + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and period(sub) == (first_end, 1_805_097_600)  # 2027-03-15
    invoices = client.v1.invoices.list(params={"subscription": sub.id}).data
    assert [(i.billing_reason, i.status, i.amount_paid) for i in invoices] == [
        ("subscription_cycle", "paid", 2000), ("subscription_create", "paid", 2000)]
    renewal = invoices[0]
    assert renewal.id == sub.latest_invoice and renewal.created == first_end
    assert (renewal.period_start, renewal.period_end) == (first_start, first_end)  # Stripe: the past period
    line = renewal.lines.data[0]
    assert (line.period.start, line.period.end) == (first_end, 1_805_097_600)
    assert line.parent.type == "subscription_item_details" and line.parent.subscription_item_details.proration is False
    wait_for_webhooks(emulator)
    events = receiver.events()
    kinds = types_for(events, sub.id)
    assert is_subsequence(["invoice.upcoming", "customer.subscription.updated", "invoice.created",
                           "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"], kinds)
    upcoming = next(e for e in events if e["type"] == "invoice.upcoming")
    assert "id" not in upcoming["data"]["object"] and upcoming["created"] == first_end - 3 * DAY
    assert upcoming["data"]["object"]["amount_due"] == 2000
    updated = [e for e in events if e["type"] == "customer.subscription.updated"][-1]
    assert "items" in updated["data"]["previous_attributes"]
    assert is_subsequence(["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"],
                          [e["type"] for e in events if e["created"] == first_end])


def test_0341_past_due_retries_then_canceled(client, emulator, receiver, endpoint):
    control(emulator, "billing/retry_schedule", {"days": [3, 5, 7]})
    start = 1_800_000_000
    clock = new_clock(client, start)
    customer = clock_customer(client, clock, card=None)
    price = recurring_price(client, 1500)
    # On the hosted page the 0341 card pays (on-session); renewals fail.
    session = subscription_session(client, price, customer=customer.id)
    assert pay_on_page(emulator, session, "4000000000000341")[0] == 303
    sub = client.v1.subscriptions.retrieve(client.v1.checkout.sessions.retrieve(session.id).subscription)
    assert sub.status == "active"
    renew_at = period(sub)[1]
    advance(client, clock, renew_at + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert sub.status == "past_due"
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 1, renew_at + 3 * DAY)
    advance(client, clock, renew_at + 3 * DAY + 60)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (2, renew_at + 8 * DAY)
    advance(client, clock, renew_at + 8 * DAY + 60)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (3, renew_at + 15 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "past_due"
    advance(client, clock, renew_at + 15 * DAY + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    invoice = client.v1.invoices.retrieve(invoice.id)
    assert sub.status == "canceled" and sub.ended_at == renew_at + 15 * DAY
    assert sub.cancellation_details.reason == "payment_failed"
    assert (invoice.status, invoice.attempt_count, invoice.next_payment_attempt) == ("open", 4, None)
    wait_for_webhooks(emulator)
    kinds = types_for(receiver.events(), sub.id)
    assert kinds.count("invoice.payment_failed") == 4
    assert is_subsequence(["invoice.finalized", "invoice.payment_failed", "customer.subscription.updated",
                           "invoice.payment_failed", "invoice.payment_failed", "invoice.payment_failed",
                           "customer.subscription.deleted"], kinds)
    failed = [e for e in receiver.events() if e["type"] == "payment_intent.payment_failed"]
    assert failed and failed[-1]["data"]["object"]["last_payment_error"]["code"] == "card_declined"
    # Nothing is attempted any more.
    advance(client, clock, renew_at + 60 * DAY)
    assert client.v1.invoices.retrieve(invoice.id).attempt_count == 4


def test_paying_after_failure_brings_the_subscription_back(client, emulator, receiver, endpoint):
    control(emulator, "billing/retry_schedule", {"days": [3, 5, 7]})
    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock)
    sub = subscribe(client, customer, recurring_price(client, 900))
    # The card on file becomes one that fails off-session.
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": bad.id}})
    advance(client, clock, period(sub)[1] + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "past_due"
    with pytest.raises(stripe.CardError) as err:
        client.v1.invoices.pay(sub.latest_invoice)
    assert err.value.code == "card_declined"
    good = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": good.id}})
    paid = client.v1.invoices.pay(sub.latest_invoice)
    assert paid.status == "paid" and paid.attempt_count == 3 and paid.next_payment_attempt is None
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    wait_for_webhooks(emulator)
    kinds = types_for(receiver.events(), sub.id)
    assert is_subsequence(["invoice.payment_failed", "invoice.paid", "customer.subscription.updated"], kinds)
    last = [e for e in receiver.events() if e["type"] == "customer.subscription.updated"][-1]
    assert last["data"]["previous_attributes"]["status"] == "past_due"
    # The retry schedule no longer applies to the paid invoice.
    advance(client, clock, period(sub)[0] + 10 * DAY)
    assert client.v1.invoices.retrieve(paid.id).attempt_count == 3


def test_unpaid_final_action(client, emulator):
    control(emulator, "billing/retry_schedule", {"days": [1], "final_action": "unpaid"})
    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock)
    sub = subscribe(client, customer, recurring_price(client, 900))
    bad = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", params={"customer": customer.id})
    client.v1.subscriptions.update(sub.id, params={"default_payment_method": bad.id})
    advance(client, clock, period(sub)[1] + 2 * DAY)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "unpaid"
    assert client.v1.invoices.retrieve(sub.latest_invoice).attempt_count == 2
    control(emulator, "billing/retry_schedule", {"days": [3, 5, 7], "final_action": "cancel"})


def test_trial_ends_on_the_clock(client, emulator, receiver, endpoint):
    start = 1_800_000_000
    clock = new_clock(client, start)
    customer = clock_customer(client, clock)
    price = recurring_price(client, 1200)
    sub = subscribe(client, customer, price, trial_period_days=14)
    assert sub.status == "trialing" and sub.trial_end == start + 14 * DAY
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.amount_due, first.status, first.lines.data[0].description) == (0, "paid", "Trial period for Basic")
    advance(client, clock, start + 12 * DAY)
    assert client.v1.subscriptions.retrieve(sub.id).status == "trialing"
    advance(client, clock, start + 14 * DAY + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active" and sub.billing_cycle_anchor == start + 14 * DAY
    assert period(sub)[0] == start + 14 * DAY
    invoice = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (invoice.billing_reason, invoice.amount_paid, invoice.status) == ("subscription_cycle", 1200, "paid")
    wait_for_webhooks(emulator)
    events = receiver.events()
    notice = next(e for e in events if e["type"] == "customer.subscription.trial_will_end")
    assert notice["created"] == start + 11 * DAY
    assert is_subsequence(["customer.subscription.trial_will_end", "invoice.upcoming",
                           "customer.subscription.updated", "invoice.paid"], types_for(events, sub.id))


def test_cancel_at_period_end_on_the_clock(client):
    clock = new_clock(client, 1_800_000_000)
    customer = clock_customer(client, clock)
    sub = subscribe(client, customer, recurring_price(client))
    sub = client.v1.subscriptions.update(sub.id, params={"cancel_at_period_end": True})
    end = period(sub)[1]
    assert sub.cancel_at == end and sub.status == "active"
    advance(client, clock, end + 60)
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == end
    assert len(client.v1.invoices.list(params={"subscription": sub.id}).data) == 1


def test_a_thousand_subscriptions_cross_a_month_quickly(client, emulator):
    clock = new_clock(client, 1_800_000_000)
    price = recurring_price(client, 1000)
    count = 300  # the benchmark does 1,000; keep the suite fast
    for i in range(count):
        customer = clock_customer(client, clock, email=f"c{i}@example.com")
        subscribe(client, customer, price)
    started = time.monotonic()
    advance(client, clock, 1_800_000_000 + 32 * DAY)
    elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    renewed = client.v1.invoices.list(params={"status": "paid", "limit": 100})
    assert all(i.billing_reason == "subscription_cycle" for i in renewed.data)
    subs = client.v1.subscriptions.list(params={"test_clock": clock.id, "limit": 100})
    assert all(period(s)[0] == 1_802_678_400 for s in subs.data)
