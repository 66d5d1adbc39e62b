"""Discount codes on orders: finding a code a customer typed, checking it
(with a message a customer can act on), and what it takes off each line.

The codes are Stripe promotion codes (each redeeming a coupon), created by
staff in admin (payments.discount_codes) and mirrored by dj-stripe, which is
what is read here: no Stripe call when a customer types a code.

What a coupon takes off follows Stripe's own rule, so that the order total is
exactly what Stripe charges for the Checkout Session that carries the code:
- percent off: each line's percentage, rounded half up to the minor unit;
- amount off (in the coupon's currency): spread over the lines in proportion
  to their amounts (largest remainder), never more than the cart is worth.
A discount never makes a line negative.

Redemption limits: Stripe counts a redemption when a Checkout Session
completes, so two buyers racing for the last one could both get a session.
The shop counts its own orders holding the code (awaiting payment or paid)
under a row lock taken when an order is placed (`discount_code_reserve`):
one buyer wins, the other reads that the code has been used up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q
from django.utils import timezone
from djstripe.models import Coupon, PromotionCode

from core.money import allocate, format_money, format_rate

from .exceptions import OrderError
from .models import Order

# Orders that hold one redemption of their code.
PAID_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED)
MAX_CODE_LENGTH = 100


class DiscountRefused(OrderError):
    """The code cannot be used for this cart; the message says why."""


@dataclass(frozen=True)
class DiscountCode:
    code: str  # as the promotion code is spelled at Stripe
    promotion_code_id: str
    coupon_id: str
    percent_off: Decimal | None
    amount_off: int | None  # minor units of `currency`
    currency: str  # the amount's currency ("" for a percentage)
    duration: str = "once"
    duration_in_months: int | None = None

    @property
    def terms(self) -> str:
        if self.percent_off is not None:
            return f"{format_rate(self.percent_off)} off"
        return f"{format_money(self.amount_off or 0, self.currency)} off"

    @property
    def label(self) -> str:
        """How documents and pages name it: "Code SPRING10 (10% off)"."""
        return f"Code {self.code} ({self.terms})"

    def amounts_off(self, line_amounts: list[int]) -> list[int]:
        """What the code takes off each line (VAT-inclusive amounts), as Stripe computes it."""
        if not line_amounts:
            return []
        if self.percent_off is not None:
            share = self.percent_off / Decimal(100)
            return [min(amount, int((Decimal(amount) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
                    for amount in line_amounts]
        total = sum(line_amounts)
        if total <= 0:
            return [0 for _ in line_amounts]
        return allocate(min(self.amount_off or 0, total), line_amounts)


def normalize_code(raw) -> str:
    """What a customer typed, trimmed (spaces inside are dropped too: codes have none)."""
    return "".join(str(raw or "").split())[:MAX_CODE_LENGTH]


def _coupon_id(promo: PromotionCode) -> str:
    data = promo.stripe_data
    promotion = data.get("promotion") or {}
    coupon = promotion.get("coupon") or data.get("coupon")
    return coupon.get("id", "") if isinstance(coupon, dict) else (coupon or "")


def _timestamp_passed(value) -> bool:
    return bool(value) and int(value) <= int(timezone.now().timestamp())


def redemptions_held(*, promotion_code_id: str = "", coupon_id: str = "") -> int:
    """Orders holding a redemption of the promotion code (or the coupon):
    awaiting payment within their reservation, or paid."""
    holding = Q(status__in=PAID_STATUSES) | Q(status=Order.Status.AWAITING_PAYMENT,
                                              expires_at__gt=timezone.now())
    orders = Order.objects.filter(holding)
    if promotion_code_id:
        return orders.filter(stripe_promotion_code_id=promotion_code_id).count()
    return orders.filter(stripe_coupon_id=coupon_id).count()


def _first_order_taken(*, email: str, customer) -> bool:
    orders = Order.objects.filter(status__in=PAID_STATUSES)
    match = Q(email__iexact=email) if email else Q(pk__in=[])
    if customer is not None and getattr(customer, "pk", None):
        match |= Q(customer=customer)
    return orders.filter(match).exists()


def discount_code_find(
    *, code: str, currency: str, subtotal: int, email: str = "", customer=None,
) -> DiscountCode:
    """The promotion code a customer typed (any case, spaces ignored), checked
    for an order of `subtotal` (VAT included, before any discount) in
    `currency`. Raises DiscountRefused with the reason: unknown, inactive,
    expired, used up, not for this currency, minimum not met, first order only."""
    typed = normalize_code(code)
    if not typed:
        raise DiscountRefused("Enter a discount code.")
    candidates = list(PromotionCode.objects.filter(stripe_data__code__iexact=typed).order_by("-djstripe_created"))
    if not candidates:
        raise DiscountRefused(f"“{typed}” is not a valid discount code.")
    # Several codes may share a spelling at Stripe (one active at a time).
    promo = next((p for p in candidates if p.stripe_data.get("active")), candidates[0])
    data = promo.stripe_data
    spelled = data.get("code", typed)
    coupon = Coupon.objects.filter(id=_coupon_id(promo)).first()
    if coupon is None:
        raise DiscountRefused(f"“{spelled}” is not a valid discount code.")
    terms = coupon.stripe_data
    if _timestamp_passed(data.get("expires_at")) or _timestamp_passed(terms.get("redeem_by")):
        raise DiscountRefused(f"The code “{spelled}” has expired.")
    # Used up before inactive: Stripe deactivates a code at its last redemption.
    promo_limit, coupon_limit = data.get("max_redemptions"), terms.get("max_redemptions")
    if (promo_limit and max(int(data.get("times_redeemed") or 0),
                            redemptions_held(promotion_code_id=promo.id)) >= promo_limit) or (
            coupon_limit and max(int(terms.get("times_redeemed") or 0),
                                 redemptions_held(coupon_id=coupon.id)) >= coupon_limit):
        raise DiscountRefused(f"The code “{spelled}” has been used the maximum number of times.")
    if not data.get("active") or not terms.get("valid", True):
        raise DiscountRefused(f"The code “{spelled}” is no longer valid.")
    if data.get("customer"):
        raise DiscountRefused(f"The code “{spelled}” is reserved for another customer.")
    currency = currency.lower()
    restrictions = data.get("restrictions") or {}
    minimum_currency = (restrictions.get("minimum_amount_currency") or "").lower()
    amount_currency = (terms.get("currency") or "").lower() if terms.get("amount_off") is not None else ""
    for only in (amount_currency, minimum_currency):
        if only and only != currency:
            raise DiscountRefused(
                f"The code “{spelled}” is for orders in {only.upper()}, and your cart is in {currency.upper()}.")
    minimum = restrictions.get("minimum_amount")
    if minimum and subtotal < int(minimum):
        raise DiscountRefused(
            f"The code “{spelled}” needs an order of at least {format_money(int(minimum), currency)} "
            f"(your cart: {format_money(subtotal, currency)}).")
    if restrictions.get("first_time_transaction") and _first_order_taken(email=email, customer=customer):
        raise DiscountRefused(f"The code “{spelled}” is for a first order only.")
    percent = terms.get("percent_off")
    return DiscountCode(
        code=spelled,
        promotion_code_id=promo.id,
        coupon_id=coupon.id,
        percent_off=Decimal(str(percent)) if percent is not None else None,
        amount_off=int(terms["amount_off"]) if percent is None and terms.get("amount_off") is not None else None,
        currency=amount_currency,
        duration=terms.get("duration") or "once",
        duration_in_months=terms.get("duration_in_months"),
    )


def discount_code_reserve(discount: DiscountCode) -> None:
    """Serialize the orders placed with `discount`'s code: called inside the
    placing transaction before its limit is checked again. An UPDATE of the
    mirrored promotion code takes its row lock (PostgreSQL) or the database's
    write lock (SQLite) until the order commits or rolls back."""
    PromotionCode.objects.filter(id=discount.promotion_code_id).update(djstripe_updated=F("djstripe_updated"))
