"""Prorations: credit for the unused time of the old items and charge for the
remaining time of the new ones when a subscription changes mid-period.
amount x remaining seconds / period seconds, rounded half up to the minor unit."""

from datetime import datetime, timezone

from ..wire import as_int, invalid
from . import discounts
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
    the credit applies (`charge_remaining=False`).

    Discounts (flexible billing mode, `proration_discounts: included`): the
    credit is for what was debited (the item's last invoice line, net of its
    discounts), the charge net of the subscription's discounts now; the lines
    name those discounts with amount 0."""
    start, end = period(store, sub)
    total, remaining = end - start, end - max(t, start)
    last = facts_of(store, sub).get("last_lines", {})
    live = discounts.live(store, sub["discounts"], t)
    included = [d["id"] for d in live]
    before = {item["id"]: (item["price"], item["quantity"]) for item in items_of(store, sub)}
    after = dict(before)
    for n, (item, _, _, new_price, new_qty) in enumerate(changes):
        key = item["id"] if item else f"new-{n}"
        if new_price is None or not new_qty:
            after.pop(key, None)
        else:
            after[key] = (new_price, new_qty)
    off_before, off_after = _full_period_discounts(store, sub, live, before), \
        _full_period_discounts(store, sub, live, after)
    specs = []
    for n, (item, old_price, old_qty, new_price, new_qty) in enumerate(changes):
        key = item["id"] if item else f"new-{n}"
        item = item or {"id": None, "price": new_price, "quantity": new_qty}
        if old_price is not None and old_qty:
            name = product_name(store, old_price)
            label = f"{old_qty} × {name}" if old_qty > 1 else name
            debited = _debited_discount(store, last.get(key), old_price, old_qty)
            off = debited if debited is not None else off_before.get(key, 0)
            amount = -prorate(old_price["unit_amount"] * old_qty - off, remaining, total)
            specs.append(dict(item_spec(store, item, t, end, amount=amount,
                                        description=f"Unused time on {label} after {_date(t)}",
                                        proration=True, credited=last.get(item["id"])),
                              price=old_price["id"], product=old_price["product"], quantity=old_qty,
                              included_discounts=included if off else []))
        if new_price is not None and new_qty and charge_remaining:
            name = product_name(store, new_price)
            label = f"{new_qty} × {name}" if new_qty > 1 else name
            off = off_after.get(key, 0)
            amount = prorate(new_price["unit_amount"] * new_qty - off, remaining, total)
            specs.append(dict(item_spec(store, item, t, end, amount=amount,
                                        description=f"Remaining time on {label} after {_date(t)}",
                                        proration=True),
                              price=new_price["id"], product=new_price["product"], quantity=new_qty,
                              included_discounts=included if off else []))
    return specs


def _full_period_discounts(store, sub, live, items):
    """What `live` discounts take off a full period of `items` (key -> (price,
    quantity)), per key."""
    if not live:
        return {}
    keys = list(items)
    amounts = [(items[k][0]["unit_amount"] * items[k][1], items[k][0]["product"], sub["currency"]) for k in keys]
    return dict(zip(keys, discounts.full_period_discount(store, live, amounts), strict=True))


def _debited_discount(store, ref, price, quantity):
    """What the discounts took off the item's last invoice line, if that line
    billed this price and quantity (the amount then debited), else None."""
    if not ref:
        return None
    lines = store.private.get(ref["invoice"], {}).get("lines", [])
    line = next((line for line in lines if line["id"] in ref["invoice_line_items"]), None)
    if line is None or line["quantity"] != quantity or \
            ((line["pricing"] or {}).get("price_details") or {}).get("price") != price["id"]:
        return None
    return sum(entry["amount"] for entry in line["discount_amounts"])


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
