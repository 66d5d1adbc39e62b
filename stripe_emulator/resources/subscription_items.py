"""Subscription items (list / retrieve); they change through the subscription."""

from ..engine.periods import items_of
from ..wire import as_str, paginate
from .common import deleted, render


def retrieve_item(req):
    return deleted(req, "subscription_item") or render(
        req, req.store.require(req.args["id"], "subscription_item", kind="subscription item"))


def list_items(req):
    sub_id = as_str(req.params, "subscription", required=True)
    sub = req.store.require(sub_id, "subscription", param="subscription")
    items = items_of(req.store, sub)
    return render(req, paginate(items, req.params, "/v1/subscription_items"))


ROUTES = [
    ("GET", "/v1/subscription_items", list_items),
    ("GET", "/v1/subscription_items/{id}", retrieve_item),
]
