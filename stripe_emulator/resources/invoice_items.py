"""Invoice items (list / retrieve); prorations create them, pending until the
next invoice takes them."""

from ..wire import as_bool
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


ROUTES = [
    ("GET", "/v1/invoiceitems", list_invoice_items),
    ("GET", "/v1/invoiceitems/{id}", retrieve_invoice_item),
]
