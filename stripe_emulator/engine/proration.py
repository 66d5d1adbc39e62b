"""Prorations: credit for the unused time of the old items and charge for the
remaining time of the new ones when a subscription changes mid-period.
amount x remaining seconds / period seconds, rounded half up to the minor unit."""

from datetime import datetime, timezone

from ..wire import as_int, invalid
from .invoicing import item_spec
from .periods import facts_of, interval_of, items_of, period, product_name


PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")


def prorate(amount, remaining, total):
    """amount × remaining / total, rounded to the nearest minor unit (half up)."""
    if total <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * remaining + total) // (2 * total))


def _date(ts):
    d = datetime.fromtimestamp(ts, timezone.utc)
    return f"{d.day} {d.strftime('%b %Y')}"


def proration_specs(store, sub, changes, t, *, charge_remaining=True):
    """Credit for the unused time of the old items, charge for the remaining
    time of the new ones, from `t` to the period's end. When the interval
    changes Stripe restarts the cycle and bills the new price in full, so only
    the credit applies (`charge_remaining=False`)."""
    start, end = period(store, sub)
    total, remaining = end - start, end - max(t, start)
    last = facts_of(store, sub).get("last_lines", {})
    specs = []
    for item, old_price, old_qty, new_price, new_qty in changes:
        item = item or {"id": None, "price": new_price, "quantity": new_qty}
        if old_price is not None and old_qty:
            name = product_name(store, old_price)
            label = f"{old_qty} × {name}" if old_qty > 1 else name
            amount = -prorate(old_price["unit_amount"] * old_qty, remaining, total)
            specs.append(dict(item_spec(store, item, t, end, amount=amount,
                                         description=f"Unused time on {label} after {_date(t)}",
                                         proration=True, credited=last.get(item["id"])),
                              price=old_price["id"], product=old_price["product"], quantity=old_qty))
        if new_price is not None and new_qty and charge_remaining:
            name = product_name(store, new_price)
            label = f"{new_qty} × {name}" if new_qty > 1 else name
            amount = prorate(new_price["unit_amount"] * new_qty, remaining, total)
            specs.append(dict(item_spec(store, item, t, end, amount=amount,
                                         description=f"Remaining time on {label} after {_date(t)}",
                                         proration=True),
                              price=new_price["id"], product=new_price["product"], quantity=new_qty))
    return specs


def interval_changes(store, sub, changes):
    current = interval_of(items_of(store, sub)[0]["price"])
    return any(new is not None and interval_of(new) != current for _, _, _, new, _, _, _ in changes)


def proration_date(params, store, sub, label="proration_date"):
    t = as_int(params, "proration_date", label=label)
    now = store.now()
    if t is None:
        return now
    start, end = period(store, sub)
    if not start <= t <= end:
        raise invalid("The proration_date must be within the subscription's current billing period.",
                      param=label)
    return t
