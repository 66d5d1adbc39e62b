"""Invoices: create (a draft, for invoice items), update, delete a draft,
finalize, pay, void; retrieve, list and lines (paginated). Subscriptions make
theirs through the billing engine (`engine/`)."""

from ..engine import discounts
from ..engine.clock import at_clock
from ..engine.collection import attempt, mark_paid
from ..engine.invoicing import build_invoice, finalize, invoice_lines, pending_items, refresh_draft
from ..engine.periods import DAY, subscription_of
from ..wire import as_bool, as_int, as_str, invalid, list_object, metadata, paginate
from .common import INCLUDES, deleted, eq_filter, previous_attributes, render, render_list, snapshot
from .subscriptions import payment_method_for

COLLECTION_METHODS = ("charge_automatically", "send_invoice")
# What a finalized invoice still lets you change.
FINALIZED_UPDATES = {"metadata", "description", "footer", "auto_advance", "expand"}


def _require_invoice(req):
    return req.store.require(req.args["id"], "invoice")


def retrieve_invoice(req):
    return deleted(req, "invoice") or render(req, _require_invoice(req))


def list_invoices(req):
    sub_id = req.params.get("subscription")
    filters = [eq_filter(req, "customer"), lambda i: not sub_id or subscription_of(i) == sub_id,
               eq_filter(req, "status"), eq_filter(req, "collection_method"), eq_filter(req, "test_clock")]
    return render_list(req, "invoice", "/v1/invoices", filters)


def list_invoice_lines(req):
    invoice = _require_invoice(req)
    return render(req, paginate(invoice_lines(req.store, invoice), req.params,
                                f"/v1/invoices/{invoice['id']}/lines"))


def _collection(req, params, current=None):
    """collection_method, days_until_due and due_date, checked together.
    (An invoice shows no days_until_due; it makes the due date at finalization.)"""
    current = current or {"collection_method": "charge_automatically", "days_until_due": None, "due_date": None}
    method = as_str(params, "collection_method") or current["collection_method"]
    days = as_int(params, "days_until_due", minimum=0) if "days_until_due" in params else current["days_until_due"]
    due = as_int(params, "due_date") if "due_date" in params else current["due_date"]
    if method == "charge_automatically" and (days is not None or due is not None):
        raise invalid("Invoices with `collection_method=charge_automatically` cannot have `days_until_due` or "
                      "`due_date`.", param="days_until_due" if days is not None else "due_date")
    if method == "send_invoice" and days is None and due is None:
        raise invalid("Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.",
                      param="days_until_due")
    if due is not None and due <= req.store.now():
        raise invalid("Invalid due_date: must be in the future.", param="due_date")
    return {"collection_method": method, "days_until_due": days, "due_date": due}


def _invoice_discounts(req, raw, customer, currency):
    chosen = discounts.requested(req, raw, "discounts", customer_id=customer["id"], currency=currency,
                                 allow_discount=True)
    made = []
    for coupon, promo, existing in chosen:
        if existing is None:
            existing = discounts.new_discount(req, coupon, promo, customer=customer["id"])
            discounts.redeem(req, existing)
        made.append(existing)
    return made


def create_invoice(req):
    """A draft invoice for a customer: empty, or with the customer's pending
    invoice items (`pending_invoice_items_behavior=include`); invoice items
    created with `invoice` add lines to it."""
    params, store = req.params, req.store
    customer = store.require(as_str(params, "customer", required=True), "customer", param="customer")
    sub_id = as_str(params, "subscription")
    sub = store.require(sub_id, "subscription", param="subscription") if sub_id else None
    if sub is not None and sub["customer"] != customer["id"]:
        raise invalid("The subscription does not belong to this customer.", param="subscription")
    behavior = as_str(params, "pending_invoice_items_behavior") or "exclude"
    collection = _collection(req, params)
    with at_clock(store, customer["test_clock"]):
        currency = (as_str(params, "currency") or (sub or {}).get("currency") or "usd").lower()
        pending = [ii for ii in pending_items(store, customer["id"], sub_id) if ii["currency"] == currency] \
            if behavior == "include" else []
        days_until_due = collection.pop("days_until_due")
        fields = dict(collection, auto_advance=as_bool(params, "auto_advance", False), currency=currency,
                      description=as_str(params, "description"), footer=as_str(params, "footer"),
                      metadata=metadata(params), statement_descriptor=as_str(params, "statement_descriptor"),
                      default_payment_method=payment_method_for(
                          req, customer, as_str(params, "default_payment_method"), "default_payment_method"))
        made = _invoice_discounts(req, params.get("discounts"), customer, currency)
        now = store.now()
        invoice = build_invoice(req, customer, sub, "manual", [], now, now, pending=pending,
                                invoice_discounts=made, fields=fields)
        if not invoice["auto_advance"]:
            invoice["automatically_finalizes_at"] = None
        for discount in made:
            discount["invoice"] = invoice["id"]
        store.private[invoice["id"]]["days_until_due"] = days_until_due
        refresh_draft(req, invoice)
        req.emit("invoice.created", invoice)
    return render(req, invoice)


def update_invoice(req):
    params, store = req.params, req.store
    invoice = _require_invoice(req)
    if invoice["status"] != "draft" and set(params) - FINALIZED_UPDATES:
        changed = sorted(set(params) - FINALIZED_UPDATES)[0]
        raise invalid(f"Finalized invoices can't be updated in this way: `{changed}` can only change on a draft.",
                      param=changed)
    customer = store.get(invoice["customer"], "customer")
    before = snapshot(invoice)
    with at_clock(store, invoice["test_clock"]):
        if invoice["status"] == "draft":
            facts = store.private[invoice["id"]]
            collection = _collection(req, params, dict(invoice, days_until_due=facts.get("days_until_due")))
            facts["days_until_due"] = collection.pop("days_until_due")
            invoice.update(collection)
            if "default_payment_method" in params:
                invoice["default_payment_method"] = payment_method_for(
                    req, customer, as_str(params, "default_payment_method"), "default_payment_method")
            if "statement_descriptor" in params:
                invoice["statement_descriptor"] = as_str(params, "statement_descriptor")
            if "discounts" in params:
                made = _invoice_discounts(req, params["discounts"], customer, invoice["currency"])
                for discount in made:
                    discount["invoice"] = invoice["id"]
                invoice["discounts"] = [d["id"] for d in made]
        for name in ("description", "footer"):
            if name in params:
                invoice[name] = as_str(params, name)
        if "auto_advance" in params:
            invoice["auto_advance"] = as_bool(params, "auto_advance")
            if invoice["status"] == "draft":
                invoice["automatically_finalizes_at"] = invoice["created"] + 3600 if invoice["auto_advance"] \
                    else None
        invoice["metadata"] = metadata(params, invoice["metadata"])
        if invoice["status"] == "draft":
            refresh_draft(req, invoice)
        previous = previous_attributes(before, invoice)
        if previous:
            req.emit("invoice.updated", invoice, previous)
    return render(req, invoice)


def delete_invoice(req):
    store = req.store
    invoice = _require_invoice(req)
    if invoice["status"] != "draft":
        raise invalid("You can only delete draft invoices; void a finalized one instead.",
                      code="invoice_not_editable")
    if invoice["billing_reason"] != "manual":
        raise invalid("A subscription's invoice cannot be deleted; void it once finalized.",
                      code="invoice_not_editable")
    for ii in store.all("invoiceitem", lambda ii: ii["invoice"] == invoice["id"]):
        store.remove(ii["id"])
        req.emit("invoiceitem.deleted", ii)
    store.remove(invoice["id"])
    req.emit("invoice.deleted", invoice)
    return {"id": invoice["id"], "object": "invoice", "deleted": True}


def _ready_to_finalize(req, invoice):
    """A draft made through the API: its lines are up to date, and a
    send_invoice one gets its due date."""
    if invoice["billing_reason"] == "manual":
        refresh_draft(req, invoice)
    if invoice["collection_method"] == "send_invoice" and invoice["due_date"] is None:
        invoice["due_date"] = req.store.now() + req.store.private[invoice["id"]]["days_until_due"] * DAY


def pay_invoice(req):
    store, params = req.store, req.params
    invoice = _require_invoice(req)
    if invoice["status"] == "paid":
        raise invalid("Invoice is already paid", code=None)
    if invoice["status"] == "void":
        raise invalid("You cannot pay a voided invoice.", code=None)
    with at_clock(store, invoice["test_clock"]):
        if invoice["status"] == "draft":
            _ready_to_finalize(req, invoice)
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
    """draft -> open. An invoice that advances by itself and charges
    automatically is attempted at once (Stripe: about an hour later)."""
    invoice = _require_invoice(req)
    if invoice["status"] != "draft":
        raise invalid("This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                      code=None)
    with at_clock(req.store, invoice["test_clock"]):
        if "auto_advance" in req.params:
            invoice["auto_advance"] = as_bool(req.params, "auto_advance")
        _ready_to_finalize(req, invoice)
        finalize(req, invoice)
        if invoice["status"] == "open" and invoice["next_payment_attempt"] is not None \
                and invoice["billing_reason"] == "manual":
            attempt(req, invoice)
    return render(req, invoice)


def void_invoice(req):
    invoice = _require_invoice(req)
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid(f"You can only void open invoices; this invoice is {invoice['status']}.")
    with at_clock(req.store, invoice["test_clock"]):
        invoice.update(status="void", next_payment_attempt=None, auto_advance=False, amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = req.store.now()
        req.emit("invoice.voided", invoice)
    return render(req, invoice)


def _payments_list(app, invoice):
    records = app.store.all("invoice_payment", lambda r: r["invoice"] == invoice["id"])
    return list_object(snapshot(records), f"/v1/invoice_payments?invoice={invoice['id']}")


INCLUDES[("invoice", "payments")] = _payments_list


ROUTES = [
    ("POST", "/v1/invoices", create_invoice),
    ("GET", "/v1/invoices", list_invoices),
    ("GET", "/v1/invoices/{id}", retrieve_invoice),
    ("POST", "/v1/invoices/{id}", update_invoice),
    ("DELETE", "/v1/invoices/{id}", delete_invoice),
    ("GET", "/v1/invoices/{id}/lines", list_invoice_lines),
    ("POST", "/v1/invoices/{id}/pay", pay_invoice),
    ("POST", "/v1/invoices/{id}/finalize", finalize_invoice),
    ("POST", "/v1/invoices/{id}/void", void_invoice),
]
