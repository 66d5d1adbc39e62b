"""The REST API through the official SDK: resources, errors, lists, expand,
idempotency."""

import json
import urllib.request

import pytest
import stripe

from .conftest import API_KEY, new_session, raw


def test_account(client, emulator):
    account = client.v1.accounts.retrieve_current()
    assert account.id.startswith("acct_") and account.object == "account"
    assert account.charges_enabled and account.default_currency == "usd"
    assert client.v1.accounts.retrieve(account.id).id == account.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.retrieve("acct_other")


def test_customers_crud_and_list(client):
    created = client.v1.customers.create(params={"email": "a@example.com", "name": "Ada", "metadata": {"k": "v"}})
    assert created.id.startswith("cus_") and created.metadata.to_dict() == {"k": "v"}
    updated = client.v1.customers.update(created.id, params={"name": "Ada L.", "metadata": {"k": "", "n": "1"}})
    assert updated.name == "Ada L." and updated.metadata.to_dict() == {"n": "1"}
    assert client.v1.customers.retrieve(created.id).name == "Ada L."
    client.v1.customers.create(params={"email": "b@example.com"})
    assert [c.email for c in client.v1.customers.list(params={"email": "a@example.com"}).data] == ["a@example.com"]
    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(created.id).deleted is True


def test_products_and_prices(client):
    product = client.v1.products.create(params={"name": "Tea", "description": "Green", "metadata": {"sku": "T1"}})
    assert product.active and product.name == "Tea"
    price = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 450,
                                            "lookup_key": "tea-eur"})
    assert price.type == "one_time" and price.unit_amount == 450 and str(price.unit_amount_decimal) == "450"
    monthly = client.v1.prices.create(params={
        "currency": "usd", "unit_amount": 900, "recurring": {"interval": "month"},
        "product_data": {"name": "Tea club"}})
    assert monthly.type == "recurring" and monthly.recurring.interval == "month"
    assert monthly.recurring.interval_count == 1
    assert client.v1.prices.list(params={"lookup_keys": ["tea-eur"]}).data[0].id == price.id
    assert [p.id for p in client.v1.prices.list(params={"product": product.id}).data] == [price.id]
    assert client.v1.products.update(product.id, params={"active": False}).active is False
    assert product.id not in [p.id for p in client.v1.products.list(params={"active": True}).data]
    assert client.v1.prices.retrieve(price.id, params={"expand": ["product"]}).product.name == "Tea"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 1,
                                        "lookup_key": "tea-eur"})
    assert err.value.param == "lookup_key"


def test_bad_api_key_is_401(emulator):
    bad = stripe.StripeClient("sk_test_wrong", base_addresses={"api": emulator.url})
    with pytest.raises(stripe.AuthenticationError) as err:
        bad.v1.customers.list()
    assert err.value.http_status == 401
    assert "Invalid API Key provided" in err.value.user_message
    status, _, text = raw(emulator, "GET", "/v1/customers")
    assert status == 401 and json.loads(text)["error"]["type"] == "invalid_request_error"


def test_missing_param_is_400_with_param(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.prices.create(params={"currency": "usd", "product_data": {"name": "X"}})
    assert err.value.http_status == 400
    assert err.value.param == "unit_amount"
    assert err.value.code == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.checkout.sessions.create(params={"mode": "payment", "line_items": [{"price": "price_nope",
                                                                                      "quantity": 1}]})
    assert err.value.param == "line_items[0][price]" and err.value.code == "resource_missing"


def test_unknown_id_is_404(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.retrieve("cus_missing")
    assert err.value.http_status == 404 and err.value.code == "resource_missing"
    assert "No such customer: 'cus_missing'" in err.value.user_message


def test_unknown_route_is_404(emulator):
    status, headers, text = raw(emulator, "GET", "/v1/nothing_here", headers={"Authorization": f"Bearer {API_KEY}"})
    assert status == 404
    assert "Unrecognized request URL" in json.loads(text)["error"]["message"]
    assert headers["request-id"].startswith("req_")


def test_headers_and_version_echo(emulator):
    status, headers, _ = raw(emulator, "GET", "/v1/account",
                             headers={"Authorization": f"Bearer {API_KEY}", "Stripe-Version": "2024-06-20"})
    assert status == 200
    assert headers["stripe-version"] == "2024-06-20"
    assert headers["request-id"].startswith("req_")


def test_pagination(client):
    ids = [client.v1.customers.create(params={"email": f"c{i}@example.com"}).id for i in range(5)]
    newest_first = list(reversed(ids))
    page = client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in page.data] == newest_first[:2] and page.has_more
    page2 = client.v1.customers.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [c.id for c in page2.data] == newest_first[2:4] and page2.has_more
    page3 = client.v1.customers.list(params={"limit": 2, "starting_after": page2.data[-1].id})
    assert [c.id for c in page3.data] == newest_first[4:] and not page3.has_more
    before = client.v1.customers.list(params={"limit": 2, "ending_before": newest_first[4]})
    assert [c.id for c in before.data] == newest_first[2:4]
    assert [c.id for c in client.v1.customers.list(params={"limit": 2}).auto_paging_iter()] == newest_first
    assert page.url == "/v1/customers"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.customers.list(params={"limit": 101})
    assert err.value.param == "limit"


def test_expand_nested_and_on_lists(client, emulator):
    customer = client.v1.customers.create(params={"email": "e@example.com"})
    session = new_session(client, customer=customer.id)
    paid = _pay(emulator, session)
    full = client.v1.checkout.sessions.retrieve(paid["id"], params={
        "expand": ["payment_intent.latest_charge.balance_transaction", "customer", "line_items"]})
    assert full.customer.email == "e@example.com"
    assert full.payment_intent.latest_charge.balance_transaction.object == "balance_transaction"
    assert full.line_items.data[0].quantity == 2
    listed = client.v1.checkout.sessions.list(params={"expand": ["data.customer"], "customer": customer.id})
    assert listed.data[0].customer.id == customer.id


def _pay(emulator, session, card="4242424242424242"):
    req = urllib.request.Request(f"{emulator.url}/_emulator/checkout/sessions/{session.id}/pay",
                                 data=json.dumps({"card": card}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def test_idempotent_replay_and_conflict(client, emulator):
    options = {"idempotency_key": "key-1"}
    first = client.v1.customers.create(params={"email": "i@example.com"}, options=options)
    again = client.v1.customers.create(params={"email": "i@example.com"}, options=options)
    assert again.id == first.id
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.customers.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as err:
        client.v1.customers.create(params={"email": "other@example.com"}, options=options)
    assert err.value.http_status == 400
    assert "same parameters" in err.value.user_message


def test_payment_intent_api_flow(client):
    customer = client.v1.customers.create(params={"email": "p@example.com"})
    pi = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd", "customer": customer.id,
                                                  "payment_method": "pm_card_visa", "confirm": True,
                                                  "setup_future_usage": "off_session"})
    assert pi.status == "succeeded" and pi.amount_received == 2000
    charge = client.v1.charges.retrieve(pi.latest_charge)
    assert charge.paid and charge.payment_method_details.card.last4 == "4242"
    assert client.v1.payment_methods.retrieve(pi.payment_method).customer == customer.id
    assert [m.id for m in client.v1.payment_methods.list(params={"customer": customer.id}).data] == [pi.payment_method]
    assert client.v1.payment_intents.list(params={"customer": customer.id}).data[0].id == pi.id
    assert client.v1.charges.list(params={"payment_intent": pi.id}).data[0].id == charge.id

    declined = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"})
    with pytest.raises(stripe.CardError) as err:
        client.v1.payment_intents.confirm(declined.id, params={"payment_method": "pm_card_chargeDeclined"})
    assert err.value.http_status == 402 and err.value.code == "card_declined"
    assert err.value.error.payment_intent.status == "requires_payment_method"
    after = client.v1.payment_intents.retrieve(declined.id)
    assert after.last_payment_error.decline_code == "generic_decline"


def test_webhook_endpoint_crud(client):
    created = client.v1.webhook_endpoints.create(params={
        "url": "https://shop.example/hooks", "enabled_events": ["charge.succeeded"], "description": "d",
        "api_version": "2026-05-27.dahlia", "metadata": {"a": "b"}})
    assert created.secret.startswith("whsec_") and created.api_version == "2026-05-27.dahlia"
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    updated = client.v1.webhook_endpoints.update(created.id, params={"enabled_events": ["*"], "disabled": True})
    assert updated.enabled_events == ["*"] and updated.status == "disabled"
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [created.id]
    assert client.v1.webhook_endpoints.delete(created.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.webhook_endpoints.create(params={"url": "https://x.example"})
    assert err.value.param == "enabled_events"


def test_events_list_filters(client):
    client.v1.customers.create(params={"email": "ev@example.com"})
    client.v1.products.create(params={"name": "P"})
    assert [e.type for e in client.v1.events.list(params={"type": "customer.created"}).data] == ["customer.created"]
    assert {e.type for e in client.v1.events.list(params={"types": ["product.created", "customer.created"]}).data} \
        == {"product.created", "customer.created"}
    events = client.v1.events.list().data
    first = events[-1]
    assert client.v1.events.retrieve(first.id).type == first.type
    assert len(client.v1.events.list(params={"created": {"gte": first.created}}).data) == len(events)
    assert client.v1.events.list(params={"created": {"gt": first.created + 3600}}).data == []


def test_global_sdk_calls_as_djstripe_makes_them(global_stripe):
    account = stripe.Account.retrieve()
    assert account.object == "account"
    customer = stripe.Customer.create(email="g@example.com", api_key=API_KEY)
    fetched = stripe.Customer.retrieve(customer.id, expand=["default_source", "sources"])
    assert fetched.sources.data == [] and fetched.email == "g@example.com"
    price = stripe.Price.create(currency="usd", unit_amount=300, product_data={"name": "Global"})
    expanded = stripe.Price.retrieve(price.id, expand=["currency_options", "product", "tiers"])
    assert expanded.product.name == "Global"
    session = stripe.checkout.Session.create(mode="payment", line_items=[{"price": price.id, "quantity": 1}],
                                             success_url="https://x.example/ok")
    again = stripe.checkout.Session.retrieve(session.id, expand=["line_items", "total_details.breakdown",
                                                                 "line_items.data.discounts"])
    assert again.line_items.data[0].price.id == price.id
    assert stripe.Event.list(type="checkout.session.*").data == []
    assert stripe.WebhookEndpoint.create(url="https://x.example/h", enabled_events=["*"]).secret
