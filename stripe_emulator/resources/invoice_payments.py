"""Invoice payments (list / retrieve): one per payment intent of an invoice."""

from .common import eq_filter, render, render_list


def list_invoice_payments(req):
    return render_list(req, "invoice_payment", "/v1/invoice_payments", [eq_filter(req, "invoice")])


def retrieve_invoice_payment(req):
    return render(req, req.store.require(req.args["id"], "invoice_payment", kind="invoice payment"))


ROUTES = [
    ("GET", "/v1/invoice_payments", list_invoice_payments),
    ("GET", "/v1/invoice_payments/{id}", retrieve_invoice_payment),
]
