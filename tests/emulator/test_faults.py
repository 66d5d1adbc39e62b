"""API fault injection (500, 429, slow responses) and the SDK's retries."""

import pytest
import stripe

from .conftest import API_KEY, control


def _client(emulator, retries=0, timeout=10):
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url}, max_network_retries=retries,
                               http_client=stripe.RequestsClient(timeout=timeout))


def _count_customers(client):
    return len(client.v1.customers.list(params={"limit": 100}).data)


def test_500_without_retries(client, emulator):
    control(emulator, "faults", {"path": "/v1/customers", "method": "POST", "count": 1, "status": 500})
    assert control(emulator, "faults", method="GET")["faults"][0]["status"] == 500
    with pytest.raises(stripe.APIError) as err:
        client.v1.customers.create(params={"email": "f@example.com"})
    assert err.value.http_status == 500 and err.value.error.type == "api_error"
    assert _count_customers(client) == 0
    assert control(emulator, "faults", method="GET")["faults"] == []


def test_sdk_retries_500_with_one_idempotency_key(client, emulator):
    control(emulator, "faults", {"path": "/v1/customers", "method": "POST", "count": 2, "status": 500})
    retrying = _client(emulator, retries=2)
    customer = retrying.v1.customers.create(params={"email": "r@example.com"})
    assert _count_customers(client) == 1
    key = customer.last_response.headers["Idempotency-Key"]
    [event] = client.v1.events.list(params={"type": "customer.created"}).data
    assert event["request"]["idempotency_key"] == key


def test_429_rate_limit(client, emulator):
    control(emulator, "faults", {"path": "/v1/checkout/sessions", "method": "POST", "count": 1, "status": 429})
    with pytest.raises(stripe.RateLimitError) as err:
        client.v1.checkout.sessions.create(params={"mode": "payment"})
    assert err.value.http_status == 429 and err.value.error.code == "rate_limit"


def test_glob_path_and_any_method(client, emulator):
    customer = client.v1.customers.create(params={"email": "g@example.com"})
    control(emulator, "faults", {"path": "/v1/customers/*", "count": 1, "status": 503})
    with pytest.raises(stripe.APIError):
        client.v1.customers.retrieve(customer.id)
    assert client.v1.customers.retrieve(customer.id).id == customer.id


def test_delay_times_out_then_retry_gets_the_replay(client, emulator):
    control(emulator, "faults", {"path": "/v1/customers", "method": "POST", "count": 1, "delay_ms": 1500})
    with pytest.raises(stripe.APIConnectionError):
        _client(emulator, retries=0, timeout=0.3).v1.customers.create(params={"email": "slow@example.com"})
    control(emulator, "faults", {"path": "/v1/customers", "method": "POST", "count": 1, "delay_ms": 1500})
    customer = _client(emulator, retries=2, timeout=0.3).v1.customers.create(params={"email": "slow2@example.com"})
    assert customer.last_response.headers.get("Idempotent-Replayed") == "true"
    emails = [c.email for c in client.v1.customers.list().data]
    assert emails.count("slow2@example.com") == 1


def test_clear_faults(client, emulator):
    control(emulator, "faults", {"path": "/v1/customers", "count": 5, "status": 500})
    control(emulator, "faults", method="DELETE")
    assert client.v1.customers.create(params={"email": "ok@example.com"}).email == "ok@example.com"
