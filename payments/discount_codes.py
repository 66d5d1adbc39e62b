"""Discount codes: staff create them (a Stripe coupon and its promotion code)
and deactivate them; Stripe's events about them keep dj-stripe's mirror, which
the cart reads (orders.discounts), in line.

Stripe is the source of truth: each write goes to Stripe first (with an
idempotency key), then what Stripe answered is mirrored into dj-stripe's
Coupon and PromotionCode rows. A deactivation made in Stripe's dashboard
reaches us as `promotion_code.updated` (or `coupon.updated` / `.deleted`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from djstripe.models import Coupon, PromotionCode

from . import gateway, mirror

logger = logging.getLogger(__name__)

DURATIONS = [("once", "Once (one order, or a subscription's first invoice)"),
             ("repeating", "Repeating: a number of months (subscriptions)"),
             ("forever", "Forever (subscriptions)")]


@dataclass(frozen=True)
class DiscountCodeSpec:
    code: str
    name: str
    percent_off: Decimal | None
    amount_off: int | None  # minor units of `currency`
    currency: str
    duration: str
    duration_in_months: int | None
    max_redemptions: int | None
    expires_at: datetime | None
    first_order_only: bool
    minimum_amount: int | None  # minor units of `currency`


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def discount_code_create(*, spec: DiscountCodeSpec, idempotency_key: str) -> PromotionCode:
    """Create the coupon and its promotion code at Stripe, and mirror both.
    Raises payments.exceptions.GatewayError (with Stripe's message) when
    Stripe refuses; nothing is mirrored then."""
    expires = int(spec.expires_at.timestamp()) if spec.expires_at else None
    coupon = gateway.coupon_create(
        idempotency_key=f"{idempotency_key}-coupon",
        name=spec.name or spec.code,
        percent_off=_text(spec.percent_off) if spec.percent_off is not None else None,
        amount_off=spec.amount_off,
        currency=spec.currency,
        duration=spec.duration,
        duration_in_months=spec.duration_in_months,
        max_redemptions=None,  # the limit is the code's (one code per coupon here)
        redeem_by=None,
    )
    mirror.object_sync(Coupon, coupon.raw)
    promo = gateway.promotion_code_create(
        idempotency_key=f"{idempotency_key}-code",
        coupon_id=coupon.id,
        code=spec.code,
        max_redemptions=spec.max_redemptions,
        expires_at=expires,
        first_time_transaction=spec.first_order_only,
        minimum_amount=spec.minimum_amount,
        minimum_amount_currency=spec.currency,
    )
    mirrored = mirror.object_sync(PromotionCode, promo.raw)
    logger.info("discount code created: %s (%s, coupon %s)", spec.code, promo.id, coupon.id)
    return mirrored


def discount_code_deactivate(*, promotion_code_id: str) -> PromotionCode:
    """Deactivate a code at Stripe (orders already placed keep their discount) and mirror it."""
    promo = gateway.promotion_code_update(promotion_code_id, active=False,
                                          idempotency_key=f"{promotion_code_id}-deactivate")
    return mirror.object_sync(PromotionCode, promo.raw)


# ---------------------------------------------------------------------------
# Webhook receivers: Stripe says a code or coupon changed (e.g. deactivated
# in its dashboard). The event carries the whole object: mirror it.
# ---------------------------------------------------------------------------


def on_promotion_code_event(obj: dict) -> None:
    mirror.object_sync(PromotionCode, obj)


def on_coupon_event(obj: dict) -> None:
    mirror.object_sync(Coupon, obj)


RECEIVERS_OF_DISCOUNT_CODES = {
    "promotion_code.updated": on_promotion_code_event,
    "coupon.updated": on_coupon_event,
    "coupon.deleted": on_coupon_event,
}
