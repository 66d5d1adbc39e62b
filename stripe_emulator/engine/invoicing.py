"""Invoices: their lines (from subscription items, one-time prices and pending
invoice items), building a draft, finalizing it (draft -> open) and issuing it
(finalize, then collect)."""

from decimal import Decimal

from .. import fixtures
from ..money import format_amount
from ..resources.common import previous_attributes, snapshot
from ..wire import list_object
from . import discounts
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
        "invoice_item": None, "discountable": not proration, "discounts": [], "included_discounts": [],
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
        "proration": False, "credited": None, "invoice_item": None, "discountable": True, "discounts": [],
        "included_discounts": [],
    }


def _unit_decimal(amount, quantity):
    value = Decimal(amount) / Decimal(quantity or 1)
    return str(value.normalize()) if value != value.to_integral() else str(int(value))


def _pricing(spec):
    if not spec["price"]:
        return None  # an amount without a price (an invoice item created with `amount`)
    return {"type": "price_details", "unit_amount_decimal": _unit_decimal(spec["amount"], spec["quantity"]),
            "price_details": {"price": spec["price"], "product": spec["product"]}}


def _line(store, invoice_id, spec, sub_id, currency, preview, line_id=None):
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
        "line_item", id=line_id or store.new_id("il_tmp_" if preview else "il_"), amount=spec["amount"],
        currency=currency, description=spec["description"], discount_amounts=[],
        discountable=_discountable(spec), discounts=[], invoice=invoice_id, period=dict(spec["period"]),
        quantity=spec["quantity"], subscription=sub_id, pretax_credit_amounts=[], taxes=[], parent=parent,
        pricing=_pricing(spec), subtotal=spec["amount"], quantity_decimal=str(spec["quantity"]))


def _discountable(spec):
    # (.get: specs kept in a state file from before discounts lack the keys)
    return spec.get("discountable", not spec["proration"])


def apply_discounts(store, invoice, lines, specs, invoice_discounts, at):
    """Set what the discounts take off each line (line-level discounts first,
    then the invoice's, as Stripe does) and the invoice's totals.
    Prorations carry the subscription's discounts already included in their
    amounts (flexible billing mode, proration_discounts=included): their ids,
    with amount 0."""
    line_level = [discounts.live(store, spec.get("discounts"), at) for spec in specs]
    taken = [[] for _ in lines]
    for i, line in enumerate(lines):
        if line_level[i]:
            taken[i] += discounts.allocate(store, [_weight(line, specs[i])], line_level[i])[0]
    rest = [dict(_weight(line, specs[i]), amount=line["amount"] - sum(a for _, a in taken[i]))
            for i, line in enumerate(lines)]
    for i, more in enumerate(discounts.allocate(store, rest, invoice_discounts)):
        taken[i] += more
    totals = {}
    for i, line in enumerate(lines):
        included = [(d, 0) for d in specs[i].get("included_discounts", [])]
        line["discount_amounts"] = [{"amount": a, "discount": d} for d, a in taken[i] + included]
        line["discounts"] = [d["id"] for d in line_level[i]] + [d for d, _ in included]
        line["pretax_credit_amounts"] = [{"amount": a, "credit_balance_transaction": None, "discount": d,
                                          "type": "discount"} for d, a in taken[i] if a]
        for d, a in taken[i]:
            totals[d] = totals.get(d, 0) + a
    for d in invoice_discounts:
        totals.setdefault(d["id"], 0)
    subtotal = sum(line["amount"] for line in lines)
    total = subtotal - sum(totals.values())
    invoice.update(
        discounts=[d["id"] for d in invoice_discounts],
        total_discount_amounts=[{"amount": a, "discount": d} for d, a in totals.items()],
        total_pretax_credit_amounts=[{"amount": a, "credit_balance_transaction": None, "discount": d,
                                      "type": "discount"} for d, a in totals.items() if a],
        subtotal=subtotal, subtotal_excluding_tax=subtotal, total=total, total_excluding_tax=total,
        amount_due=max(total, 0), amount_remaining=max(total, 0))


def _weight(line, spec):
    return {"amount": line["amount"], "discountable": line["discountable"], "product": spec["product"],
            "currency": line["currency"]}


def new_invoice_item(ctx, customer, sub, spec, currency, invoice=None, meta=None):
    """An invoice item: pending (prorations; the API without `invoice`) until
    an invoice takes it, or on the draft `invoice` given."""
    store = ctx.store
    ii = fixtures.make(
        "invoiceitem", id=store.new_id("ii_"), amount=spec["amount"], currency=currency,
        customer=customer["id"], date=store.now(), description=spec["description"],
        discountable=_discountable(spec), discounts=list(spec.get("discounts", [])), period=dict(spec["period"]),
        proration=spec["proration"], quantity=spec["quantity"], tax_rates=[], test_clock=customer["test_clock"],
        invoice=invoice["id"] if invoice else None, metadata=dict(meta or {}),
        parent={"subscription_details": {"subscription": sub["id"] if sub else None},
                "type": "subscription_details"} if sub else None,
        pricing=_pricing(spec), net_amount=spec["amount"], quantity_decimal=str(spec["quantity"]))
    spec = dict(spec, invoice_item=ii["id"])
    store.add(ii, {"line": spec})
    ctx.emit("invoiceitem.created", ii)
    return ii


def set_item_spec(store, ii, spec):
    """Change an invoice item (an update through the API)."""
    spec = dict(spec, invoice_item=ii["id"])
    store.private[ii["id"]]["line"] = spec
    ii.update(amount=spec["amount"], description=spec["description"], discountable=spec["discountable"],
              discounts=list(spec["discounts"]), period=dict(spec["period"]), quantity=spec["quantity"],
              pricing=_pricing(spec), net_amount=spec["amount"], quantity_decimal=str(spec["quantity"]))


def pending_items(store, customer_id, sub_id):
    """Pending invoice items the next invoice of `sub_id` takes: its own and the
    customer's that belong to no live subscription."""
    def takes(ii):
        if ii["customer"] != customer_id or ii["invoice"] is not None:
            return False
        owner = ((ii["parent"] or {}).get("subscription_details") or {}).get("subscription")
        if owner in (None, sub_id):
            return True
        other = store.get(owner, "subscription")
        return other is None or other["status"] not in LIVE
    items = store.all("invoiceitem", takes)
    items.reverse()  # oldest first
    return items


def customer_fields(store, customer):
    """What an invoice copies from its customer (again when it is finalized)."""
    tax_ids = store.all("tax_id", lambda t: t["customer"] == customer["id"])
    tax_ids.reverse()
    return dict(customer_address=customer["address"], customer_email=customer["email"],
                customer_name=customer["name"], customer_phone=customer["phone"],
                customer_shipping=customer["shipping"] or None, customer_tax_exempt=customer["tax_exempt"],
                customer_tax_ids=[{"type": t["type"], "value": t["value"]} for t in tax_ids])


def build_invoice(ctx, customer, sub, reason, specs, period_start, period_end, pending=(), preview=False,
                  created=None, invoice_discounts=None, fields=None):
    """An invoice (draft) for `specs` plus the `pending` invoice items, with
    the discounts of its subscription (or `invoice_discounts`) applied.
    Stored unless `preview` (then not stored, id `upcoming_in_…`). `fields`
    sets what an invoice created through the API says (collection, memo...)."""
    store = ctx.store
    now = store.now() if created is None else created
    currency = sub["currency"] if sub else (pending[0]["currency"] if pending else (fields or {}).get("currency")
                                             or "usd")
    if preview:
        id_ = "upcoming_in_" + store.new_id("", 24)
    else:
        id_ = store.new_id("in_")
    all_specs = [store.private[ii["id"]]["line"] for ii in pending] + list(specs)
    lines = [_line(store, id_, spec, sub["id"] if sub else None, currency, preview) for spec in all_specs]
    from_subscription = invoice_discounts is None
    if from_subscription:
        invoice_discounts = discounts.live(store, sub["discounts"], now) if sub else []
    invoice = fixtures.make(
        "invoice",
        id=id_,
        account_country="US",
        account_name="Emulator Shop",
        amount_paid=0,
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
        default_tax_rates=[],
        hosted_invoice_url=None if preview else f"{ctx.app.public_url}/i/{id_}",
        issuer={"type": "self"},
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
        test_clock=customer["test_clock"],
        webhooks_delivered_at=None,
        automatically_finalizes_at=None if preview else now + 3600,
        total_taxes=[],
        amount_overpaid=0,
        **customer_fields(store, customer),
    )
    invoice.update(fields or {})
    apply_discounts(store, invoice, lines, all_specs, invoice_discounts, now)
    invoice["lines"] = list_object(lines if preview else lines[:10], f"/v1/invoices/{id_}/lines",
                                   has_more=not preview and len(lines) > 10)
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
        if from_subscription:
            discounts.after_invoice(ctx, sub, invoice_discounts)
    return invoice


def refresh_draft(ctx, invoice):
    """Recompute a draft's lines and totals from the invoice items on it (they
    change through the API); a line keeps its id while its item lives."""
    store = ctx.store
    facts = store.private[invoice["id"]]
    items = store.all("invoiceitem", lambda ii: ii["invoice"] == invoice["id"])
    items.reverse()
    ids = facts.setdefault("line_ids", {})
    specs = [store.private[ii["id"]]["line"] for ii in items]
    sub_id = subscription_of(invoice)
    lines = [_line(store, invoice["id"], spec, sub_id, invoice["currency"], False,
                   ids.setdefault(spec["invoice_item"], store.new_id("il_"))) for spec in specs]
    apply_discounts(store, invoice, lines, specs, discounts.live(store, invoice["discounts"], store.now()),
                    store.now())
    facts["lines"] = lines
    invoice["lines"] = list_object(lines[:10], f"/v1/invoices/{invoice['id']}/lines", has_more=len(lines) > 10)


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
    invoice.update(customer_fields(store, customer))
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
