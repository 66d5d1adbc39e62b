"""Payment methods (cards only)."""

import time

from .. import cards, fixtures
from ..wire import as_dict, as_int, as_str, invalid, metadata, missing
from .common import eq_filter, previous_attributes, render, render_list, snapshot


def card_of(store, payment_method):
    """The test card behind a stored payment method."""
    return cards.lookup(store.private.get(payment_method["id"], {}).get("number"))


def new_payment_method(req, card, exp_month, exp_year, email=None, name=None, params=None, address=None):
    store = req.store
    pm = fixtures.make(
        "payment_method",
        id=store.new_id("pm_"),
        allow_redisplay="unspecified",
        billing_details=fixtures.shape("payment_method", "billing_details",
                                       address=dict(address) if address else fixtures.address(), email=email,
                                       name=name),
        card=fixtures.shape(
            "payment_method", "card",
            brand=card.brand,
            checks=fixtures.shape("payment_method", "card.checks", cvc_check="pass"),
            country=card.country,
            display_brand=card.brand,
            exp_month=exp_month,
            exp_year=exp_year,
            fingerprint=cards.fingerprint(card),
            funding=card.funding,
            last4=card.last4,
            networks={"available": [card.brand], "preferred": None},
            three_d_secure_usage={"supported": True},
            regulated_status="unregulated",
        ),
        created=store.now(),
        metadata=metadata(params or {}),
        type="card",
    )
    # The number stays private, as at Stripe; it decides later charges (0341).
    store.add(pm, {"number": card.number})
    return pm


def resolve(req, pm_id, param, status=None):
    """A stored payment method, or a fresh one for Stripe's test ids (`pm_card_visa`)."""
    number = cards.TEST_PAYMENT_METHODS.get(pm_id)
    if number:
        return new_payment_method(req, cards.lookup(number), 12, req_year(req) + 5)
    return req.store.require(pm_id, "payment_method", param=param, kind="PaymentMethod", status=status)


def req_year(req):
    return time.gmtime(req.store.now()).tm_year


def attach_to(req, pm_or_id, customer, param="payment_method"):
    pm = resolve(req, pm_or_id, param) if isinstance(pm_or_id, str) else pm_or_id
    if pm["customer"] == customer["id"]:
        return pm
    if pm["customer"]:
        raise invalid("The payment method you provided has already been attached to a customer.",
                      param=param, code="payment_method_unexpected_state")
    pm["customer"] = customer["id"]
    req.emit("payment_method.attached", pm)
    return pm


def create(req):
    params = req.params
    as_str(params, "type", required=True, choices=("card",))
    raw = as_dict(params, "card")
    number = raw.get("number")
    if not number:
        raise missing("card[number]")
    card = cards.lookup(number)
    if card is None:
        raise invalid("Your card number is incorrect.", param="card[number]", code="incorrect_number")
    billing = as_dict(params, "billing_details")
    pm = new_payment_method(
        req, card,
        as_int(raw, "exp_month", required=True, minimum=1, maximum=12, label="card[exp_month]"),
        as_int(raw, "exp_year", required=True, label="card[exp_year]"),
        email=billing.get("email"), name=billing.get("name"), params=params)
    return render(req, pm)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "payment_method", kind="PaymentMethod"))


def update(req):
    pm = req.store.require(req.args["id"], "payment_method", kind="PaymentMethod")
    before = snapshot(pm)
    pm["metadata"] = metadata(req.params, pm["metadata"])
    previous = previous_attributes(before, pm)
    if previous:
        req.emit("payment_method.updated", pm, previous)
    return render(req, pm)


def attach(req):
    customer_id = as_str(req.params, "customer", required=True)
    customer = req.store.require(customer_id, "customer", param="customer")
    pm = resolve(req, req.args["id"], "payment_method", status=404)  # test ids (pm_card_visa) attach a fresh card
    return render(req, attach_to(req, pm, customer))


def detach(req):
    pm = req.store.require(req.args["id"], "payment_method", kind="PaymentMethod")
    if not pm["customer"]:
        raise invalid("The payment method you provided is not attached to a customer so detachment is impossible.",
                      param="payment_method", code="payment_method_unexpected_state")
    pm["customer"] = None
    req.emit("payment_method.detached", pm)
    return render(req, pm)


def list_(req):
    return render_list(req, "payment_method", "/v1/payment_methods",
                       [eq_filter(req, "customer"), eq_filter(req, "type")])


def list_for_customer(req):
    customer = req.store.require(req.args["id"], "customer", param="customer", status=404)
    return render_list(req, "payment_method", f"/v1/customers/{customer['id']}/payment_methods",
                       [lambda pm: pm["customer"] == customer["id"], eq_filter(req, "type")])


ROUTES = [
    ("POST", "/v1/payment_methods", create),
    ("GET", "/v1/payment_methods", list_),
    ("GET", "/v1/payment_methods/{id}", retrieve),
    ("POST", "/v1/payment_methods/{id}", update),
    ("POST", "/v1/payment_methods/{id}/attach", attach),
    ("POST", "/v1/payment_methods/{id}/detach", detach),
    ("GET", "/v1/customers/{id}/payment_methods", list_for_customer),
]
