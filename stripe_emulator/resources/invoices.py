"""Invoices: retrieve, list, lines, pay, finalize, void, and previews of a
subscription change (`create_preview`, with prorations)."""

from ..engine.clock import at_clock
from ..engine.collection import attempt, mark_paid
from ..engine.invoicing import build_invoice, finalize, invoice_lines, item_spec, pending_items
from ..engine.periods import LIVE, add_interval, facts_of, interval_of, items_of, period, subscription_of
from ..engine.proration import PRORATION_BEHAVIORS, interval_changes, proration_date, proration_specs
from ..wire import as_bool, as_dict, as_list, as_str, invalid, list_object, missing, paginate
from .common import INCLUDES, deleted, eq_filter, render, render_list, snapshot
from .subscriptions import item_changes, payment_method_for


def _require_invoice(req):
    return req.store.require(req.args["id"], "invoice")


def retrieve_invoice(req):
    return deleted(req, "invoice") or render(req, _require_invoice(req))


def list_invoices(req):
    sub_id = req.params.get("subscription")
    filters = [eq_filter(req, "customer"), lambda i: not sub_id or subscription_of(i) == sub_id, eq_filter(req, "status"),
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
        pm = store.get(payment_method_for(req, customer, pm_id, "payment_method"), "payment_method") \
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


def _payments_list(app, invoice):
    records = app.store.all("invoice_payment", lambda r: r["invoice"] == invoice["id"])
    return list_object(snapshot(records), f"/v1/invoice_payments?invoice={invoice['id']}")


INCLUDES[("invoice", "payments")] = _payments_list


ROUTES = [
    ("POST", "/v1/invoices/create_preview", create_preview),
    ("GET", "/v1/invoices", list_invoices),
    ("GET", "/v1/invoices/{id}", retrieve_invoice),
    ("GET", "/v1/invoices/{id}/lines", list_invoice_lines),
    ("POST", "/v1/invoices/{id}/pay", pay_invoice),
    ("POST", "/v1/invoices/{id}/finalize", finalize_invoice),
    ("POST", "/v1/invoices/{id}/void", void_invoice),
]
