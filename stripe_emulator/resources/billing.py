"""Subscriptions, subscription items, invoices, invoice items, invoice payments,
invoice previews (prorations) and the billing engine that renews, retries and
ends subscriptions as (real or test-clock) time passes.

Time: a subscription of a customer created with a `test_clock` lives on that
clock's `frozen_time` (`at_clock`); the others on the emulator's clock.  Work
falls due at fixed times per subscription (`next_due`); `run_due` processes
everything due up to a target time in time order (a heap, so a clock with
thousands of subscriptions advances in one pass).

Per-subscription facts Stripe keeps but does not show live in
`store.private[sub_id]`: the billing cycle `anchor` and `cycle` number (period
k = [anchor + k intervals, anchor + k+1 intervals)), the item ids, which
notices were sent, the invoice being retried and when."""

import calendar
import heapq
import itertools
from contextlib import nullcontext
from datetime import datetime, timezone
from decimal import Decimal

from .. import fixtures
from ..money import format_amount
from ..wire import (
    StripeError,
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    invalid,
    list_object,
    metadata,
    missing,
    not_found,
    paginate,
)
from .common import INCLUDES, Background, deleted, eq_filter, previous_attributes, render, render_list, snapshot
from .payment_intents import confirm_with, new_payment_intent
from .payment_methods import attach_to, resolve

DAY = 86400
INCOMPLETE_LIFETIME = 23 * 3600
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
DEFAULT_SETTINGS = {"retry_days": [3, 5, 7], "final_action": "cancel", "upcoming_days": 3, "trial_notice_days": 3}
FINAL_ACTIONS = ("cancel", "unpaid", "past_due")
LIVE = ("trialing", "active", "past_due", "unpaid")


# --- settings and time -------------------------------------------------------------

def settings(store):
    """Billing settings (retry schedule...), kept with the state."""
    current = store.private.setdefault("billing_settings", {})
    for key, value in DEFAULT_SETTINGS.items():
        current.setdefault(key, value)
    return current


def clock_time(store, clock_id):
    clock = store.get(clock_id, "test_helpers.test_clock") if clock_id else None
    return clock["frozen_time"] if clock else None


def at_clock(store, clock_id):
    """Run the block at the test clock's time (no-op without a clock, or when
    already inside a clock's run)."""
    t = clock_time(store, clock_id)
    if t is None or store.time_override is not None:
        return nullcontext()
    return store.at(t)


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


def prorate(amount, remaining, total):
    """amount × remaining / total, rounded to the nearest minor unit (half up)."""
    if total <= 0:
        return 0
    sign = -1 if amount < 0 else 1
    return sign * ((2 * abs(amount) * remaining + total) // (2 * total))


def _date(ts):
    d = datetime.fromtimestamp(ts, timezone.utc)
    return f"{d.day} {d.strftime('%b %Y')}"


# --- subscription items ----------------------------------------------------------

def plan_of(price):
    recurring = price["recurring"] or {}
    return fixtures.make(
        "plan", id=price["id"], active=price["active"], amount=price["unit_amount"],
        amount_decimal=price["unit_amount_decimal"], billing_scheme=price["billing_scheme"],
        created=price["created"], currency=price["currency"], interval=recurring.get("interval"),
        interval_count=recurring.get("interval_count"), metadata=dict(price["metadata"]),
        nickname=price["nickname"], product=price["product"],
        trial_period_days=recurring.get("trial_period_days"), usage_type=recurring.get("usage_type"))


def _priv(store, sub):
    return store.private.setdefault(sub["id"], {})


def items_of(store, sub):
    return [store.objects[i] for i in _priv(store, sub).get("items", []) if i in store.objects]


def sync_items(store, sub):
    """Refresh the subscription's embedded `items` list from the stored items."""
    sub["items"] = list_object([snapshot(i) for i in items_of(store, sub)],
                               f"/v1/subscription_items?subscription={sub['id']}")


def _set_price(item, price, quantity):
    item.update(price=snapshot(price), plan=plan_of(price), quantity=quantity)


def _new_item(store, sub, price, quantity, meta, start, end):
    item = fixtures.make(
        "subscription_item", id=store.new_id("si_", 14), created=store.now(), discounts=[],
        metadata=dict(meta or {}), subscription=sub["id"], tax_rates=[], current_period_start=start,
        current_period_end=end)
    _set_price(item, price, quantity)
    store.add(item)
    _priv(store, sub).setdefault("items", []).append(item["id"])
    return item


def period(store, sub):
    items = items_of(store, sub)
    if not items:
        return sub["start_date"], sub["start_date"]
    return items[0]["current_period_start"], items[0]["current_period_end"]


def _set_period(store, sub, start, end):
    for item in items_of(store, sub):
        item["current_period_start"], item["current_period_end"] = start, end
    sync_items(store, sub)


def _interval(price):
    recurring = price["recurring"]
    return recurring["interval"], recurring["interval_count"]


def _cycle_bounds(store, sub):
    p = _priv(store, sub)
    interval, count = _interval(items_of(store, sub)[0]["price"])
    return (add_interval(p["anchor"], interval, count, p["cycle"]),
            add_interval(p["anchor"], interval, count, p["cycle"] + 1))


def _product_name(store, price):
    product = store.get(price["product"], "product")
    return product["name"] if product else price["product"]


def _every(price):
    interval, count = _interval(price)
    return interval if count == 1 else f"every {count} {interval}s"


# --- invoice lines ---------------------------------------------------------------

def _item_spec(store, item, start, end, amount=None, description=None, proration=False, credited=None):
    price, qty = item["price"], item["quantity"]
    return {
        "kind": "subscription_item", "subscription_item": item["id"], "price": price["id"],
        "product": price["product"], "quantity": qty,
        "amount": price["unit_amount"] * qty if amount is None else amount,
        "description": description or (f"{qty} × {_product_name(store, price)} "
                                       f"(at {format_amount(price['unit_amount'], price['currency'])} / "
                                       f"{_every(price)})"),
        "period": {"end": end, "start": start}, "proration": proration, "credited": credited,
        "invoice_item": None,
    }


def _trial_spec(store, item, start, end):
    return _item_spec(store, item, start, end, amount=0,
                      description=f"Trial period for {_product_name(store, item['price'])}")


def _price_spec(store, price, quantity, start, end):
    """A one-time price added to a first invoice (checkout's non-recurring items)."""
    return {
        "kind": "invoice_item", "subscription_item": None, "price": price["id"], "product": price["product"],
        "quantity": quantity, "amount": price["unit_amount"] * quantity,
        "description": _product_name(store, price), "period": {"end": end, "start": start},
        "proration": False, "credited": None, "invoice_item": None,
    }


def _unit_decimal(amount, quantity):
    value = Decimal(amount) / Decimal(quantity or 1)
    return str(value.normalize()) if value != value.to_integral() else str(int(value))


def _pricing(spec):
    return {"type": "price_details", "unit_amount_decimal": _unit_decimal(spec["amount"], spec["quantity"]),
            "price_details": {"price": spec["price"], "product": spec["product"]}}


def _line(store, invoice_id, spec, sub_id, currency, preview):
    if spec["kind"] == "subscription_item":
        parent = {"invoice_item_details": None, "subscription_item_details": {
            "invoice_item": spec["invoice_item"], "proration": spec["proration"],
            "proration_details": {"credited_items": spec["credited"]},
            "subscription": sub_id, "subscription_item": spec["subscription_item"]},
            "type": "subscription_item_details"}
    else:
        parent = {"invoice_item_details": {
            "invoice_item": spec["invoice_item"], "proration": spec["proration"],
            "proration_details": {"credited_items": spec["credited"]}, "subscription": sub_id},
            "subscription_item_details": None, "type": "invoice_item_details"}
    return fixtures.make(
        "line_item", id=store.new_id("il_tmp_" if preview else "il_"), amount=spec["amount"],
        currency=currency, description=spec["description"], discount_amounts=[],
        discountable=not spec["proration"], discounts=[], invoice=invoice_id, period=dict(spec["period"]),
        quantity=spec["quantity"], subscription=sub_id, pretax_credit_amounts=[], taxes=[], parent=parent,
        pricing=_pricing(spec), subtotal=spec["amount"], quantity_decimal=str(spec["quantity"]))


def new_invoice_item(ctx, customer, sub, spec, currency):
    """A pending invoice item (prorations), invoiced with the next invoice."""
    store = ctx.store
    ii = fixtures.make(
        "invoiceitem", id=store.new_id("ii_"), amount=spec["amount"], currency=currency,
        customer=customer["id"], date=store.now(), description=spec["description"],
        discountable=not spec["proration"], discounts=[], period=dict(spec["period"]),
        proration=spec["proration"], quantity=spec["quantity"], tax_rates=[], test_clock=customer["test_clock"],
        parent={"subscription_details": {"subscription": sub["id"] if sub else None},
                "type": "subscription_details"},
        pricing=_pricing(spec), net_amount=spec["amount"], quantity_decimal=str(spec["quantity"]))
    spec = dict(spec, invoice_item=ii["id"])
    store.add(ii, {"line": spec})
    ctx.emit("invoiceitem.created", ii)
    return ii


def pending_items(store, customer_id, sub_id):
    """Pending invoice items the next invoice of `sub_id` takes: its own and the
    customer's that belong to no live subscription."""
    def takes(ii):
        if ii["customer"] != customer_id or ii["invoice"] is not None:
            return False
        owner = (ii["parent"] or {}).get("subscription_details", {}).get("subscription")
        if owner in (None, sub_id):
            return True
        other = store.get(owner, "subscription")
        return other is None or other["status"] not in LIVE
    items = store.all("invoiceitem", takes)
    items.reverse()  # oldest first
    return items


# --- invoices ----------------------------------------------------------------------

def _customer_fields(customer):
    return dict(customer_address=customer["address"], customer_email=customer["email"],
                customer_name=customer["name"], customer_phone=customer["phone"],
                customer_shipping=customer["shipping"] or None, customer_tax_exempt=customer["tax_exempt"])


def build_invoice(ctx, customer, sub, reason, specs, period_start, period_end, pending=(), preview=False,
                  created=None):
    """An invoice (draft) for `specs` plus the `pending` invoice items. Stored
    unless `preview` (then not stored, id `upcoming_in_…`)."""
    store = ctx.store
    now = store.now() if created is None else created
    currency = sub["currency"] if sub else (pending[0]["currency"] if pending else "usd")
    if preview:
        id_ = "upcoming_in_" + store.new_id("", 24)
    else:
        id_ = store.new_id("in_")
    all_specs = [store.private[ii["id"]]["line"] for ii in pending] + list(specs)
    lines = [_line(store, id_, spec, sub["id"] if sub else None, currency, preview) for spec in all_specs]
    total = sum(line["amount"] for line in lines)
    invoice = fixtures.make(
        "invoice",
        id=id_,
        account_country="US",
        account_name="Emulator Shop",
        amount_due=max(total, 0),
        amount_paid=0,
        amount_remaining=max(total, 0),
        amount_shipping=0,
        attempt_count=0,
        attempted=False,
        auto_advance=True,
        automatic_tax={"enabled": False, "liability": None, "status": None, "disabled_reason": None,
                       "provider": None},
        billing_reason=reason,
        collection_method="charge_automatically",
        created=now,
        currency=currency,
        customer=customer["id"],
        customer_tax_ids=[],
        default_tax_rates=[],
        discounts=[],
        hosted_invoice_url=None if preview else f"{ctx.app.public_url}/i/{id_}",
        issuer={"type": "self"},
        lines=list_object(lines if preview else lines[:10], f"/v1/invoices/{id_}/lines",
                          has_more=not preview and len(lines) > 10),
        parent={"quote_details": None, "subscription_details": {
            "metadata": dict(sub["metadata"]), "subscription": sub["id"]}, "type": "subscription_details"}
        if sub else None,
        payment_settings={"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        period_end=period_end,
        period_start=period_start,
        post_payment_credit_notes_amount=0,
        pre_payment_credit_notes_amount=0,
        rendering={"amount_tax_display": None, "pdf": {"page_size": "auto"}, "template": None,
                   "template_version": None},
        starting_balance=customer["balance"],
        status="draft",
        status_transitions={"finalized_at": None, "marked_uncollectible_at": None, "paid_at": None,
                            "voided_at": None},
        subscription=sub["id"] if sub else None,
        subtotal=total,
        subtotal_excluding_tax=total,
        test_clock=customer["test_clock"],
        total=total,
        total_discount_amounts=[],
        total_excluding_tax=total,
        webhooks_delivered_at=None,
        automatically_finalizes_at=None if preview else now + 3600,
        total_pretax_credit_amounts=[],
        total_taxes=[],
        amount_overpaid=0,
        **_customer_fields(customer),
    )
    if preview:
        invoice["lines"]["url"] = "/v1/invoices/upcoming/lines"
        return invoice
    store.add(invoice, {"lines": lines, "auto_attempts": 0})
    for ii in pending:
        ii["invoice"] = id_
    if sub is not None:
        last = _priv(store, sub).setdefault("last_lines", {})
        for line in lines:
            details = line["parent"]["subscription_item_details"]
            if details and not details["proration"]:
                last[details["subscription_item"]] = {"invoice": id_, "invoice_line_items": [line["id"]]}
    return invoice


def invoice_lines(store, invoice):
    return store.private.get(invoice["id"], {}).get("lines", [])


def default_payment_method(store, invoice):
    sub = store.get(invoice["subscription"], "subscription")
    customer = store.get(invoice["customer"], "customer") or {}
    candidates = (invoice["default_payment_method"], sub["default_payment_method"] if sub else None,
                  (customer.get("invoice_settings") or {}).get("default_payment_method"))
    for pm_id in candidates:
        pm = store.get(pm_id, "payment_method") if pm_id else None
        if pm is not None:
            return pm
    return None


def _payment_record(ctx, invoice, pi):
    store = ctx.store
    record = fixtures.make(
        "invoice_payment", id=store.new_id("inpay_"), amount_paid=None, amount_requested=invoice["amount_due"],
        created=store.now(), currency=invoice["currency"], invoice=invoice["id"], is_default=True,
        payment={"type": "payment_intent", "payment_intent": pi["id"]}, status="open",
        status_transitions={"canceled_at": None, "paid_at": None})
    store.add(record)
    store.private[invoice["id"]]["payment"] = record["id"]
    return record


def finalize(ctx, invoice):
    """draft -> open: number, customer balance applied, payment intent created.
    A €0 invoice is paid at once."""
    store = ctx.store
    customer = store.get(invoice["customer"], "customer")
    now = store.now()
    applied = invoice["total"] + customer["balance"]
    due, ending = (applied, 0) if applied >= 0 else (0, applied)
    invoice.update(
        starting_balance=customer["balance"], ending_balance=ending, amount_due=due, amount_remaining=due,
        number=f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}", status="open",
        effective_at=now, automatically_finalizes_at=None, webhooks_delivered_at=now,
        invoice_pdf=f"{ctx.app.public_url}/i/{invoice['id']}/pdf")
    invoice["status_transitions"]["finalized_at"] = now
    customer["next_invoice_sequence"] += 1
    if customer["balance"] != ending:
        before = snapshot(customer)
        customer["balance"] = ending
        ctx.emit("customer.updated", customer, previous_attributes(before, customer))
    ctx.emit("invoice.finalized", invoice)
    if due == 0:
        mark_paid(ctx, invoice, None)
        return
    sub = store.get(invoice["subscription"], "subscription")
    pi = new_payment_intent(ctx, due, invoice["currency"], customer=customer["id"],
                            description="Subscription creation" if invoice["billing_reason"] == "subscription_create"
                            else "Subscription update")
    store.private[invoice["id"]]["payment_intent"] = pi["id"]
    store.secret(pi["id"])["invoice"] = invoice["id"]
    _payment_record(ctx, invoice, pi)
    invoice["next_payment_attempt"] = now if sub is not None and sub["status"] != "incomplete" else None


def payment_intent_of(store, invoice):
    return store.get(store.private.get(invoice["id"], {}).get("payment_intent"), "payment_intent")


def attempt(ctx, invoice, pm=None, automatic=True, initial=False, before_success=None):
    """One payment attempt on an open invoice. Returns ("paid" | "failed" |
    "requires_action", card error or None)."""
    store = ctx.store
    pi = payment_intent_of(store, invoice)
    pm = pm or default_payment_method(store, invoice)
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    if automatic:
        store.private[invoice["id"]]["auto_attempts"] += 1
    if pm is None:
        error = StripeError(400, "invalid_request_error",
                            "This customer has no attached payment source or default payment method. "
                            "Please consider adding a default payment method.")
        payment_failed(ctx, invoice, automatic)
        return "failed", error
    try:
        status = confirm_with(ctx, pi, pm, off_session=not initial, initial=initial, before_success=before_success)
    except StripeError as err:
        if err.status != 402:
            raise
        payment_failed(ctx, invoice, automatic)
        return "failed", err
    if status == "requires_action":
        return "requires_action", None
    mark_paid(ctx, invoice, pi)
    return "paid", None


def payment_failed(ctx, invoice, automatic):
    store = ctx.store
    now = store.now()
    sub = store.get(invoice["subscription"], "subscription")
    exhausted = False
    if automatic:
        days = settings(store)["retry_days"]
        count = store.private[invoice["id"]]["auto_attempts"]
        if sub is not None and sub["status"] == "incomplete":
            invoice["next_payment_attempt"] = None  # first invoices are not retried
        elif count <= len(days):
            invoice["next_payment_attempt"] = now + int(days[count - 1] * DAY)
        else:
            invoice["next_payment_attempt"] = None
            exhausted = True
    customer = store.get(invoice["customer"], "customer")
    if customer is not None:
        customer["delinquent"] = True
    ctx.emit("invoice.payment_failed", invoice)
    if sub is None or sub["status"] not in LIVE:
        return
    p = _priv(store, sub)
    p["retry_invoice"], p["retry_at"] = invoice["id"], invoice["next_payment_attempt"]
    if exhausted:
        action = settings(store)["final_action"]
        if action == "cancel":
            end_subscription(ctx, sub, "payment_failed")
            return
        if action == "unpaid":
            _set_status(ctx, sub, "unpaid")
            return
    if sub["status"] in ("active", "trialing"):
        _set_status(ctx, sub, "past_due")


def _set_status(ctx, sub, status):
    if sub["status"] == status:
        return
    before = snapshot(sub)
    sub["status"] = status
    ctx.emit("customer.subscription.updated", sub, previous_attributes(before, sub))


def mark_paid(ctx, invoice, pi):
    store = ctx.store
    now = store.now()
    invoice.update(amount_paid=invoice["amount_due"], amount_remaining=0, status="paid",
                   next_payment_attempt=None, auto_advance=False)
    invoice["status_transitions"]["paid_at"] = now
    if invoice["amount_due"] == 0:
        invoice["attempted"] = True
    ctx.emit("invoice.paid", invoice)
    ctx.emit("invoice.payment_succeeded", invoice)
    record = store.get(store.private.get(invoice["id"], {}).get("payment"), "invoice_payment")
    if record is not None:
        record.update(status="paid", amount_paid=invoice["amount_due"])
        record["status_transitions"]["paid_at"] = now
        ctx.emit("invoice_payment.paid", record)
    customer = store.get(invoice["customer"], "customer")
    if customer is not None and customer["delinquent"]:
        customer["delinquent"] = bool(store.all("invoice", lambda i: i["customer"] == customer["id"]
                                                and i["status"] == "open" and i["attempt_count"] > 0))
    sub = store.get(invoice["subscription"], "subscription")
    if sub is None:
        return
    p = _priv(store, sub)
    if p.get("retry_invoice") == invoice["id"]:
        p["retry_invoice"] = p["retry_at"] = None
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        trialing = sub["trial_end"] is not None and sub["trial_end"] > now
        _set_status(ctx, sub, "trialing" if trialing else "active")


def issue(ctx, invoice, automatic=True):
    """Emit invoice.created, finalize and (for a subscription that collects)
    attempt payment. Returns the attempt's outcome (or "paid"/"open")."""
    ctx.emit("invoice.created", invoice)
    finalize(ctx, invoice)
    if invoice["status"] == "paid":
        return "paid", None
    sub = ctx.store.get(invoice["subscription"], "subscription")
    if sub is not None and sub["status"] == "unpaid":
        invoice["next_payment_attempt"] = None
        return "open", None
    return attempt(ctx, invoice, automatic=automatic)


# --- subscriptions: lifecycle ----------------------------------------------------

def new_subscription(ctx, customer, entries, trial_end=None, default_pm=None, meta=None, description=None,
                     one_time=()):
    """Create a subscription and its first invoice (finalized; paid at once when
    €0, e.g. with a trial). `entries` = [(price, quantity, item metadata)].
    Returns (subscription, invoice); the caller collects payment."""
    store = ctx.store
    now = store.now()
    first = entries[0][0]
    interval, count = _interval(first)
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
        _new_item(store, sub, price, quantity, item_meta, now, end)
    sync_items(store, sub)
    specs = [(_trial_spec if trialing else _item_spec)(store, item, now, end) for item in items_of(store, sub)]
    specs += [_price_spec(store, price, qty, now, now) for price, qty in one_time]
    invoice = build_invoice(ctx, customer, sub, "subscription_create", specs, now, now,
                            pending=pending_items(store, customer["id"], sub["id"]))
    sub["latest_invoice"] = invoice["id"]
    ctx.emit("customer.subscription.created", sub)
    ctx.emit("invoice.created", invoice)
    finalize(ctx, invoice)
    return sub, invoice


def end_subscription(ctx, sub, reason, comment=None, feedback=None):
    """Cancel now: status canceled, retries stopped, customer.subscription.deleted."""
    store = ctx.store
    now = store.now()
    sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
    sub["cancellation_details"] = {"comment": comment if comment is not None else sub["cancellation_details"]["comment"],
                                   "feedback": feedback or sub["cancellation_details"]["feedback"],
                                   "reason": sub["cancellation_details"]["reason"] or reason}
    p = _priv(store, sub)
    p["retry_invoice"] = p["retry_at"] = None
    for invoice in store.all("invoice", lambda i: i["subscription"] == sub["id"] and i["status"] == "open"):
        invoice["next_payment_attempt"] = None
        invoice["auto_advance"] = False
    ctx.emit("customer.subscription.deleted", sub)


def _expire_incomplete(ctx, sub):
    store = ctx.store
    invoice = store.get(sub["latest_invoice"], "invoice")
    sub.update(status="incomplete_expired", ended_at=store.now())
    if invoice is not None and invoice["status"] == "open":
        invoice.update(status="void", next_payment_attempt=None, auto_advance=False, amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = store.now()
        ctx.emit("invoice.voided", invoice)
    ctx.emit("customer.subscription.deleted", sub)


def _renew(ctx, sub):
    """The period (or trial) ended: cancel if asked, else start the next
    period and invoice it."""
    store = ctx.store
    now = store.now()
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= now):
        end_subscription(ctx, sub, "cancellation_requested")
        return
    before = snapshot(sub)
    p = _priv(store, sub)
    old_start, old_end = period(store, sub)
    if sub["status"] == "trialing":
        p["anchor"], p["cycle"] = sub["trial_end"], 0
        sub["billing_cycle_anchor"] = sub["trial_end"]
        sub["status"] = "active"
    else:
        p["cycle"] += 1
    start, end = _cycle_bounds(store, sub)
    _set_period(store, sub, start, end)
    customer = store.get(sub["customer"], "customer")
    specs = [_item_spec(store, item, start, end) for item in items_of(store, sub)]
    invoice = build_invoice(ctx, customer, sub, "subscription_cycle", specs, old_start, old_end,
                            pending=pending_items(store, customer["id"], sub["id"]))
    sub["latest_invoice"] = invoice["id"]
    ctx.emit("customer.subscription.updated", sub, previous_attributes(before, sub))
    issue(ctx, invoice)


def _upcoming(ctx, sub):
    """invoice.upcoming: the next renewal's invoice, without an id."""
    store = ctx.store
    start, end = period(store, sub)
    preview = _renewal_preview(ctx, sub, end)
    preview["id"] = None
    preview["lines"]["url"] = "/v1/invoices/upcoming/lines"
    ctx.emit("invoice.upcoming", preview)


def _renewal_preview(ctx, sub, at):
    store = ctx.store
    p = _priv(store, sub)
    start, end = period(store, sub)
    if sub["status"] == "trialing":
        item = items_of(store, sub)[0]
        interval, count = _interval(item["price"])
        nstart, nend = sub["trial_end"], add_interval(sub["trial_end"], interval, count)
    else:
        interval, count = _interval(items_of(store, sub)[0]["price"])
        nstart = add_interval(p["anchor"], interval, count, p["cycle"] + 1)
        nend = add_interval(p["anchor"], interval, count, p["cycle"] + 2)
    customer = store.get(sub["customer"], "customer")
    specs = [_item_spec(store, item, nstart, nend) for item in items_of(store, sub)]
    return build_invoice(ctx, customer, sub, "upcoming", specs, start, end,
                         pending=pending_items(store, customer["id"], sub["id"]), preview=True, created=at)


def next_due(store, sub):
    """When this subscription next needs work, or None."""
    status = sub["status"]
    if status in ("canceled", "incomplete_expired"):
        return None
    if status == "incomplete":
        return sub["created"] + INCOMPLETE_LIFETIME
    p = store.private.get(sub["id"], {})
    conf = settings(store)
    start, end = period(store, sub)
    due = [end]
    if sub["cancel_at"]:
        due.append(sub["cancel_at"])
    if status == "trialing" and not p.get("trial_notice"):
        notice = sub["trial_end"] - conf["trial_notice_days"] * DAY
        if notice > sub["trial_start"]:
            due.append(notice)
    if not sub["cancel_at_period_end"] and not sub["cancel_at"] and p.get("upcoming_for") != end:
        notice = end - conf["upcoming_days"] * DAY
        if notice > start:
            due.append(notice)
    if p.get("retry_at"):
        due.append(p["retry_at"])
    return min(due)


def process(ctx, sub, t):
    """Do what is due for `sub` at time `t` (store time is `t`)."""
    store = ctx.store
    status = sub["status"]
    if status == "incomplete":
        if sub["created"] + INCOMPLETE_LIFETIME <= t:
            _expire_incomplete(ctx, sub)
        return
    p = _priv(store, sub)
    conf = settings(store)
    start, end = period(store, sub)
    notice = sub["trial_end"] - conf["trial_notice_days"] * DAY if sub["trial_end"] else None
    if status == "trialing" and not p.get("trial_notice") and sub["trial_start"] < notice <= t:
        p["trial_notice"] = True
        ctx.emit("customer.subscription.trial_will_end", sub)
    if (not sub["cancel_at_period_end"] and not sub["cancel_at"] and p.get("upcoming_for") != end
            and end - conf["upcoming_days"] * DAY <= t and end - conf["upcoming_days"] * DAY > start):
        p["upcoming_for"] = end
        _upcoming(ctx, sub)
    if p.get("retry_at") and p["retry_at"] <= t:
        invoice = store.get(p["retry_invoice"], "invoice")
        p["retry_at"] = None
        if invoice is not None and invoice["status"] == "open":
            attempt(ctx, invoice)
    if sub["status"] in ("canceled",):
        return
    if sub["cancel_at"] and sub["cancel_at"] <= t and sub["cancel_at"] < end:
        end_subscription(ctx, sub, "cancellation_requested")
        return
    if end <= t:
        _renew(ctx, sub)


_tiebreak = itertools.count()


def run_due(app, until, clock_id=None, subs=None):
    """Process, in time order, everything due up to `until` for the
    subscriptions on `clock_id` (None: those on the emulator's own clock).
    Call with the state lock held. Returns the number of steps run."""
    store = app.store
    ctx = Background(app)
    if subs is None:
        subs = store.all("subscription", lambda s: s["test_clock"] == clock_id)
    heap = []
    for sub in reversed(subs):  # oldest first on ties
        due = next_due(store, sub)
        if due is not None and due <= until:
            heap.append((due, next(_tiebreak), sub["id"]))
    heapq.heapify(heap)
    steps = 0
    while heap:
        due, _, sub_id = heapq.heappop(heap)
        sub = store.get(sub_id, "subscription")
        if sub is None:
            continue
        current = next_due(store, sub)
        if current is None or current > until:
            continue
        if current != due:
            heapq.heappush(heap, (current, next(_tiebreak), sub_id))
            continue
        with store.at(due):
            process(ctx, sub, due)
        steps += 1
        following = next_due(store, sub)
        # (`following <= due` would mean no progress: never loop at one instant.)
        if following is not None and due < following <= until:
            heapq.heappush(heap, (following, next(_tiebreak), sub_id))
    return steps


def sweep(app):
    """Scheduler tick: subscriptions on the emulator's own clock."""
    store = app.store
    if not store.by_type.get("subscription"):
        return
    run_due(app, store.now())


# --- API: subscriptions ----------------------------------------------------------

def _recurring_price(req, price_id, param):
    price = req.store.require(price_id, "price", param=param)
    if price["type"] != "recurring":
        raise invalid(f"The price specified is set to `type=one_time` but this field only accepts prices with "
                      f"`type=recurring`.", param=param)
    if not price["active"]:
        raise invalid(f"The price specified ({price_id}) is inactive. This field only accepts active prices.",
                      param=param)
    return price


def _payment_method_for(req, customer, pm_id, param):
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
        pm = _payment_method_for(req, customer, as_str(params, "default_payment_method"),
                                 "default_payment_method")
        sub, invoice = new_subscription(req, customer, entries, trial_end=trial_end, default_pm=pm,
                                        meta=metadata(params), description=as_str(params, "description"))
        if as_bool(params, "cancel_at_period_end", False):
            _cancel_at_period_end(store, sub, True)
        if invoice["status"] == "open" and behavior != "default_incomplete":
            outcome, error = attempt(req, invoice, automatic=True)
            if outcome == "failed" and behavior == "error_if_incomplete":
                raise error
    return render(req, sub)


def _check_same(entries):
    currencies = {price["currency"] for price, _, _ in entries}
    intervals = {_interval(price) for price, _, _ in entries}
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


def _proration_specs(store, sub, changes, t, *, charge_remaining=True):
    """Credit for the unused time of the old items, charge for the remaining
    time of the new ones, from `t` to the period's end. When the interval
    changes Stripe restarts the cycle and bills the new price in full, so only
    the credit applies (`charge_remaining=False`)."""
    start, end = period(store, sub)
    total, remaining = end - start, end - max(t, start)
    last = _priv(store, sub).get("last_lines", {})
    specs = []
    for item, old_price, old_qty, new_price, new_qty in changes:
        item = item or {"id": None, "price": new_price, "quantity": new_qty}
        if old_price is not None and old_qty:
            name = _product_name(store, old_price)
            label = f"{old_qty} × {name}" if old_qty > 1 else name
            amount = -prorate(old_price["unit_amount"] * old_qty, remaining, total)
            specs.append(dict(_item_spec(store, item, t, end, amount=amount,
                                         description=f"Unused time on {label} after {_date(t)}",
                                         proration=True, credited=last.get(item["id"])),
                              price=old_price["id"], product=old_price["product"], quantity=old_qty))
        if new_price is not None and new_qty and charge_remaining:
            name = _product_name(store, new_price)
            label = f"{new_qty} × {name}" if new_qty > 1 else name
            amount = prorate(new_price["unit_amount"] * new_qty, remaining, total)
            specs.append(dict(_item_spec(store, item, t, end, amount=amount,
                                         description=f"Remaining time on {label} after {_date(t)}",
                                         proration=True),
                              price=new_price["id"], product=new_price["product"], quantity=new_qty))
    return specs


def _item_changes(req, sub, raw_items, label="items"):
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


def _interval_changes(store, sub, changes):
    current = _interval(items_of(store, sub)[0]["price"])
    return any(new is not None and _interval(new) != current for _, _, _, new, _, _, _ in changes)


def _proration_date(params, store, sub, label="proration_date"):
    t = as_int(params, "proration_date", label=label)
    now = store.now()
    if t is None:
        return now
    start, end = period(store, sub)
    if not start <= t <= end:
        raise invalid("The proration_date must be within the subscription's current billing period.",
                      param=label)
    return t


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
    t = _proration_date(params, store, sub)
    changes = _item_changes(req, sub, as_list(params, "items"))
    changed = [c for c in changes if (c[1] or {}).get("id") != (c[3] or {}).get("id") or c[2] != c[4]]
    interval_change = bool(changed) and _interval_changes(store, sub, changed)
    trialing = sub["status"] == "trialing"
    specs = []
    if changed and not trialing and behavior != "none":
        specs = _proration_specs(store, sub, [c[:5] for c in changed if c[0] is not None], t,
                                 charge_remaining=not interval_change)
    # apply the item changes
    start, end = period(store, sub)
    for item, _, _, new_price, new_qty, removed, raw in changes:
        if item is None:
            item = _new_item(store, sub, new_price, new_qty, metadata(raw), start, end)
            if not trialing and behavior != "none":
                specs += _proration_specs(store, sub, [(item, None, 0, new_price, new_qty)], t)
        elif removed:
            _priv(store, sub)["items"].remove(item["id"])
            store.remove(item["id"])
        else:
            _set_price(item, new_price, new_qty)
            item["metadata"] = metadata(raw, item["metadata"])
    if not items_of(store, sub):
        raise invalid("A subscription must have at least one active plan.", param="items")
    sync_items(store, sub)
    invoice_now = None
    if interval_change and not trialing:
        # A new interval restarts the billing cycle now and bills it at once.
        p = _priv(store, sub)
        p["anchor"], p["cycle"] = now, 0
        sub["billing_cycle_anchor"] = now
        start, end = _cycle_bounds(store, sub)
        _set_period(store, sub, start, end)
        specs += [_item_spec(store, item, start, end) for item in items_of(store, sub)]
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
    if "default_payment_method" in params:
        sub["default_payment_method"] = _payment_method_for(
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
            _set_period(store, sub, period(store, sub)[0], new_end)
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
        _set_period(store, sub, period(store, sub)[0], now)
    previous = previous_attributes(before, sub)
    if previous:
        req.emit("customer.subscription.updated", sub, previous)
    if invoice is not None:
        issue(req, invoice)
    if end_trial:
        _renew(req, sub)


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
            specs = _proration_specs(store, sub, [(item, item["price"], item["quantity"], None, 0)
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


def resume_subscription(req):
    raise invalid("Only paused subscriptions can be resumed; the emulator does not pause subscriptions.",
                  code="subscription_not_paused")


# --- API: subscription items -----------------------------------------------------

def retrieve_item(req):
    return deleted(req, "subscription_item") or render(
        req, req.store.require(req.args["id"], "subscription_item", kind="subscription item"))


def list_items(req):
    sub_id = as_str(req.params, "subscription", required=True)
    sub = req.store.require(sub_id, "subscription", param="subscription")
    items = items_of(req.store, sub)
    return render(req, paginate(items, req.params, "/v1/subscription_items"))


# --- API: invoices ---------------------------------------------------------------

def _require_invoice(req):
    return req.store.require(req.args["id"], "invoice")


def retrieve_invoice(req):
    return deleted(req, "invoice") or render(req, _require_invoice(req))


def list_invoices(req):
    filters = [eq_filter(req, "customer"), eq_filter(req, "subscription"), eq_filter(req, "status"),
               eq_filter(req, "collection_method"), eq_filter(req, "test_clock")]
    return render_list(req, "invoice", "/v1/invoices", filters)


def list_invoice_lines(req):
    invoice = _require_invoice(req)
    return render(req, paginate(invoice_lines(req.store, invoice), req.params,
                                f"/v1/invoices/{invoice['id']}/lines"))


def pay_invoice(req):
    store, params = req.store, req.params
    invoice = _require_invoice(req)
    if invoice["status"] == "paid":
        raise invalid("Invoice is already paid", code=None)
    if invoice["status"] == "void":
        raise invalid("You cannot pay a voided invoice.", code=None)
    with at_clock(store, invoice["test_clock"]):
        if invoice["status"] == "draft":
            finalize(req, invoice)
            if invoice["status"] == "paid":
                return render(req, invoice)
        if as_bool(params, "paid_out_of_band", False):
            mark_paid(req, invoice, None)
            return render(req, invoice)
        customer = store.get(invoice["customer"], "customer")
        pm_id = as_str(params, "payment_method")
        pm = store.get(_payment_method_for(req, customer, pm_id, "payment_method"), "payment_method") \
            if pm_id else None
        outcome, error = attempt(req, invoice, pm=pm, automatic=False)
    if outcome == "failed":
        raise error
    return render(req, invoice)


def finalize_invoice(req):
    invoice = _require_invoice(req)
    if invoice["status"] != "draft":
        raise invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                      code=None)
    with at_clock(req.store, invoice["test_clock"]):
        finalize(req, invoice)
    return render(req, invoice)


def void_invoice(req):
    invoice = _require_invoice(req)
    if invoice["status"] != "open":
        raise invalid(f"You can only void open invoices; this invoice is {invoice['status']}.")
    with at_clock(req.store, invoice["test_clock"]):
        invoice.update(status="void", next_payment_attempt=None, auto_advance=False, amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = req.store.now()
        req.emit("invoice.voided", invoice)
    return render(req, invoice)


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
    t = _proration_date(details, store, sub, label=f"{label}[proration_date]")
    changes = _item_changes(req, sub, as_list(details, "items"), label=f"{label}[items]")
    changed = [c for c in changes if (c[1] or {}).get("id") != (c[3] or {}).get("id") or c[2] != c[4]]
    trialing = sub["status"] == "trialing"
    interval_change = bool(changed) and _interval_changes(store, sub, changed) and not trialing
    specs = []
    if changed and not trialing and behavior != "none":
        specs = _proration_specs(store, sub, [c[:5] for c in changed], t, charge_remaining=not interval_change)
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
    p = _priv(store, sub)

    def next_period_specs(nstart, nend):
        out = []
        for item, price, qty in entries:
            shadow = dict(item or {"id": None}, price=price, quantity=qty)
            out.append(_item_spec(store, shadow, nstart, nend))
        return out

    if interval_change:
        interval, count = _interval(entries[0][1])
        specs += next_period_specs(now, add_interval(now, interval, count))
        preview = build_invoice(req, customer, sub, "subscription_update", specs, now, now, pending=pending,
                                preview=True)
    elif behavior == "always_invoice" and specs:
        preview = build_invoice(req, customer, sub, "subscription_update", specs, now, now, pending=pending,
                                preview=True)
    else:
        interval, count = _interval(entries[0][1])
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


def _payments_list(app, invoice):
    records = app.store.all("invoice_payment", lambda r: r["invoice"] == invoice["id"])
    return list_object(snapshot(records), f"/v1/invoice_payments?invoice={invoice['id']}")


INCLUDES[("invoice", "payments")] = _payments_list


def list_invoice_payments(req):
    return render_list(req, "invoice_payment", "/v1/invoice_payments", [eq_filter(req, "invoice")])


def retrieve_invoice_payment(req):
    return render(req, req.store.require(req.args["id"], "invoice_payment", kind="invoice payment"))


# --- API: invoice items ----------------------------------------------------------

def retrieve_invoice_item(req):
    return deleted(req, "invoiceitem") or render(
        req, req.store.require(req.args["id"], "invoiceitem", kind="invoiceitem"))


def list_invoice_items(req):
    filters = [eq_filter(req, "customer"), eq_filter(req, "invoice")]
    if "pending" in req.params:
        pending = as_bool(req.params, "pending")
        filters.append(lambda ii: (ii["invoice"] is None) == pending)
    return render_list(req, "invoiceitem", "/v1/invoiceitems", filters)


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
    ("GET", "/v1/subscription_items", list_items),
    ("GET", "/v1/subscription_items/{id}", retrieve_item),
    ("POST", "/v1/invoices/create_preview", create_preview),
    ("GET", "/v1/invoices", list_invoices),
    ("GET", "/v1/invoices/{id}", retrieve_invoice),
    ("GET", "/v1/invoices/{id}/lines", list_invoice_lines),
    ("POST", "/v1/invoices/{id}/pay", pay_invoice),
    ("POST", "/v1/invoices/{id}/finalize", finalize_invoice),
    ("POST", "/v1/invoices/{id}/void", void_invoice),
    ("GET", "/v1/invoice_payments", list_invoice_payments),
    ("GET", "/v1/invoice_payments/{id}", retrieve_invoice_payment),
    ("GET", "/v1/invoiceitems", list_invoice_items),
    ("GET", "/v1/invoiceitems/{id}", retrieve_invoice_item),
]
