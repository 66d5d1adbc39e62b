"""State survives a restart when a state file is given."""

import json

import stripe

from stripe_emulator import EmulatorServer

from .conftest import API_KEY, FAST


def test_state_survives_restart(tmp_path):
    state = tmp_path / "emulator.json"
    with EmulatorServer(port=0, api_key=API_KEY, state_path=str(state), **FAST) as first:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": first.url})
        customer = client.v1.customers.create(params={"email": "keep@example.com"},
                                              options={"idempotency_key": "persist-1"})
        endpoint = client.v1.webhook_endpoints.create(params={"url": "https://x.example/h", "enabled_events": ["*"]})
        account = client.v1.accounts.retrieve_current().id
    assert json.loads(state.read_text())["objects"][customer.id]["email"] == "keep@example.com"
    assert not list(tmp_path.glob(".emulator-state-*"))  # temp files renamed away
    with EmulatorServer(port=0, api_key=API_KEY, state_path=str(state), **FAST) as second:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": second.url})
        assert client.v1.customers.retrieve(customer.id).email == "keep@example.com"
        assert client.v1.webhook_endpoints.retrieve(endpoint.id).url == "https://x.example/h"
        assert client.v1.accounts.retrieve_current().id == account
        again = client.v1.customers.create(params={"email": "keep@example.com"},
                                           options={"idempotency_key": "persist-1"})
        assert again.id == customer.id
        assert len(client.v1.customers.list().data) == 1


def test_memory_only_without_state_path():
    with EmulatorServer(port=0, api_key=API_KEY, **FAST) as srv:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": srv.url})
        client.v1.customers.create(params={"email": "gone@example.com"})
    with EmulatorServer(port=0, api_key=API_KEY, **FAST) as srv:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": srv.url})
        assert client.v1.customers.list().data == []
