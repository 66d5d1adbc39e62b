"""Webhook delivery: Stripe's signature, retries, concurrency, injected faults."""

import time

import pytest
import stripe

from stripe_emulator import EmulatorServer

from .conftest import API_KEY, FAST, control, new_session, pay_on_page, wait_for_webhooks


def _customers(client, n):
    return [client.v1.customers.create(params={"email": f"w{i}@example.com"}).id for i in range(n)]


def _created_ids(receiver):
    return [e["data"]["object"]["id"] for e in receiver.arrived() if e["type"] == "customer.created"]


def test_signed_delivery_verifies_with_the_sdk(client, emulator, receiver, endpoint):
    customer = client.v1.customers.create(params={"email": "sig@example.com"}, options={"idempotency_key": "k-sig"})
    wait_for_webhooks(emulator)
    [request] = receiver.requests
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    event = stripe.Webhook.construct_event(request["body"], headers["Stripe-Signature"], endpoint.secret)
    assert event.type == "customer.created" and event.data.object.id == customer.id
    assert event.livemode is False and event.api_version == "2026-05-27.dahlia"
    assert event["request"]["idempotency_key"] == "k-sig" and event["request"]["id"].startswith("req_")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request["body"], headers["Stripe-Signature"], "whsec_wrong")
    stored = client.v1.events.retrieve(event.id)
    assert stored.data.object.id == customer.id and stored.pending_webhooks == 0
    attempts = control(emulator, "deliveries", method="GET")["data"]
    assert [(a["event_id"], a["status_code"], a["attempt"]) for a in attempts] == [(event.id, 200, 1)]
    assert attempts[0]["response_body"] == "ok" and attempts[0]["url"] == receiver.url


def test_updated_events_carry_previous_attributes(client, emulator, receiver, endpoint):
    customer = client.v1.customers.create(params={"email": "old@example.com"})
    client.v1.customers.update(customer.id, params={"email": "new@example.com"})
    wait_for_webhooks(emulator)
    updated = receiver.events()[-1]
    assert updated["type"] == "customer.updated"
    assert updated["data"]["previous_attributes"] == {"email": "old@example.com"}
    assert updated["data"]["object"]["email"] == "new@example.com"


def test_enabled_events_filter_and_endpoint_api_version(client, emulator, receiver):
    endpoint = client.v1.webhook_endpoints.create(params={
        "url": receiver.url, "enabled_events": ["product.created"], "api_version": "2025-01-27.acacia"})
    client.v1.customers.create(params={"email": "x@example.com"})
    client.v1.products.create(params={"name": "Only this"})
    wait_for_webhooks(emulator)
    [event] = receiver.events()
    assert event["type"] == "product.created" and event["api_version"] == "2025-01-27.acacia"
    assert endpoint.api_version == "2025-01-27.acacia"


def test_a_failing_delivery_is_retried_without_holding_up_the_others(client, emulator, receiver, endpoint):
    # Stripe retries with backoff and promises no order: the other events
    # go out while the failed one waits for its retry.
    receiver.failures = {"w0@example.com": 2}
    ids = _customers(client, 3)
    wait_for_webhooks(emulator)
    assert sorted(_created_ids(receiver)) == sorted(ids)
    [event_id] = [e["id"] for e in receiver.events() if e["data"]["object"]["id"] == ids[0]]
    attempts = control(emulator, "deliveries?event_type=customer.created", method="GET")["data"]
    assert [(a["attempt"], a["status_code"]) for a in attempts if a["event_id"] == event_id] == [
        (1, 500), (2, 500), (3, 200)]
    assert client.v1.events.retrieve(event_id).pending_webhooks == 0


def test_unreachable_endpoint_gives_up_after_max_attempts(client, emulator):
    endpoint = client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/nothing",
                                                          "enabled_events": ["*"]})
    client.v1.customers.create(params={"email": "lost@example.com"})
    # 8 attempts with 0.05 s base backoff: about 6.4 s; just check it is retrying.
    time.sleep(0.3)
    attempts = control(emulator, "deliveries", method="GET")["data"]
    assert attempts and attempts[0]["status_code"] is None and "Error" in attempts[0]["error"]
    assert endpoint.id == attempts[0]["endpoint_id"]
    client.v1.webhook_endpoints.delete(endpoint.id)  # moot deliveries are dropped
    wait_for_webhooks(emulator)


def test_fault_drop(client, emulator, receiver, endpoint):
    control(emulator, "webhooks/faults", {"action": "drop", "count": 1})
    ids = _customers(client, 2)
    wait_for_webhooks(emulator)
    assert _created_ids(receiver) == ids[1:]
    assert control(emulator, "deliveries", method="GET")["data"][0]["fault"] == "drop"


def test_fault_duplicate(client, emulator, receiver, endpoint):
    control(emulator, "webhooks/faults", {"action": "duplicate", "count": 1})
    ids = _customers(client, 2)
    wait_for_webhooks(emulator)
    assert sorted(_created_ids(receiver)) == sorted([ids[0], ids[0], ids[1]])


def test_fault_delay_lets_later_events_overtake(client, emulator, receiver, endpoint):
    control(emulator, "webhooks/faults", {"action": "delay", "count": 1, "delay_ms": 300})
    ids = _customers(client, 2)
    wait_for_webhooks(emulator)
    assert _created_ids(receiver) == [ids[1], ids[0]]


def test_fault_reorder_with_concurrent_delivery(client, emulator, receiver, endpoint):
    # The batch goes out newest first, one after the other, even with 8 workers.
    control(emulator, "webhooks/faults", {"action": "reorder", "count": 6})
    ids = _customers(client, 7)
    wait_for_webhooks(emulator)
    arrived = _created_ids(receiver)
    assert [i for i in arrived if i != ids[6]] == list(reversed(ids[:6])) and ids[6] in arrived


def test_checkout_webhook_verifies(client, emulator, receiver, endpoint):
    session = new_session(client)
    pay_on_page(emulator, session, "4242424242424242")
    wait_for_webhooks(emulator)
    completed = [r for r in receiver.requests if '"checkout.session.completed"' in r["body"]]
    event = stripe.Webhook.construct_event(completed[0]["body"], completed[0]["headers"]["Stripe-Signature"],
                                           endpoint.secret)
    assert event.data.object.id == session.id and event.data.object.payment_status == "paid"


def _timed_burst(server, receiver, count):
    """Seconds from creating `count` customers (one event each) to the last
    delivery, on `server`, and the receiver's peak of requests at once."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url})
    client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["customer.created"]})
    receiver.peak = 0
    started = time.monotonic()
    _customers(client, count)
    wait_for_webhooks(server, timeout=30)
    return time.monotonic() - started, receiver.peak


def test_slow_deliveries_to_one_endpoint_go_out_concurrently(receiver):
    receiver.delay = 0.25
    with EmulatorServer(api_key=API_KEY, webhook_concurrency=1, **FAST) as serial:
        serial_time, serial_peak = _timed_burst(serial, receiver, 8)
    with EmulatorServer(api_key=API_KEY, webhook_concurrency=4, **FAST) as concurrent:
        concurrent_time, concurrent_peak = _timed_burst(concurrent, receiver, 8)
    assert len(receiver.events()) == 16
    assert (serial_peak, concurrent_peak) == (1, 4)
    assert serial_time >= 8 * 0.25
    # 8 deliveries 4 at a time: about a quarter of the serial time.
    assert 2 * 0.25 <= concurrent_time <= serial_time / 4 + 0.4
