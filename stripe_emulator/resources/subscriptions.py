"""Subscriptions: create (with `payment_behavior`), retrieve, list, update
(item changes with prorations, trial end, cancel at period end), cancel (with
`invoice_now` / `prorate`). The billing engine (`engine/`) does the rest."""

from .. import fixtures
from ..engine import discounts
from ..engine.clock import at_clock
from ..engine.collection import attempt, end_subscription
from ..engine.invoicing import build_invoice, issue, item_spec, new_invoice_item, pending_items
from ..engine.lifecycle import new_subscription, renew
from ..engine.periods import (
    DAY,
    cycle_bounds,
    facts_of,
    interval_of,
    items_of,
    new_item,
    period,
    set_period,
    set_price,
    sync_items,
)
from ..engine.proration import PRORATION_BEHAVIORS, interval_changes, proration_date, proration_specs
from ..wire import as_bool, as_dict, as_int, as_list, as_str, invalid, list_object, metadata, missing, not_found
from .common import INCLUDES, eq_filter, previous_attributes, render, render_list, snapshot
from .payment_methods import attach_to, resolve


def _recurring_price(req, price_id, param):
    price = req.store.require(price_id, "price", param=param)
    if price["type"] != "recurring":
        raise invalid("The price specified is set to `type=one_time` but this field only accepts prices with "
                      "`type=recurring`.", param=param)
    if not price["active"]:
        raise invalid(f"The price specified ({price_id}) is inactive. This field only accepts active prices.",
                      param=param)
    return price


def payment_method_for(req, customer, pm_id, param):
    if not pm_id:
        return None
    pm = resolve(req, pm_id, param)
    if pm["customer"] is None:
        attach_to(req, pm, customer, param=param)
    elif pm["customer"] != customer["id"]:
        raise invalid(f"The customer does not have a payment method with the ID {pm_id}. The payment method "
                      "must be attached to the customer.", param=param, code="resource_missing")
    return pm["id"]


def _trial_end(req, params, prices, now, trial_param="trial_period_days", from_plan=False):
    trial_end = params.get("trial_end")
    days = as_int(params, trial_param, minimum=0, maximum=730)
    if trial_end not in (None, ""):
        if trial_end == "now":
            return None
        end = as_int(params, "trial_end")
        if end <= now:
            raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", param="trial_end")
        return end
    if days:
        return now + days * DAY
    if from_plan:
        plan_days = (prices[0]["recurring"] or {}).get("trial_period_days")
        if plan_days:
            return now + plan_days * DAY
    return None


def create_subscription(req):
    params, store = req.params, req.store
    customer = store.require(as_str(params, "customer", required=True), "customer", param="customer")
    raw_items = as_list(params, "items")
    if not raw_items:
        raise missing("items")
    if as_str(params, "collection_method") not in (None, "charge_automatically"):
        raise invalid("The emulator only supports collection_method=charge_automatically.",
                      param="collection_method")
    behavior = as_str(params, "payment_behavior", choices=(
        "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete")) or "allow_incomplete"
    entries = []
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise invalid(f"Invalid items[{i}]: must be a hash.", param=f"items[{i}]")
        price_id = as_str(raw, "price") or as_str(raw, "plan")
        if not price_id:
            raise missing(f"items[{i}][price]")
        price = _recurring_price(req, price_id, f"items[{i}][price]")
        entries.append((price, as_int(raw, "quantity", minimum=1, label=f"items[{i}][quantity]") or 1,
                        metadata(raw)))
    _check_same(entries)
    with at_clock(store, customer["test_clock"]):
        now = store.now()
        trial_end = _trial_end(req, params, [e[0] for e in entries], now,
                               from_plan=as_bool(params, "trial_from_plan", False))
        pm = payment_method_for(req, customer, as_str(params, "default_payment_method"),
                                "default_payment_method")
        chosen = discounts.requested(req, params.get("discounts"), "discounts", customer_id=customer["id"],
                                     currency=entries[0][0]["currency"],
                                     amount=sum(price["unit_amount"] * qty for price, qty, _ in entries))
        sub, invoice = new_subscription(req, customer, entries, trial_end=trial_end, default_pm=pm,
                                        meta=metadata(params), description=as_str(params, "description"),
                                        discounts=chosen)
        if as_bool(params, "cancel_at_period_end", False):
            _cancel_at_period_end(store, sub, True)
        if invoice["status"] == "open" and behavior != "default_incomplete":
            outcome, error = attempt(req, invoice, automatic=True)
            if outcome == "failed" and behavior == "error_if_incomplete":
                raise error
    return render(req, sub)


def _check_same(entries):
    currencies = {price["currency"] for price, _, _ in entries}
    intervals = {interval_of(price) for price, _, _ in entries}
    if len(currencies) > 1:
        raise invalid("All prices on a subscription must have the same currency.", param="items")
    if len(intervals) > 1:
        raise invalid("All prices on a subscription must have the same `recurring.interval` and "
                      "`recurring.interval_count`.", param="items")


def _require_sub(req):
    return req.store.require(req.args["id"], "subscription")


def retrieve_subscription(req):
    return render(req, _require_sub(req))


def list_subscriptions(req):
    params = req.params
    status = as_str(params, "status", choices=("active", "all", "canceled", "ended", "incomplete",
                                               "incomplete_expired", "past_due", "paused", "trialing", "unpaid"))
    filters = [eq_filter(req, "customer"), eq_filter(req, "test_clock"),
               eq_filter(req, "collection_method")]
    if status == "ended":
        filters.append(lambda s: s["status"] in ("canceled", "incomplete_expired"))
    elif status and status != "all":
        filters.append(lambda s: s["status"] == status)
    elif not status:
        filters.append(lambda s: s["status"] not in ("canceled", "incomplete_expired"))
    price = as_str(params, "price") or as_str(params, "plan")
    if price:
        filters.append(lambda s: any(i["price"]["id"] == price for i in s["items"]["data"]))
    return render_list(req, "subscription", "/v1/subscriptions", filters)


def _cancel_at_period_end(store, sub, flag):
    sub["cancel_at_period_end"] = flag
    if flag:
        sub["cancel_at"] = period(store, sub)[1]
        sub["canceled_at"] = store.now()
        sub["cancellation_details"] = dict(sub["cancellation_details"], reason="cancellation_requested")
    else:
        sub.update(cancel_at=None, canceled_at=None,
                   cancellation_details={"comment": None, "feedback": None, "reason": None})


def item_changes(req, sub, raw_items, label="items"):
    """Parse `items[]` of an update (or a preview's subscription_details):
    [(item or None, old price, old qty, new price, new qty, deleted, metadata)]."""
    store = req.store
    changes = []
    for i, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            raise invalid(f"Invalid {label}[{i}]: must be a hash.", param=f"{label}[{i}]")
        item_id = as_str(raw, "id")
        price_id = as_str(raw, "price") or as_str(raw, "plan")
        new_price = _recurring_price(req, price_id, f"{label}[{i}][price]") if price_id else None
        qty = as_int(raw, "quantity", minimum=0, label=f"{label}[{i}][quantity]")
        removed = as_bool(raw, "deleted", False)
        if item_id:
            item = store.get(item_id, "subscription_item")
            if item is None or item["subscription"] != sub["id"]:
                raise invalid(f"No such subscription item: '{item_id}'", param=f"{label}[{i}][id]",
                              code="resource_missing")
            old_price, old_qty = item["price"], item["quantity"]
            new_price = None if removed else (new_price or old_price)
            new_qty = 0 if removed else (old_qty if qty is None else qty)
            changes.append((item, old_price, old_qty, new_price, new_qty, removed, raw))
        else:
            if new_price is None:
                raise missing(f"{label}[{i}][price]")
            changes.append((None, None, 0, new_price, 1 if qty is None else qty, False, raw))
    for _, _, _, new_price, _, _, _ in changes:
        if new_price is not None and new_price["currency"] != sub["currency"]:
            raise invalid("All prices on a subscription must have the same currency.", param=label)
    return changes


def update_subscription(req):
    sub = _require_sub(req)
    with at_clock(req.store, sub["test_clock"]):
        _update(req, sub)
    return render(req, sub)


def _update(req, sub):
    params, store = req.params, req.store
    if sub["status"] in ("canceled", "incomplete_expired"):
        allowed = {"metadata", "cancellation_details", "expand"}
        if set(params) - allowed:
            raise invalid("A canceled subscription can only update its cancellation_details and metadata.",
                          code=None)
    before = snapshot(sub)
    customer = store.get(sub["customer"], "customer")
    behavior = as_str(params, "proration_behavior", choices=PRORATION_BEHAVIORS) or "create_prorations"
    now = store.now()
    t = proration_date(params, store, sub)
    changes = item_changes(req, sub, as_list(params, "items"))
    changed = [c for c in changes if (c[1] or {}).get("id") != (c[3] or {}).get("id") or c[2] != c[4]]
    interval_change = bool(changed) and interval_changes(store, sub, changed)
    trialing = sub["status"] == "trialing"
    specs = []
    if changed and not trialing and behavior != "none":
        specs = proration_specs(store, sub, [c[:5] for c in changed if c[0] is not None], t,
                                 charge_remaining=not interval_change)
    # apply the item changes
    start, end = period(store, sub)
    for item, _, _, new_price, new_qty, removed, raw in changes:
        if item is None:
            item = new_item(store, sub, new_price, new_qty, metadata(raw), start, end)
            if not trialing and behavior != "none":
                specs += proration_specs(store, sub, [(item, None, 0, new_price, new_qty)], t)
        elif removed:
            facts_of(store, sub)["items"].remove(item["id"])
            store.remove(item["id"])
        else:
            set_price(item, new_price, new_qty)
            item["metadata"] = metadata(raw, item["metadata"])
    if not items_of(store, sub):
        raise invalid("A subscription must have at least one active plan.", param="items")
    sync_items(store, sub)
    invoice_now = None
    if interval_change and not trialing:
        # A new interval restarts the billing cycle now and bills it at once.
        p = facts_of(store, sub)
        p["anchor"], p["cycle"] = now, 0
        sub["billing_cycle_anchor"] = now
        start, end = cycle_bounds(store, sub)
        set_period(store, sub, start, end)
        specs += [item_spec(store, item, start, end) for item in items_of(store, sub)]
        invoice_now = specs
    elif specs and behavior == "always_invoice":
        invoice_now = specs
    # other fields
    if "cancel_at_period_end" in params:
        _cancel_at_period_end(store, sub, as_bool(params, "cancel_at_period_end"))
    if "cancel_at" in params:
        cancel_at = as_int(params, "cancel_at")
        sub["cancel_at"] = cancel_at
        sub["canceled_at"] = now if cancel_at else None
        sub["cancellation_details"] = dict(sub["cancellation_details"],
                                           reason="cancellation_requested" if cancel_at else None)
    details = as_dict(params, "cancellation_details")
    if details:
        sub["cancellation_details"] = dict(sub["cancellation_details"], comment=details.get("comment") or None,
                                           feedback=details.get("feedback") or None)
    if "discounts" in params:
        chosen = discounts.requested(req, params["discounts"], "discounts", customer_id=customer["id"],
                                     currency=sub["currency"], allow_discount=True)
        discounts.attach(req, sub, chosen)
    if "default_payment_method" in params:
        sub["default_payment_method"] = payment_method_for(
            req, customer, as_str(params, "default_payment_method"), "default_payment_method")
    if "description" in params:
        sub["description"] = as_str(params, "description")
    sub["metadata"] = metadata(params, sub["metadata"])
    end_trial = False
    if "trial_end" in params and trialing:
        if params["trial_end"] == "now":
            end_trial = True
        else:
            new_end = as_int(params, "trial_end")
            if new_end <= now:
                raise invalid("Invalid timestamp: must be an integer Unix timestamp in the future.",
                              param="trial_end")
            sub["trial_end"] = new_end
            set_period(store, sub, period(store, sub)[0], new_end)
    invoice = None
    if invoice_now is not None:
        invoice = build_invoice(req, customer, sub, "subscription_update", invoice_now, now, now,
                                pending=pending_items(store, customer["id"], sub["id"]))
        sub["latest_invoice"] = invoice["id"]
    elif specs:
        for spec in specs:
            new_invoice_item(req, customer, sub, spec, sub["currency"])
    if end_trial:
        sub["trial_end"] = now
        set_period(store, sub, period(store, sub)[0], now)
    previous = previous_attributes(before, sub)
    if previous:
        req.emit("customer.subscription.updated", sub, previous)
    if invoice is not None:
        issue(req, invoice)
    if end_trial:
        renew(req, sub)


def cancel_subscription(req):
    store, params = req.store, req.params
    sub = _require_sub(req)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise not_found("subscription", sub["id"])
    with at_clock(store, sub["test_clock"]):
        now = store.now()
        customer = store.get(sub["customer"], "customer")
        specs = []
        if as_bool(params, "prorate", False) and sub["status"] in ("active", "past_due"):
            specs = proration_specs(store, sub, [(item, item["price"], item["quantity"], None, 0)
                                                  for item in items_of(store, sub)], now)
        details = as_dict(params, "cancellation_details")
        if as_bool(params, "invoice_now", False):
            pending = pending_items(store, customer["id"], sub["id"])
            if specs or pending:
                invoice = build_invoice(req, customer, sub, "subscription_cycle", specs, now, now, pending=pending)
                sub["latest_invoice"] = invoice["id"]
                issue(req, invoice)
        else:
            for spec in specs:
                new_invoice_item(req, customer, sub, spec, sub["currency"])
        if sub["status"] != "canceled":
            sub["canceled_at"] = now
            sub["cancellation_details"]["reason"] = "cancellation_requested"
            end_subscription(req, sub, "cancellation_requested", comment=details.get("comment"),
                             feedback=details.get("feedback"))
    return render(req, sub)


def delete_discount(req):
    """DELETE /v1/subscriptions/{id}/discount: take its discounts off."""
    sub = _require_sub(req)
    if not sub["discounts"]:
        raise invalid("This subscription has no discount to delete.", code="resource_missing")
    with at_clock(req.store, sub["test_clock"]):
        before = snapshot(sub)
        removed = [discounts.detach(req, sub, discount_id) for discount_id in list(sub["discounts"])]
        req.emit("customer.subscription.updated", sub, previous_attributes(before, sub))
    return dict({key: removed[-1].get(key) for key in fixtures.template("deleted_discount")},
                object="discount", deleted=True)


def resume_subscription(req):
    raise invalid("Only paused subscriptions can be resumed; the emulator does not pause subscriptions.",
                  code="subscription_not_paused")


def subscriptions_of(app, customer):
    subs = app.store.all("subscription", lambda s: s["customer"] == customer["id"]
                         and s["status"] not in ("canceled", "incomplete_expired"))
    return list_object(snapshot(subs[:10]), f"/v1/customers/{customer['id']}/subscriptions",
                       has_more=len(subs) > 10)


INCLUDES[("customer", "subscriptions")] = subscriptions_of


ROUTES = [
    ("POST", "/v1/subscriptions", create_subscription),
    ("GET", "/v1/subscriptions", list_subscriptions),
    ("GET", "/v1/subscriptions/{id}", retrieve_subscription),
    ("POST", "/v1/subscriptions/{id}", update_subscription),
    ("DELETE", "/v1/subscriptions/{id}", cancel_subscription),
    ("POST", "/v1/subscriptions/{id}/resume", resume_subscription),
    ("DELETE", "/v1/subscriptions/{id}/discount", delete_discount),
]
