"""Customers."""

import secrets

from .. import cards, fixtures
from ..wire import as_dict, as_list, as_str, invalid, list_object, metadata, not_found
from .common import INCLUDES, deleted, eq_filter, previous_attributes, render, render_list, snapshot
from .payment_methods import attach_to, resolve

# Fields a create/update copies as given (strings or null).
_TEXT_FIELDS = ("email", "name", "description", "phone")


def _address(raw, param):
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict):
        raise invalid("Invalid address: must be a hash.", param=param)
    return fixtures.address(**{k: raw.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")})


def _shipping(raw):
    if raw in (None, ""):
        return None
    if not isinstance(raw, dict) or not raw.get("name"):
        raise invalid("Missing required param: shipping[name].", param="shipping[name]")
    return {"address": _address(raw.get("address") or {}, "shipping[address]"),
            "name": raw["name"], "phone": raw.get("phone")}


def _invoice_settings(params, current):
    raw = as_dict(params, "invoice_settings")
    settings = dict(current)
    if "default_payment_method" in raw:
        settings["default_payment_method"] = raw["default_payment_method"] or None
    if "footer" in raw:
        settings["footer"] = raw["footer"] or None
    return settings


def _apply(req, customer):
    """Copy the writable fields of a create/update request onto `customer`."""
    params = req.params
    for name in _TEXT_FIELDS:
        if name in params:
            customer[name] = as_str(params, name)
    if "address" in params:
        customer["address"] = _address(params["address"], "address")
    if "shipping" in params:
        customer["shipping"] = _shipping(params["shipping"])
    if "preferred_locales" in params:
        customer["preferred_locales"] = as_list(params, "preferred_locales")
    if "tax_exempt" in params:
        customer["tax_exempt"] = as_str(params, "tax_exempt", choices=("none", "exempt", "reverse"))
    customer["metadata"] = metadata(params, customer["metadata"])
    customer["invoice_settings"] = _invoice_settings(params, customer["invoice_settings"])


def _default_payment_method(req, customer):
    """Check `invoice_settings.default_payment_method` on update: it must be
    attached to the customer (a test id like `pm_card_visa` attaches a fresh card)."""
    settings = customer["invoice_settings"]
    pm_id = settings["default_payment_method"]
    if not pm_id:
        return
    param = "invoice_settings[default_payment_method]"
    if pm_id in cards.TEST_PAYMENT_METHODS:
        settings["default_payment_method"] = attach_to(req, pm_id, customer, param=param)["id"]
        return
    pm = req.store.get(pm_id, "payment_method")
    if pm is None:
        raise not_found("PaymentMethod", pm_id, param=param, status=400)
    if pm["customer"] != customer["id"]:
        raise invalid(f"The customer does not have a payment method with the ID {pm_id}. The payment method "
                      "must be attached to the customer.", param=param, code="resource_missing")


def new_customer(req, email=None, name=None):
    """A new customer object (also used by checkout); the caller stores it."""
    store = req.store
    customer = fixtures.make(
        "customer",
        id=store.new_id("cus_", 14),
        balance=0,
        created=store.now(),
        delinquent=False,
        email=email,
        name=name,
        invoice_prefix=secrets.token_hex(4).upper(),
        invoice_settings=fixtures.shape("customer", "invoice_settings"),
        next_invoice_sequence=1,
        preferred_locales=[],
        tax_exempt="none",
    )
    return customer


def create(req):
    params = req.params
    customer = new_customer(req)
    _apply(req, customer)
    clock_id = as_str(params, "test_clock")
    if clock_id:
        clock = req.store.require(clock_id, "test_helpers.test_clock", param="test_clock",
                                  kind="test_helpers.test_clock")
        customer["test_clock"] = clock["id"]
        customer["created"] = clock["frozen_time"]
    pm_id = as_str(params, "payment_method")
    to_attach = [resolve(req, pm_id, "payment_method")] if pm_id else []
    default = customer["invoice_settings"]["default_payment_method"]
    if default:
        # The default must be a card attached now: the `payment_method` given
        # (test ids like pm_card_visa name the card created for it) or a test id.
        param = "invoice_settings[default_payment_method]"
        if to_attach and default in (pm_id, to_attach[0]["id"]):
            default = to_attach[0]["id"]
        elif default in cards.TEST_PAYMENT_METHODS:
            to_attach.append(resolve(req, default, param))
            default = to_attach[-1]["id"]
        else:
            pm = req.store.get(default, "payment_method")
            if pm is None:
                raise not_found("PaymentMethod", default, param=param, status=400)
            raise invalid(f"The customer does not have a payment method with the ID {default}. The payment "
                          "method must be attached to the customer.", param=param, code="resource_missing")
        customer["invoice_settings"]["default_payment_method"] = default
    req.store.add(customer)
    req.emit("customer.created", customer)
    for pm in to_attach:
        attach_to(req, pm, customer, param="payment_method")
    return render(req, customer)


def retrieve(req):
    return deleted(req, "customer") or render(req, req.store.require(req.args["id"], "customer"))


def update(req):
    customer = req.store.require(req.args["id"], "customer")
    before = snapshot(customer)
    _apply(req, customer)
    if "default_payment_method" in as_dict(req.params, "invoice_settings"):
        _default_payment_method(req, customer)
    previous = previous_attributes(before, customer)
    if previous:
        req.emit("customer.updated", customer, previous)
    return render(req, customer)


def delete(req):
    customer = req.store.require(req.args["id"], "customer")
    req.store.remove(customer["id"])
    req.emit("customer.deleted", customer)
    return {"id": customer["id"], "object": "customer", "deleted": True}


def list_(req):
    return render_list(req, "customer", "/v1/customers", [eq_filter(req, "email"), eq_filter(req, "test_clock")])


def _empty_list(path):
    return lambda app, customer: list_object([], f"/v1/customers/{customer['id']}/{path}")


# dj-stripe expands these on every customer it syncs.
INCLUDES[("customer", "sources")] = _empty_list("sources")

ROUTES = [
    ("POST", "/v1/customers", create),
    ("GET", "/v1/customers", list_),
    ("GET", "/v1/customers/{id}", retrieve),
    ("POST", "/v1/customers/{id}", update),
    ("DELETE", "/v1/customers/{id}", delete),
]
