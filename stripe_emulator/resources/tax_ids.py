"""Customer tax IDs (`/v1/customers/{id}/tax_ids`), also collected by
Checkout (`tax_id_collection`). The type is the one given, or for Checkout
inferred from the value's country prefix (eu_vat, gb_vat, ch_vat...)."""

import re

from .. import fixtures
from ..wire import as_str, invalid, list_object
from .common import INCLUDES, render, render_list, snapshot

# VAT prefixes of the EU (Greece is EL; XI is Northern Ireland) -> country.
EU_VAT = {"AT": "AT", "BE": "BE", "BG": "BG", "CY": "CY", "CZ": "CZ", "DE": "DE", "DK": "DK", "EE": "EE",
          "EL": "GR", "ES": "ES", "FI": "FI", "FR": "FR", "HR": "HR", "HU": "HU", "IE": "IE", "IT": "IT",
          "LT": "LT", "LU": "LU", "LV": "LV", "MT": "MT", "NL": "NL", "PL": "PL", "PT": "PT", "RO": "RO",
          "SE": "SE", "SI": "SI", "SK": "SK", "XI": "GB"}
# Countries whose tax IDs Checkout collects, with the type it records.
BY_COUNTRY = {country: "eu_vat" for country in EU_VAT.values() if country != "GB"}
BY_COUNTRY.update({"GB": "gb_vat", "CH": "ch_vat", "NO": "no_vat", "AU": "au_abn", "CA": "ca_bn", "US": "us_ein"})
_VALUE = re.compile(r"^[A-Z0-9]{4,20}$")


def normalize(value):
    return re.sub(r"[\s.\-]", "", value or "").upper()


def infer(value, country=None):
    """(type, country) of a tax ID typed at Checkout, or raise a 400 error."""
    value = normalize(value)
    if not _VALUE.match(value):
        raise invalid("Your tax ID is invalid.", param="tax_id", code="tax_id_invalid")
    prefix = value[:2]
    if prefix in EU_VAT and value[2:].isalnum() and len(value) >= 8:
        return ("gb_vat" if prefix == "XI" else "eu_vat"), EU_VAT[prefix]
    if prefix == "GB":
        return "gb_vat", "GB"
    if value.startswith("CHE"):
        return "ch_vat", "CH"
    if country and country in BY_COUNTRY:
        return BY_COUNTRY[country], country
    return "unknown", country


def new_tax_id(ctx, customer, type_, value, country=None):
    store = ctx.store
    tax_id = fixtures.make(
        "tax_id", id=store.new_id("txi_"), country=country, created=store.now(), customer=customer["id"],
        owner={"customer": customer["id"], "type": "customer", "customer_account": None},
        type=type_, value=value, verification={"status": "pending", "verified_address": None,
                                               "verified_name": None})
    store.add(tax_id)
    ctx.emit("customer.tax_id.created", tax_id)
    return tax_id


def of_customer(store, customer_id):
    return store.all("tax_id", lambda t: t["customer"] == customer_id)


def _customer(req):
    return req.store.require(req.args["id"], "customer", param="customer", status=404)


def create(req):
    customer = _customer(req)
    type_ = as_str(req.params, "type", required=True)
    value = normalize(as_str(req.params, "value", required=True))
    if not _VALUE.match(value):
        raise invalid(f"Invalid value for {type_}.", param="value", code="tax_id_invalid")
    country = EU_VAT.get(value[:2]) if type_ == "eu_vat" else next(
        (c for c, t in BY_COUNTRY.items() if t == type_ and t != "eu_vat"), None)
    return render(req, new_tax_id(req, customer, type_, value, country))


def list_(req):
    customer = _customer(req)
    return render_list(req, "tax_id", f"/v1/customers/{customer['id']}/tax_ids",
                       [lambda t: t["customer"] == customer["id"]])


def _require(req):
    customer = _customer(req)
    tax_id = req.store.get(req.args["tax_id"], "tax_id")
    if tax_id is None or tax_id["customer"] != customer["id"]:
        raise invalid(f"No such tax id: '{req.args['tax_id']}'", param="id", code="resource_missing")
    return tax_id


def retrieve(req):
    return render(req, _require(req))


def delete(req):
    tax_id = _require(req)
    req.store.remove(tax_id["id"])
    req.emit("customer.tax_id.deleted", tax_id)
    return {"id": tax_id["id"], "object": "tax_id", "deleted": True}


def _included(app, customer):
    found = of_customer(app.store, customer["id"])
    return list_object(snapshot(found[:10]), f"/v1/customers/{customer['id']}/tax_ids", has_more=len(found) > 10)


INCLUDES[("customer", "tax_ids")] = _included


ROUTES = [
    ("POST", "/v1/customers/{id}/tax_ids", create),
    ("GET", "/v1/customers/{id}/tax_ids", list_),
    ("GET", "/v1/customers/{id}/tax_ids/{tax_id}", retrieve),
    ("DELETE", "/v1/customers/{id}/tax_ids/{tax_id}", delete),
]
