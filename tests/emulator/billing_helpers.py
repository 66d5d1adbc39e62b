"""Helpers for the subscription / test clock tests."""

import time

from .conftest import new_session

DAY = 86400


def recurring_price(client, amount=2000, interval="month", name="Basic", currency="eur", **recurring):
    return client.v1.prices.create(params={
        "currency": currency, "unit_amount": amount, "product_data": {"name": name},
        "recurring": {"interval": interval, **recurring}})


def subscription_session(client, price, **extra):
    params = dict(mode="subscription", line_items=[{"price": price.id, "quantity": 1}])
    params.update(extra)
    return new_session(client, **params)


def new_clock(client, frozen_time=None, name="test"):
    return client.v1.test_helpers.test_clocks.create(params={
        "frozen_time": frozen_time or int(time.time()), "name": name})


def advance(client, clock, to, timeout=60):
    """Advance `clock` to `to` and wait until it is ready again."""
    started = client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})
    assert started.status == "advancing"
    deadline = time.monotonic() + timeout
    while True:
        current = client.v1.test_helpers.test_clocks.retrieve(clock.id)
        if current.status == "ready":
            return current
        assert time.monotonic() < deadline, "test clock did not finish advancing"
        time.sleep(0.01)


def clock_customer(client, clock, card="pm_card_visa", **extra):
    params = {"email": "clock@example.com", "test_clock": clock.id}
    if card:
        params.update(payment_method=card, invoice_settings={"default_payment_method": card})
    params.update(extra)
    return client.v1.customers.create(params=params)


def subscribe(client, customer, price, **extra):
    return client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}], **extra})


def period(sub):
    item = sub["items"].data[0]
    return item.current_period_start, item.current_period_end


def types_for(events, obj_id):
    """Event types (in order) whose object is, or belongs to, `obj_id`."""
    found = []
    for event in events:
        obj = event["data"]["object"]
        parent = (obj.get("parent") or {}).get("subscription_details") or {}
        if obj_id in (obj.get("id"), obj.get("subscription"), parent.get("subscription"), obj.get("customer")):
            found.append(event["type"])
    return found


def is_subsequence(wanted, seen):
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)
