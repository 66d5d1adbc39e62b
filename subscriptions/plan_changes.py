"""Plan changes: the other plans at the buyer's price (their VAT is kept),
the proration preview as Stripe will charge it, and the change itself
(confirmed by its webhook)."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone
from djstripe.models import Price, Subscription

from payments import gateway

from .customers import subscription_audit
from .exceptions import SubscriptionError
from .plans import buyer_price_get_or_create, plan_price_id_of
from .pricing import PlanQuote, subscription_plan_quote
from .selectors import (
    PlanPrice,
    plan_price,
    plan_price_get,
    subscription_item,
    subscription_period_end,
    subscription_plan_price_id,
    subscription_summary,
)


def subscription_quote(*, subscription: Subscription, plan_price: Price) -> PlanQuote | None:
    """`plan_price` for the buyer of `subscription`, with the VAT they signed
    up with (None: a subscription from before VAT by place of supply, which
    stays at the seller's VAT)."""
    return subscription_plan_quote(plan_price=plan_price, metadata=subscription.stripe_data.get("metadata") or {})


def subscription_plan_price_for_buyer(*, subscription: Subscription, price: PlanPrice) -> PlanPrice:
    """A plan price as the subscription's buyer would pay it (their VAT), for
    the "Change plan" choices. Nothing is asked of Stripe."""
    mirrored = plan_price_get(price.id)
    quote = subscription_quote(subscription=subscription, plan_price=mirrored) if mirrored is not None else None
    return dataclasses.replace(price, amount=quote.amount) if quote is not None else price


def _buyer_price(subscription: Subscription, plan_price: Price) -> Price:
    """The price a subscription is charged for `plan_price`: the buyer's VAT
    is kept across plan changes."""
    quote = subscription_quote(subscription=subscription, plan_price=plan_price)
    if quote is None:
        return plan_price
    return buyer_price_get_or_create(plan_price=plan_price, treatment=quote.treatment)


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class ChangePreview:
    """What a plan change does, as Stripe will do it: what is charged and when,
    and what credit the customer keeps."""

    NOW = "now"  # on an invoice of its own, at once (always_invoice)
    NEXT_INVOICE = "next_invoice"  # added to the next renewal (create_prorations)
    TRIAL_END = "trial_end"  # nothing during a free trial; the new price from its end

    price: Price  # what Stripe will charge: the plan's price with the buyer's VAT
    proration_date: int
    currency: str
    when: str
    # Charged at `charge_on` (now, the next renewal or the trial's end), VAT incl.
    amount_due: int
    charge_on: datetime | None
    lines: tuple[PreviewLine, ...] = ()
    # The unused time of the current plan worth more than what is charged:
    # Stripe keeps it on the customer's balance, for the next invoices.
    credit_kept: int = 0
    # When the new plan renews next, and at what price.
    renews_on: datetime | None = None

    @property
    def plan_price_id(self) -> str:
        """The plan price chosen (what the confirmation posts back)."""
        return plan_price_id_of(self.price)

    @property
    def proration_lines(self) -> tuple[PreviewLine, ...]:
        return tuple(line for line in self.lines if line.proration)


def _add_interval(moment: datetime, interval: str, count: int = 1) -> datetime:
    if interval == "year":
        return moment.replace(year=moment.year + count)
    if interval == "month":
        index = moment.month - 1 + count
        year, month = moment.year + index // 12, index % 12 + 1
        last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
                    30, 31, 30, 31][month - 1]
        return moment.replace(year=year, month=month, day=min(moment.day, last_day))
    return moment + timedelta(days=7 * count if interval == "week" else count)


def _change_details(subscription: Subscription, price: Price, proration_date: int) -> dict:
    item = subscription_item(subscription)
    return {
        "items": [{"id": item["id"], "price": price.id}],
        "proration_behavior": settings.SUBSCRIPTION_PRORATION_BEHAVIOR,
        "proration_date": proration_date,
    }


def _changeable(subscription: Subscription, price_id: str) -> Price:
    if subscription.status not in ("active", "trialing"):
        raise SubscriptionError("Only an active subscription can change plan.")
    price = plan_price_get(price_id)
    if price is None:
        raise SubscriptionError("This plan is not available.")
    if not subscription_item(subscription):
        raise SubscriptionError("This subscription has no plan to change.")
    return price


def subscription_change_preview(*, subscription: Subscription, price_id: str) -> ChangePreview | None:
    """What changing to `price_id` would do, as Stripe will do it. None when it
    is the plan the subscription already has.

    During a free trial nothing is charged and nothing is prorated: the trial
    goes on with the new plan, whose price is charged when it ends. Otherwise
    Stripe's invoice preview gives the prorations: charged at once on an
    invoice of its own (always_invoice), or added to the next renewal; a
    credit larger than the charge stays on the customer's balance."""
    price = _changeable(subscription, price_id)
    if subscription_plan_price_id(subscription) == price.id:
        return None
    price = _buyer_price(subscription, price)
    new = plan_price(price)
    summary = subscription_summary(subscription)
    if subscription.status == "trialing" and summary.trial_end:
        return ChangePreview(
            price=price, proration_date=int(timezone.now().timestamp()), currency=new.currency,
            when=ChangePreview.TRIAL_END, amount_due=new.amount, charge_on=summary.trial_end,
            renews_on=_add_interval(summary.trial_end, new.interval),
        )
    proration_date = int(timezone.now().timestamp())
    if subscription.test_clock:
        # On a test clock "now" is the clock's time.
        proration_date = gateway.test_clock_retrieve(subscription.test_clock).frozen_time
    preview = gateway.invoice_create_preview(
        customer=subscription.customer.id,
        subscription=subscription.id,
        subscription_details=_change_details(subscription, price, proration_date),
    )
    lines = tuple(
        PreviewLine(description=line.description, amount=line.amount, proration=line.proration)
        for line in preview.lines
    )
    now = datetime.fromtimestamp(proration_date, tz=dt_timezone.utc)
    period_end = subscription_period_end(subscription)
    # A change of interval (monthly <-> yearly) starts a new cycle now.
    new_cycle = summary.price is not None and summary.price.interval != new.interval
    if settings.SUBSCRIPTION_PRORATION_BEHAVIOR == "always_invoice" or new_cycle:
        return ChangePreview(
            price=price, proration_date=proration_date, currency=preview.currency or new.currency,
            when=ChangePreview.NOW, amount_due=preview.amount_due, charge_on=now, lines=lines,
            credit_kept=max(-sum(line.amount for line in lines), 0),
            renews_on=_add_interval(now, new.interval) if new_cycle else period_end,
        )
    return ChangePreview(
        price=price, proration_date=proration_date, currency=preview.currency or new.currency,
        when=ChangePreview.NEXT_INVOICE, amount_due=preview.amount_due, charge_on=period_end,
        lines=lines, renews_on=period_end,
    )


def subscription_change_plan(
    *, subscription: Subscription, price_id: str, proration_date: int, actor=None
) -> bool:
    """Move the subscription to another price, prorated as previewed (the same
    proration date). Returns False, doing nothing, for the plan it already has."""
    price = _changeable(subscription, price_id)
    if subscription_plan_price_id(subscription) == price.id:
        return False
    price = _buyer_price(subscription, price)
    gateway.subscription_update(
        subscription.id,
        params=_change_details(subscription, price, int(proration_date)),
        idempotency_key=f"shop-sub-{subscription.id}-change-{price.id}-{int(proration_date)}",
    )
    new = plan_price(price)
    subscription_audit(subscription=subscription, actor=actor, action="subscription.plan_changed",
           message=f"plan change to {price.product.name} · {new.interval_label} asked of Stripe",
           price=price.id)
    return True
