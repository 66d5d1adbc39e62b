"""Webhook delivery one at a time (`webhook_concurrency=1`): a lane then sends
in the order events fall due, which makes the order-bending faults visible."""

import pytest

from stripe_emulator import EmulatorServer

from .conftest import API_KEY, FAST, control, wait_for_webhooks


@pytest.fixture(scope="module")
def emulator():
    # A slower first retry than FAST's, so the later events surely go first.
    options = dict(FAST, webhook_retry_base=0.5)
    server = EmulatorServer(host="127.0.0.1", port=0, api_key=API_KEY, webhook_concurrency=1, **options).start()
    yield server
    server.stop()


def _created_ids(receiver):
    return [e["data"]["object"]["id"] for e in receiver.arrived() if e["type"] == "customer.created"]


def _customers(client, n):
    return [client.v1.customers.create(params={"email": f"o{i}@example.com"}).id for i in range(n)]


def test_one_at_a_time_in_order(client, emulator, receiver, endpoint):
    ids = _customers(client, 5)
    wait_for_webhooks(emulator)
    assert _created_ids(receiver) == ids and receiver.peak == 1


def test_fault_reorder(client, emulator, receiver, endpoint):
    control(emulator, "webhooks/faults", {"action": "reorder", "count": 3})
    assert control(emulator, "webhooks/faults", method="GET")["faults"][0]["action"] == "reorder"
    ids = _customers(client, 4)
    wait_for_webhooks(emulator)
    assert _created_ids(receiver) == [ids[2], ids[1], ids[0], ids[3]]
    assert control(emulator, "webhooks/faults", method="DELETE") == {"faults": []}


def test_a_retry_waits_while_later_events_go_first(client, emulator, receiver, endpoint):
    receiver.failures = {"o0@example.com": 1}
    ids = _customers(client, 3)
    wait_for_webhooks(emulator)
    assert _created_ids(receiver) == [ids[1], ids[2], ids[0]]
