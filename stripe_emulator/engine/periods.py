"""A subscription's items, their plans and its current period; billing
intervals. Periods live on the items (`current_period_start/end`, as in the
dahlia API); the cycle anchor and number live in the subscription's private facts."""

import calendar
from datetime import datetime, timezone

from .. import fixtures
from ..resources.common import snapshot
from ..wire import list_object

DAY = 86400
LIVE = ("trialing", "active", "past_due", "unpaid")  # statuses that still bill


def subscription_of(invoice):
    """The id of the subscription an invoice bills, if any. Since basil it is
    `parent.subscription_details.subscription`; the top-level key is gone."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def add_interval(anchor, interval, count, n=1):
    """`anchor` + n × (count intervals), months clamped to the month's end
    like Stripe (Jan 31 -> Feb 28 -> Mar 31 with the anchor kept)."""
    if interval == "day":
        return anchor + n * count * DAY
    if interval == "week":
        return anchor + n * count * 7 * DAY
    months = n * count * (12 if interval == "year" else 1)
    dt = datetime.fromtimestamp(anchor, timezone.utc)
    total = dt.month - 1 + months
    year, month = dt.year + total // 12, total % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return int(dt.replace(year=year, month=month, day=day).timestamp())


def plan_of(price):
    recurring = price["recurring"] or {}
    return fixtures.make(
        "plan", id=price["id"], active=price["active"], amount=price["unit_amount"],
        amount_decimal=price["unit_amount_decimal"], billing_scheme=price["billing_scheme"],
        created=price["created"], currency=price["currency"], interval=recurring.get("interval"),
        interval_count=recurring.get("interval_count"), metadata=dict(price["metadata"]),
        nickname=price["nickname"], product=price["product"],
        trial_period_days=recurring.get("trial_period_days"), usage_type=recurring.get("usage_type"))


def facts_of(store, sub):
    return store.private.setdefault(sub["id"], {})


def items_of(store, sub):
    return [store.objects[i] for i in facts_of(store, sub).get("items", []) if i in store.objects]


def sync_items(store, sub):
    """Refresh the subscription's embedded `items` list from the stored items."""
    sub["items"] = list_object([snapshot(i) for i in items_of(store, sub)],
                               f"/v1/subscription_items?subscription={sub['id']}")


def set_price(item, price, quantity):
    item.update(price=snapshot(price), plan=plan_of(price), quantity=quantity)


def new_item(store, sub, price, quantity, meta, start, end):
    item = fixtures.make(
        "subscription_item", id=store.new_id("si_", 14), created=store.now(), discounts=[],
        metadata=dict(meta or {}), subscription=sub["id"], tax_rates=[], current_period_start=start,
        current_period_end=end)
    set_price(item, price, quantity)
    store.add(item)
    facts_of(store, sub).setdefault("items", []).append(item["id"])
    return item


def period(store, sub):
    items = items_of(store, sub)
    if not items:
        return sub["start_date"], sub["start_date"]
    return items[0]["current_period_start"], items[0]["current_period_end"]


def set_period(store, sub, start, end):
    for item in items_of(store, sub):
        item["current_period_start"], item["current_period_end"] = start, end
    sync_items(store, sub)


def interval_of(price):
    recurring = price["recurring"]
    return recurring["interval"], recurring["interval_count"]


def cycle_bounds(store, sub):
    p = facts_of(store, sub)
    interval, count = interval_of(items_of(store, sub)[0]["price"])
    return (add_interval(p["anchor"], interval, count, p["cycle"]),
            add_interval(p["anchor"], interval, count, p["cycle"] + 1))


def product_name(store, price):
    product = store.get(price["product"], "product")
    return product["name"] if product else price["product"]
