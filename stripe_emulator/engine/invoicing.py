"""Invoices: their lines (from subscription items, one-time prices and pending
invoice items), building a draft, finalizing it (draft -> open) and issuing it
(finalize, then collect)."""

from decimal import Decimal

from .. import fixtures
from ..money import format_amount
from ..wire import list_object
from ..resources.common import previous_attributes, snapshot
from .collection import attempt, mark_paid, open_payment
from .periods import LIVE, facts_of, interval_of, product_name, subscription_of


def _every(price):
    interval, count = interval_of(price)
    return interval if count == 1 else f"every {count} {interval}s"


def item_spec(store, item, start, end, amount=None, description=None, proration=False, credited=None):
    price, qty = item["price"], item["quantity"]
    return {
        "kind": "subscription_item", "subscription_item": item["id"], "price": price["id"],
        "product": price["product"], "quantity": qty,
        "amount": price["unit_amount"] * qty if amount is None else amount,
        "description": description or (f"{qty} × {product_name(store, price)} "
                                       f"(at {format_amount(price['unit_amount'], price['currency'])} / "
                                       f"{_every(price)})"),
        "period": {"end": end, "start": start}, "proration": proration, "credited": credited,
        "invoice_item": None,
    }


def trial_spec(store, item, start, end):
    return item_spec(store, item, start, end, amount=0,
                      description=f"Trial period for {product_name(store, item['price'])}")


def price_spec(store, price, quantity, start, end):
    """A one-time price added to a first invoice (checkout's non-recurring items)."""
    return {
        "kind": "invoice_item", "subscription_item": None, "price": price["id"], "product": price["product"],
        "quantity": quantity, "amount": price["unit_amount"] * quantity,
        "description": product_name(store, price), "period": {"end": end, "start": start},
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
        last = facts_of(store, sub).setdefault("last_lines", {})
        for line in lines:
            details = line["parent"]["subscription_item_details"]
            if details and not details["proration"]:
                last[details["subscription_item"]] = {"invoice": id_, "invoice_line_items": [line["id"]]}
    return invoice


def invoice_lines(store, invoice):
    return store.private.get(invoice["id"], {}).get("lines", [])


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
    open_payment(ctx, invoice, customer, due)


def issue(ctx, invoice, automatic=True):
    """Emit invoice.created, finalize and (for a subscription that collects)
    attempt payment. Returns the attempt's outcome (or "paid"/"open")."""
    ctx.emit("invoice.created", invoice)
    finalize(ctx, invoice)
    if invoice["status"] == "paid":
        return "paid", None
    sub = ctx.store.get(subscription_of(invoice), "subscription")
    if sub is not None and sub["status"] == "unpaid":
        invoice["next_payment_attempt"] = None
        return "open", None
    return attempt(ctx, invoice, automatic=automatic)
