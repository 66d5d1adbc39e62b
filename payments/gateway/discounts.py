"""Coupons and promotion codes (the shop's discount codes), created by staff
in admin. Writes carry an idempotency key derived from our form's token."""

from .client import call, client
from .types import StripeObject


def coupon_create(
    *, idempotency_key: str, name: str, percent_off: str | None, amount_off: int | None, currency: str,
    duration: str, duration_in_months: int | None, max_redemptions: int | None, redeem_by: int | None,
) -> StripeObject:
    params: dict = {"name": name, "duration": duration}
    if percent_off is not None:
        params["percent_off"] = percent_off
    else:
        params["amount_off"] = amount_off
        params["currency"] = currency
    if duration == "repeating":
        params["duration_in_months"] = duration_in_months
    if max_redemptions:
        params["max_redemptions"] = max_redemptions
    if redeem_by:
        params["redeem_by"] = redeem_by
    return StripeObject.from_stripe(call(
        "coupon create", lambda: client().v1.coupons.create(params, {"idempotency_key": idempotency_key}),
    ))


def coupon_retrieve(coupon_id: str) -> StripeObject | None:
    data = call("coupon retrieve", lambda: client().v1.coupons.retrieve(coupon_id), missing_ok=True)
    return StripeObject.from_stripe(data) if data is not None else None


def promotion_code_create(
    *, idempotency_key: str, coupon_id: str, code: str, max_redemptions: int | None, expires_at: int | None,
    first_time_transaction: bool, minimum_amount: int | None, minimum_amount_currency: str,
) -> StripeObject:
    params: dict = {"promotion": {"type": "coupon", "coupon": coupon_id}, "code": code}
    if max_redemptions:
        params["max_redemptions"] = max_redemptions
    if expires_at:
        params["expires_at"] = expires_at
    restrictions: dict = {}
    if first_time_transaction:
        restrictions["first_time_transaction"] = True
    if minimum_amount:
        restrictions["minimum_amount"] = minimum_amount
        restrictions["minimum_amount_currency"] = minimum_amount_currency
    if restrictions:
        params["restrictions"] = restrictions
    return StripeObject.from_stripe(call(
        "promotion code create",
        lambda: client().v1.promotion_codes.create(params, {"idempotency_key": idempotency_key}),
    ))


def promotion_code_update(promotion_code_id: str, *, active: bool, idempotency_key: str) -> StripeObject:
    return StripeObject.from_stripe(call(
        "promotion code update",
        lambda: client().v1.promotion_codes.update(promotion_code_id, {"active": active},
                                                   {"idempotency_key": idempotency_key}),
    ))
