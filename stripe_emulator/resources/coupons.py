"""Coupons: percent or amount off, for once, a number of months or forever,
with an optional redemption limit and last redemption date."""

import secrets
import string

from .. import fixtures
from ..wire import as_dict, as_int, as_list, as_str, invalid, metadata, missing
from .common import deleted, previous_attributes, render, render_list, snapshot

DURATIONS = ("forever", "once", "repeating")


def _new_id():
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(8))


def create(req):
    params, store = req.params, req.store
    now = store.now()
    id_ = as_str(params, "id")
    if id_ and store.get(id_):
        raise invalid(f"Coupon already exists: {id_}.", param="id", code="resource_already_exists")
    percent_off = params.get("percent_off")
    amount_off = as_int(params, "amount_off", minimum=1)
    if (percent_off in (None, "")) == (amount_off is None):
        raise invalid("You must pass exactly one of percent_off or amount_off.", param="percent_off")
    if percent_off not in (None, ""):
        percent_off = float(percent_off)
        if not 0 < percent_off <= 100:
            raise invalid("Invalid percent_off: must be greater than 0 and at most 100.", param="percent_off")
        percent_off = int(percent_off) if percent_off == int(percent_off) else percent_off
    else:
        percent_off = None
    currency = as_str(params, "currency")
    if amount_off is not None and not currency:
        raise missing("currency")
    duration = as_str(params, "duration") or "once"
    months = as_int(params, "duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing("duration_in_months")
    if duration != "repeating" and months is not None:
        raise invalid("duration_in_months is only valid with duration=repeating.", param="duration_in_months")
    redeem_by = as_int(params, "redeem_by")
    if redeem_by is not None and redeem_by <= now:
        raise invalid("Invalid redeem_by: must be in the future.", param="redeem_by")
    products = as_list(as_dict(params, "applies_to"), "products")
    for i, product_id in enumerate(products):
        store.require(product_id, "product", param=f"applies_to[products][{i}]")
    coupon = fixtures.make(
        "coupon", id=id_ or _new_id(), amount_off=amount_off, created=now,
        currency=currency.lower() if currency and amount_off is not None else None, duration=duration,
        duration_in_months=months, max_redemptions=as_int(params, "max_redemptions", minimum=1),
        metadata=metadata(params), name=as_str(params, "name"), percent_off=percent_off, redeem_by=redeem_by,
        times_redeemed=0, valid=True, extra_ok=("applies_to",))
    if products:
        coupon["applies_to"] = {"products": products}
    store.add(coupon)
    req.emit("coupon.created", coupon)
    return render(req, coupon)


def _require(req):
    return req.store.require(req.args["id"], "coupon")


def retrieve(req):
    return deleted(req, "coupon") or render(req, _require(req))


def update(req):
    coupon = _require(req)
    before = snapshot(coupon)
    if "name" in req.params:
        coupon["name"] = as_str(req.params, "name")
    coupon["metadata"] = metadata(req.params, coupon["metadata"])
    previous = previous_attributes(before, coupon)
    if previous:
        req.emit("coupon.updated", coupon, previous)
    return render(req, coupon)


def delete(req):
    coupon = _require(req)
    # Discounts already made from it go on (engine.discounts.coupon_of finds
    # it); it can no longer be redeemed.
    coupon["valid"] = False
    req.store.private.setdefault("deleted_coupons", {})[coupon["id"]] = snapshot(coupon)
    req.store.remove(coupon["id"])
    req.emit("coupon.deleted", coupon)
    return {"id": coupon["id"], "object": "coupon", "deleted": True}


def list_(req):
    return render_list(req, "coupon", "/v1/coupons")


ROUTES = [
    ("POST", "/v1/coupons", create),
    ("GET", "/v1/coupons", list_),
    ("GET", "/v1/coupons/{id}", retrieve),
    ("POST", "/v1/coupons/{id}", update),
    ("DELETE", "/v1/coupons/{id}", delete),
]
