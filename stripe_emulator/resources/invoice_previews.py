"""Invoice previews (`POST /v1/invoices/create_preview`): what the next
invoice of a subscription would be, or what a change of its items would
invoice (prorations, discounts included), without storing anything."""

from ..engine.clock import at_clock
from ..engine.invoicing import build_invoice, item_spec, pending_items
from ..engine.periods import LIVE, add_interval, facts_of, interval_of, items_of, period
from ..engine.proration import PRORATION_BEHAVIORS, interval_changes, proration_date, proration_specs
from ..wire import as_dict, as_list, as_str, invalid, missing
from .common import render
from .subscriptions import item_changes


def create_preview(req):
    params, store = req.params, req.store
    sub_id = as_str(params, "subscription")
    customer_id = as_str(params, "customer")
    sub = store.require(sub_id, "subscription", param="subscription") if sub_id else None
    if sub is None:
        if not customer_id:
            raise missing("customer")
        customer = store.require(customer_id, "customer", param="customer")
        live = store.all("subscription", lambda s: s["customer"] == customer_id and s["status"] in LIVE)
        sub = live[0] if len(live) == 1 else None
    else:
        customer = store.get(sub["customer"], "customer")
    if sub is None or sub["status"] not in LIVE:
        raise invalid("Nothing to invoice for customer", code="invoice_upcoming_none")
    details = as_dict(params, "subscription_details")
    with at_clock(store, sub["test_clock"]):
        return render(req, _preview(req, customer, sub, details))


def _preview(req, customer, sub, details):
    store = req.store
    label = "subscription_details"
    behavior = as_str(details, "proration_behavior", choices=PRORATION_BEHAVIORS,
                      label=f"{label}[proration_behavior]") or "create_prorations"
    now = store.now()
    t = proration_date(details, store, sub, label=f"{label}[proration_date]")
    changes = item_changes(req, sub, as_list(details, "items"), label=f"{label}[items]")
    changed = [c for c in changes if (c[1] or {}).get("id") != (c[3] or {}).get("id") or c[2] != c[4]]
    trialing = sub["status"] == "trialing"
    interval_change = bool(changed) and interval_changes(store, sub, changed) and not trialing
    specs = []
    if changed and not trialing and behavior != "none":
        specs = proration_specs(store, sub, [c[:5] for c in changed], t, charge_remaining=not interval_change)
    pending = pending_items(store, customer["id"], sub["id"])
    # the items as they would be after the change
    after = {item["id"]: (item["price"], item["quantity"]) for item in items_of(store, sub)}
    extra = []
    for item, _, _, new_price, new_qty, removed, _ in changes:
        if item is None:
            extra.append((new_price, new_qty))
        elif removed:
            after.pop(item["id"], None)
        else:
            after[item["id"]] = (new_price, new_qty)
    entries = [(store.get(i), p, q) for i, (p, q) in after.items()] + [(None, p, q) for p, q in extra]
    start, end = period(store, sub)
    p = facts_of(store, sub)

    def next_period_specs(nstart, nend):
        out = []
        for item, price, qty in entries:
            shadow = dict(item or {"id": None}, price=price, quantity=qty)
            out.append(item_spec(store, shadow, nstart, nend))
        return out

    if interval_change:
        interval, count = interval_of(entries[0][1])
        specs += next_period_specs(now, add_interval(now, interval, count))
        preview = build_invoice(req, customer, sub, "subscription_update", specs, now, now, pending=pending,
                                preview=True)
    elif behavior == "always_invoice" and specs:
        preview = build_invoice(req, customer, sub, "subscription_update", specs, now, now, pending=pending,
                                preview=True)
    else:
        interval, count = interval_of(entries[0][1])
        if trialing:
            nstart = sub["trial_end"]
            nend = add_interval(nstart, interval, count)
        else:
            nstart = add_interval(p["anchor"], interval, count, p["cycle"] + 1)
            nend = add_interval(p["anchor"], interval, count, p["cycle"] + 2)
        preview = build_invoice(req, customer, sub, "upcoming", specs + next_period_specs(nstart, nend),
                                start, end, pending=pending, preview=True, created=nstart)
    # What the preview would owe after the customer's balance.
    applied = preview["total"] + customer["balance"]
    preview.update(amount_due=max(applied, 0), amount_remaining=max(applied, 0),
                   ending_balance=min(applied, 0) if preview["total"] else None)
    return preview


ROUTES = [
    ("POST", "/v1/invoices/create_preview", create_preview),
]
