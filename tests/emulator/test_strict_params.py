"""Requests are checked as Stripe checks them, against the parameters the
official SDK declares for each method: unknown parameters (top-level or
nested), types, enums, empty strings, expand[]. `--lenient-params` is the
escape hatch."""

import json
import re

import pytest
import stripe

from stripe_emulator import EmulatorServer, sdk_schema
from stripe_emulator.__main__ import server_from_args
from stripe_emulator.app import API_ROUTES

from .conftest import API_KEY, FAST, raw


def _refused(call):
    with pytest.raises(stripe.InvalidRequestError) as err:
        call()
    assert err.value.http_status == 400
    return err.value


def test_unknown_parameters_top_level_and_nested(client):
    err = _refused(lambda: client.v1.customers.create(params={"emial": "x@example.com"}))
    assert (err.code, err.param) == ("parameter_unknown", "emial")
    assert err.user_message == "Received unknown parameter: emial"
    assert err.error.doc_url == "https://stripe.com/docs/error-codes/parameter-unknown"
    err = _refused(lambda: client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://shop.example/ok",
        "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 100,
                                                      "product_data": {"name": "Mug", "colour": "blue"}}}]}))
    assert err.code == "parameter_unknown"
    assert err.param == "line_items[0][price_data][product_data][colour]"
    # What older API versions took is gone in the pinned one.
    err = _refused(lambda: client.v1.checkout.sessions.create(params={"mode": "payment", "ui_mode": "hosted"}))
    assert err.param == "ui_mode" and "must be one of" in err.user_message


def test_types_enums_and_empty_strings(client):
    product = client.v1.products.create(params={"name": "Tea"})
    err = _refused(lambda: client.v1.prices.create(params={"product": product.id, "currency": "usd",
                                                          "unit_amount": "12.5"}))
    assert (err.code, err.param, err.user_message) == ("parameter_invalid_integer", "unit_amount",
                                                        "Invalid integer: 12.5")
    err = _refused(lambda: client.v1.products.create(params={"name": "X", "active": "yes"}))
    assert err.param == "active" and err.user_message == "Invalid boolean: yes"
    err = _refused(lambda: client.v1.checkout.sessions.create(params={"mode": "paymnet"}))
    assert err.param == "mode" and err.user_message == "Invalid mode: must be one of payment, setup, or subscription"
    err = _refused(lambda: client.v1.customers.create(params={"email": ""}))
    assert err.code == "parameter_invalid_empty" and err.param == "email"
    err = _refused(lambda: client.v1.customers.create(params={"email": {"nested": "x"}}))
    assert err.param == "email"
    # An empty string unsets where the API allows it, and metadata values may be empty.
    customer = client.v1.customers.create(params={"email": "e@example.com", "metadata": {"a": "1"},
                                                  "address": {"country": "FR"}})
    updated = client.v1.customers.update(customer.id, params={"address": "", "metadata": {"a": ""}})
    assert updated.address is None and updated.metadata.to_dict() == {}
    err = _refused(lambda: client.v1.customers.update(customer.id, params={"description": ""}))
    assert err.code == "parameter_invalid_empty"


def test_missing_related_object_is_400_with_param(client):
    err = _refused(lambda: client.v1.prices.create(params={"product": "prod_missing", "currency": "usd",
                                                          "unit_amount": 100}))
    assert (err.code, err.param) == ("resource_missing", "product")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.products.retrieve("prod_missing")
    assert (missing.value.http_status, missing.value.param) == (404, "id")


def test_expand_of_what_cannot_be_expanded(client):
    customer = client.v1.customers.create(params={"email": "x@example.com"})
    err = _refused(lambda: client.v1.customers.retrieve(customer.id, params={"expand": ["email"]}))
    assert err.user_message == "This property cannot be expanded (email)."
    err = _refused(lambda: client.v1.prices.list(params={"expand": ["product"]}))
    assert err.user_message == ("This property cannot be expanded (product). You may want to try expanding "
                                "'data.product' instead.")
    err = _refused(lambda: client.v1.invoices.list(params={"expand": ["data.payments.data.payment.payment_intent"]}))
    assert err.code == "property_expansion_max_depth"
    # What does expand: ids, fields sent only when expanded, through lists and sub-objects.
    product = client.v1.products.create(params={"name": "Tea"})
    client.v1.prices.create(params={"product": product.id, "currency": "usd", "unit_amount": 100})
    assert client.v1.prices.list(params={"expand": ["data.product"]}).data[0].product.name == "Tea"
    assert client.v1.customers.retrieve(customer.id, params={"expand": ["tax_ids", "test_clock"]}).id


def test_error_bodies_leave_out_what_does_not_apply(emulator, client):
    status, _, text = raw(emulator, "GET", "/v1/account?expand[]=email", headers={"Authorization": f"Bearer {API_KEY}"})
    error = json.loads(text)["error"]
    assert status == 400 and "param" not in error and "decline_code" not in error and "code" not in error
    assert set(error) == {"type", "message", "request_log_url"}


def _example_path(pattern):
    return re.sub(r"\{\w+\}", "xx_unknown", pattern)


@pytest.mark.parametrize("method,pattern", sorted({(m, p) for m, p, _ in API_ROUTES
                                                    if sdk_schema.normalize(f"{m} {p}") not in sdk_schema.NOT_IN_SDK}))
def test_every_endpoint_refuses_an_unknown_parameter(emulator, method, pattern):
    path = _example_path(pattern)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if method == "GET":
        status, _, text = raw(emulator, method, f"{path}?not_a_param=1", headers=headers)
    else:
        status, _, text = raw(emulator, method, path, {"not_a_param": "1"}, headers=headers)
    error = json.loads(text)["error"]
    assert (status, error["code"], error["param"]) == (400, "parameter_unknown", "not_a_param"), text


def test_the_schema_matches_the_installed_sdk_and_the_routes():
    assert sdk_schema.render(sdk_schema.build()) == sdk_schema.DATA_PATH.read_text(), \
        "stripe_emulator/data/sdk_schema.json is out of date: run python -m stripe_emulator.sdk_schema"


def test_lenient_mode_is_an_escape_hatch(monkeypatch):
    with EmulatorServer(api_key=API_KEY, strict_params=False, **FAST) as server:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": server.url})
        assert client.v1.customers.create(params={"emial": "x@example.com"}).id.startswith("cus_")
    assert server_from_args(["--lenient-params"]).config.strict_params is False
    assert server_from_args([]).config.strict_params is True
    monkeypatch.setenv("STRIPE_EMULATOR_STRICT_PARAMS", "false")
    assert server_from_args([]).config.strict_params is False
