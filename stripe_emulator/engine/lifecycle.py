"""A subscription's life: creation with its first invoice, renewals and trial
ends, the `invoice.upcoming` notice, and expiry of an `incomplete` one."""

from .. import fixtures
from ..resources.common import previous_attributes, snapshot
from . import discounts as discounts_engine
from .collection import end_subscription
from .invoicing import build_invoice, finalize, issue, item_spec, pending_items, price_spec, trial_spec
from .periods import (
    add_interval,
    cycle_bounds,
    facts_of,
    interval_of,
    items_of,
    new_item,
    period,
    set_period,
    sync_items,
)


def new_subscription(ctx, customer, entries, trial_end=None, default_pm=None, meta=None, description=None,
                     one_time=(), discounts=()):
    """Create a subscription and its first invoice (finalized; paid at once when
    €0, e.g. with a trial). `entries` = [(price, quantity, item metadata)];
    `discounts` as `engine.discounts.requested` gives them.
    Returns (subscription, invoice); the caller collects payment."""
    store = ctx.store
    now = store.now()
    first = entries[0][0]
    interval, count = interval_of(first)
    trialing = trial_end is not None and trial_end > now
    anchor = trial_end if trialing else now
    end = trial_end if trialing else add_interval(anchor, interval, count)
    sub = fixtures.make(
        "subscription",
        id=store.new_id("sub_"),
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        billing_cycle_anchor=anchor,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method="charge_automatically",
        created=now,
        currency=first["currency"],
        customer=customer["id"],
        default_payment_method=default_pm,
        default_tax_rates=[],
        description=description,
        discounts=[],
        invoice_settings=fixtures.shape("subscription", "invoice_settings", issuer={"type": "self"}),
        metadata=dict(meta or {}),
        payment_settings={"payment_method_options": None, "payment_method_types": None,
                          "save_default_payment_method": "off"},
        start_date=now,
        status="trialing" if trialing else "incomplete",
        test_clock=customer["test_clock"],
        trial_end=trial_end if trialing else None,
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
        trial_start=now if trialing else None,
        cancel_at_period_end=False,
        billing_mode={"type": "flexible", "flexible": {"proration_discounts": "included"}},
        managed_payments={"enabled": False},
        billing_schedules=[],
    )
    store.add(sub, {"anchor": anchor, "cycle": 0, "items": [], "clock": customer["test_clock"]})
    for price, quantity, item_meta in entries:
        new_item(store, sub, price, quantity, item_meta, now, end)
    sync_items(store, sub)
    discounts_engine.attach(ctx, sub, discounts)
    specs = [(trial_spec if trialing else item_spec)(store, item, now, end) for item in items_of(store, sub)]
    specs += [price_spec(store, price, qty, now, now) for price, qty in one_time]
    invoice = build_invoice(ctx, customer, sub, "subscription_create", specs, now, now,
                            pending=pending_items(store, customer["id"], sub["id"]))
    sub["latest_invoice"] = invoice["id"]
    ctx.emit("customer.subscription.created", sub)
    ctx.emit("invoice.created", invoice)
    finalize(ctx, invoice)
    return sub, invoice


def expire_incomplete(ctx, sub):
    store = ctx.store
    invoice = store.get(sub["latest_invoice"], "invoice")
    sub.update(status="incomplete_expired", ended_at=store.now())
    if invoice is not None and invoice["status"] == "open":
        invoice.update(status="void", next_payment_attempt=None, auto_advance=False, amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = store.now()
        ctx.emit("invoice.voided", invoice)
    ctx.emit("customer.subscription.deleted", sub)


def renew(ctx, sub):
    """The period (or trial) ended: cancel if asked, else start the next
    period and invoice it."""
    store = ctx.store
    now = store.now()
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= now):
        end_subscription(ctx, sub, "cancellation_requested")
        return
    before = snapshot(sub)
    p = facts_of(store, sub)
    old_start, old_end = period(store, sub)
    if sub["status"] == "trialing":
        p["anchor"], p["cycle"] = sub["trial_end"], 0
        sub["billing_cycle_anchor"] = sub["trial_end"]
        sub["status"] = "active"
    else:
        p["cycle"] += 1
    start, end = cycle_bounds(store, sub)
    set_period(store, sub, start, end)
    customer = store.get(sub["customer"], "customer")
    specs = [item_spec(store, item, start, end) for item in items_of(store, sub)]
    invoice = build_invoice(ctx, customer, sub, "subscription_cycle", specs, old_start, old_end,
                            pending=pending_items(store, customer["id"], sub["id"]))
    sub["latest_invoice"] = invoice["id"]
    ctx.emit("customer.subscription.updated", sub, previous_attributes(before, sub))
    issue(ctx, invoice)


def send_upcoming(ctx, sub):
    """invoice.upcoming: the next renewal's invoice. It has no id yet, so the
    key is left out ("always present unless the invoice is an upcoming invoice")."""
    store = ctx.store
    start, end = period(store, sub)
    preview = renewal_preview(ctx, sub, end)
    del preview["id"]
    preview["lines"]["url"] = "/v1/invoices/upcoming/lines"
    ctx.emit("invoice.upcoming", preview)


def renewal_preview(ctx, sub, at):
    store = ctx.store
    p = facts_of(store, sub)
    start, end = period(store, sub)
    if sub["status"] == "trialing":
        item = items_of(store, sub)[0]
        interval, count = interval_of(item["price"])
        nstart, nend = sub["trial_end"], add_interval(sub["trial_end"], interval, count)
    else:
        interval, count = interval_of(items_of(store, sub)[0]["price"])
        nstart = add_interval(p["anchor"], interval, count, p["cycle"] + 1)
        nend = add_interval(p["anchor"], interval, count, p["cycle"] + 2)
    customer = store.get(sub["customer"], "customer")
    specs = [item_spec(store, item, nstart, nend) for item in items_of(store, sub)]
    return build_invoice(ctx, customer, sub, "upcoming", specs, start, end,
                         pending=pending_items(store, customer["id"], sub["id"]), preview=True, created=at)
