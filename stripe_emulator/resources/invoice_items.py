"""Invoice items: created through the API (an amount, a price or inline
price data; on a draft invoice or pending until the customer's next invoice)
or by prorations; updated or deleted while pending or on a draft."""

from ..engine import discounts
from ..engine.clock import at_clock
from ..engine.invoicing import new_invoice_item, refresh_draft, set_item_spec
from ..wire import as_bool, as_dict, as_int, as_str, invalid, metadata, missing
from .catalog import new_price
from .common import deleted, eq_filter, render, render_list


def retrieve_invoice_item(req):
    return deleted(req, "invoiceitem") or render(
        req, req.store.require(req.args["id"], "invoiceitem", kind="invoiceitem"))


def list_invoice_items(req):
    filters = [eq_filter(req, "customer"), eq_filter(req, "invoice")]
    if "pending" in req.params:
        pending = as_bool(req.params, "pending")
        filters.append(lambda ii: (ii["invoice"] is None) == pending)
    return render_list(req, "invoiceitem", "/v1/invoiceitems", filters)


def _price(req, params):
    """The price an item bills (`pricing[price]` or `price_data`), or None."""
    price_id = as_str(as_dict(params, "pricing"), "price", label="pricing[price]")
    data = as_dict(params, "price_data")
    if price_id and data:
        raise invalid("You may only specify one of these parameters: pricing[price], price_data.",
                      param="price_data")
    if price_id:
        price = req.store.require(price_id, "price", param="pricing[price]")
        if price["type"] != "one_time":
            raise invalid("The price specified is a recurring price; invoice items take one-time prices.",
                          param="pricing[price]")
        return price
    if data:
        return new_price(req, data, "price_data", inline=True)
    return None


def _spec(req, params, current=None):
    """The line an item makes, from a create (`current` None) or an update."""
    store = req.store
    current = current or {"amount": None, "price": None, "product": None, "quantity": 1, "description": None,
                          "discountable": True, "currency": None}
    price = _price(req, params)
    quantity = as_int(params, "quantity", minimum=0)
    amount = as_int(params, "amount")
    if amount is not None and (price is not None or quantity is not None):
        raise invalid("You may only specify one of these parameters: amount, quantity (or a price).",
                      param="amount")
    if price is not None:
        quantity = current["quantity"] if quantity is None else quantity
        amount, currency = price["unit_amount"] * quantity, price["currency"]
        product = store.get(price["product"], "product")
        description = (product or {}).get("name")
        price_id, product_id = price["id"], price["product"]
    elif amount is not None:
        quantity, currency = 1, current["currency"]
        description, price_id, product_id = current["description"], None, None
    elif current["amount"] is not None:  # an update that keeps the amount or price
        price_id, product_id, currency = current["price"], current["product"], current["currency"]
        description = current["description"]
        if quantity is not None and price_id:
            amount = store.get(price_id, "price")["unit_amount"] * quantity
        else:
            quantity, amount = current["quantity"], current["amount"]
    else:
        raise missing("amount")
    if "description" in params:
        description = as_str(params, "description")
    period = as_dict(params, "period")
    now = store.now()
    return {
        "kind": "invoice_item", "subscription_item": None, "price": price_id, "product": product_id,
        "quantity": quantity, "amount": amount, "description": description,
        "period": {"end": as_int(period, "end", label="period[end]"), "start": as_int(period, "start",
                                                                                       label="period[start]")}
        if period else current.get("period") or {"end": now, "start": now},
        "proration": False, "credited": None, "invoice_item": current.get("invoice_item"),
        "discountable": as_bool(params, "discountable", current["discountable"]),
        "discounts": current.get("discounts", []), "included_discounts": [],
    }, currency


def _draft(store, invoice_id, customer_id, param="invoice"):
    invoice = store.require(invoice_id, "invoice", param=param)
    if invoice["customer"] != customer_id:
        raise invalid("The invoice belongs to another customer.", param=param)
    if invoice["status"] != "draft":
        raise invalid("Invoice items can only be added to or changed on draft invoices.", param=param,
                      code="invoice_not_editable")
    return invoice


def _item_discounts(req, params, ii, customer, currency):
    chosen = discounts.requested(req, params.get("discounts"), "discounts", customer_id=customer["id"],
                                 currency=currency, allow_discount=True)
    made = []
    for coupon, promo, existing in chosen:
        if existing is None:
            existing = discounts.new_discount(req, coupon, promo, customer=customer["id"], invoice_item=ii["id"])
            discounts.redeem(req, existing)
        made.append(existing["id"])
    return made


def create_invoice_item(req):
    params, store = req.params, req.store
    customer = store.require(as_str(params, "customer", required=True), "customer", param="customer")
    invoice_id = as_str(params, "invoice")
    invoice = _draft(store, invoice_id, customer["id"]) if invoice_id else None
    sub_id = as_str(params, "subscription")
    sub = store.require(sub_id, "subscription", param="subscription") if sub_id else None
    with at_clock(store, customer["test_clock"]):
        spec, currency = _spec(req, params)
        currency = (currency or as_str(params, "currency") or "").lower()
        if not currency:
            raise missing("currency")
        if invoice is not None and invoice["currency"] != currency:
            raise invalid(f"The invoice is in {invoice['currency']}; this item is in {currency}.", param="currency")
        ii = new_invoice_item(req, customer, sub, spec, currency, invoice=invoice, meta=metadata(params))
        if "discounts" in params:
            spec["discounts"] = _item_discounts(req, params, ii, customer, currency)
            set_item_spec(store, ii, spec)
        if invoice is not None:
            refresh_draft(req, invoice)
    return render(req, ii)


def _editable(req):
    store = req.store
    ii = store.require(req.args["id"], "invoiceitem", kind="invoiceitem")
    invoice = store.get(ii["invoice"], "invoice") if ii["invoice"] else None
    if invoice is not None and invoice["status"] != "draft":
        raise invalid("This invoice item is on a finalized invoice and can no longer change.",
                      code="invoice_not_editable")
    return ii, invoice


def update_invoice_item(req):
    params, store = req.params, req.store
    ii, invoice = _editable(req)
    customer = store.get(ii["customer"], "customer")
    current = dict(store.private[ii["id"]]["line"], currency=ii["currency"])
    with at_clock(store, ii["test_clock"]):
        spec, currency = _spec(req, params, current)
        if currency and currency != ii["currency"]:
            raise invalid("An invoice item keeps its currency.", param="price_data[currency]")
        if "discounts" in params:
            spec["discounts"] = _item_discounts(req, params, ii, customer, ii["currency"])
        set_item_spec(store, ii, spec)
        ii["metadata"] = metadata(params, ii["metadata"])
        if invoice is not None:
            refresh_draft(req, invoice)
    return render(req, ii)


def delete_invoice_item(req):
    ii, invoice = _editable(req)
    req.store.remove(ii["id"])
    req.emit("invoiceitem.deleted", ii)
    if invoice is not None:
        refresh_draft(req, invoice)
    return {"id": ii["id"], "object": "invoiceitem", "deleted": True}


ROUTES = [
    ("POST", "/v1/invoiceitems", create_invoice_item),
    ("GET", "/v1/invoiceitems", list_invoice_items),
    ("GET", "/v1/invoiceitems/{id}", retrieve_invoice_item),
    ("POST", "/v1/invoiceitems/{id}", update_invoice_item),
    ("DELETE", "/v1/invoiceitems/{id}", delete_invoice_item),
]
