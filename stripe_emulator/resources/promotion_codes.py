"""Promotion codes: customer-facing codes that redeem a coupon, with
restrictions (first-time order, minimum amount, one customer, expiry,
redemption limit). `promotion[coupon]` names the coupon (dahlia)."""

import secrets
import string

from .. import fixtures
from ..wire import as_bool, as_dict, as_int, as_str, invalid, metadata
from .common import eq_filter, previous_attributes, render, render_list, snapshot


def _code():
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


def create(req):
    params, store = req.params, req.store
    now = store.now()
    promotion = as_dict(params, "promotion")
    coupon = store.require(as_str(promotion, "coupon", required=True, label="promotion[coupon]"), "coupon",
                           param="promotion[coupon]")
    code = as_str(params, "code") or _code()
    if not all(ch.isalnum() or ch in "-_" for ch in code):
        raise invalid("Promotion codes may only contain letters, digits, dashes and underscores.", param="code")
    if store.all("promotion_code", lambda p: p["active"] and p["code"].lower() == code.lower()):
        raise invalid(f"An active promotion code with `code: {code}` already exists.", param="code")
    customer = as_str(params, "customer")
    if customer:
        store.require(customer, "customer", param="customer")
    expires_at = as_int(params, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise invalid("Invalid expires_at: must be in the future.", param="expires_at")
    raw = as_dict(params, "restrictions")
    minimum = as_int(raw, "minimum_amount", minimum=0, label="restrictions[minimum_amount]")
    minimum_currency = as_str(raw, "minimum_amount_currency", label="restrictions[minimum_amount_currency]")
    if minimum is not None and not minimum_currency:
        raise invalid("restrictions[minimum_amount_currency] is required with restrictions[minimum_amount].",
                      param="restrictions[minimum_amount_currency]")
    restrictions = fixtures.shape(
        "promotion_code", "restrictions",
        first_time_transaction=as_bool(raw, "first_time_transaction", False),
        minimum_amount=minimum, minimum_amount_currency=minimum_currency.lower() if minimum_currency else None)
    promo = fixtures.make(
        "promotion_code", id=store.new_id("promo_"), active=as_bool(params, "active", True), code=code,
        created=now, customer=customer, expires_at=expires_at,
        max_redemptions=as_int(params, "max_redemptions", minimum=1), metadata=metadata(params),
        promotion={"coupon": coupon["id"], "type": "coupon"}, restrictions=restrictions, times_redeemed=0)
    store.add(promo)
    req.emit("promotion_code.created", promo)
    return render(req, promo)


def _require(req):
    return req.store.require(req.args["id"], "promotion_code", kind="promotion code")


def retrieve(req):
    return render(req, _require(req))


def update(req):
    promo = _require(req)
    before = snapshot(promo)
    if "active" in req.params:
        active = as_bool(req.params, "active")
        if active and not promo["active"] and req.store.all(
                "promotion_code", lambda p: p["active"] and p["code"].lower() == promo["code"].lower()):
            raise invalid(f"An active promotion code with `code: {promo['code']}` already exists.", param="active")
        promo["active"] = active
    promo["metadata"] = metadata(req.params, promo["metadata"])
    previous = previous_attributes(before, promo)
    if previous:
        req.emit("promotion_code.updated", promo, previous)
    return render(req, promo)


def list_(req):
    params = req.params
    coupon = params.get("coupon")
    filters = [eq_filter(req, "customer"), lambda p: not coupon or p["promotion"]["coupon"] == coupon]
    if "code" in params:
        code = str(params["code"]).lower()
        filters.append(lambda p: p["code"].lower() == code)
    if "active" in params:
        active = as_bool(params, "active")
        filters.append(lambda p: p["active"] == active)
    return render_list(req, "promotion_code", "/v1/promotion_codes", filters)


ROUTES = [
    ("POST", "/v1/promotion_codes", create),
    ("GET", "/v1/promotion_codes", list_),
    ("GET", "/v1/promotion_codes/{id}", retrieve),
    ("POST", "/v1/promotion_codes/{id}", update),
]
