"""Setup intents (cards only): save a card for later off-session payments."""

import secrets

from .. import cards, fixtures
from ..wire import StripeError, as_list, as_str, invalid, metadata
from .common import eq_filter, render, render_list
from .payment_methods import attach_to, card_of, resolve


def new_setup_intent(req, customer=None, meta=None, description=None, usage="off_session"):
    """Store a setup intent awaiting a payment method; emits `setup_intent.created`."""
    store = req.store
    id_ = store.new_id("seti_")
    seti = fixtures.make(
        "setup_intent",
        id=id_,
        client_secret=f"{id_}_secret_{secrets.token_urlsafe(24)}",
        created=store.now(),
        customer=customer,
        description=description,
        metadata=dict(meta or {}),
        payment_method_options={"card": {"mandate_options": None, "network": None,
                                         "request_three_d_secure": "automatic"}},
        payment_method_types=["card"],
        status="requires_payment_method",
        usage=usage,
    )
    store.add(seti)
    req.emit("setup_intent.created", seti)
    return seti


def confirm_setup(req, seti, pm, before_success=None):
    """Save `pm` through `seti`: attaches it to the intent's customer.  A card
    that declines fails the setup (`setup_intent.setup_failed`, 402 card error);
    the 0341 card attaches fine (it only fails later charges)."""
    card = card_of(req.store, pm)
    seti["payment_method"] = pm["id"]
    if card.behaviour == "decline":
        message = cards.DECLINE_MESSAGES[card.decline_code]
        seti.update(status="requires_payment_method", payment_method=None, last_setup_error={
            "code": "card_declined", "decline_code": card.decline_code,
            "doc_url": "https://stripe.com/docs/error-codes/card-declined", "message": message,
            "payment_method": dict(pm), "payment_method_type": "card", "type": "card_error"})
        req.emit("setup_intent.setup_failed", seti)
        raise StripeError(402, "card_error", message, code="card_declined", decline_code=card.decline_code,
                          setup_intent=dict(seti), payment_method=dict(pm), payment_method_type="card")
    if before_success:
        before_success(seti, pm)
    customer = req.store.get(seti["customer"], "customer")
    if customer is not None:
        attach_to(req, pm, customer)
    seti.update(status="succeeded", last_setup_error=None, next_action=None)
    req.emit("setup_intent.succeeded", seti)
    return seti


def _pm_param(req, seti):
    pm_id = as_str(req.params, "payment_method")
    if not pm_id:
        return None
    pm = resolve(req, pm_id, "payment_method")
    if pm["customer"] and seti["customer"] and pm["customer"] != seti["customer"]:
        raise invalid("The provided PaymentMethod belongs to a different Customer.", param="payment_method",
                      code="payment_method_unexpected_state")
    return pm


def _confirm(req, seti):
    pm = _pm_param(req, seti) or req.store.get(seti["payment_method"], "payment_method")
    if pm is None:
        raise invalid("You cannot confirm this SetupIntent because it's missing a payment method.",
                      param="payment_method", code="setup_intent_unexpected_state")
    confirm_setup(req, seti, pm)


def create(req):
    params = req.params
    if any(t != "card" for t in as_list(params, "payment_method_types")):
        raise invalid("The emulator only supports card payments.", param="payment_method_types")
    customer = as_str(params, "customer")
    if customer:
        req.store.require(customer, "customer", param="customer")
    seti = new_setup_intent(req, customer=customer, meta=metadata(params),
                            description=as_str(params, "description"),
                            usage=as_str(params, "usage", choices=("off_session", "on_session")) or "off_session")
    pm = _pm_param(req, seti)
    if pm:
        seti.update(payment_method=pm["id"], status="requires_confirmation")
    if params.get("confirm") in ("true", True):
        _confirm(req, seti)
    return render(req, seti)


def _require(req):
    return req.store.require(req.args["id"], "setup_intent", kind="setup_intent")


def retrieve(req):
    return render(req, _require(req))


def update(req):
    seti = _require(req)
    seti["metadata"] = metadata(req.params, seti["metadata"])
    if "description" in req.params:
        seti["description"] = as_str(req.params, "description")
    pm = _pm_param(req, seti)
    if pm:
        seti.update(payment_method=pm["id"], status="requires_confirmation")
    return render(req, seti)


def _require_open(seti, action):
    if seti["status"] in ("succeeded", "canceled"):
        raise invalid(f"You cannot {action} this SetupIntent because it has a status of {seti['status']}.",
                      code="setup_intent_unexpected_state")


def confirm(req):
    seti = _require(req)
    _require_open(seti, "confirm")
    _confirm(req, seti)
    return render(req, seti)


def cancel(req):
    seti = _require(req)
    _require_open(seti, "cancel")
    seti.update(status="canceled", cancellation_reason=as_str(
        req.params, "cancellation_reason", choices=("abandoned", "duplicate", "requested_by_customer")))
    req.emit("setup_intent.canceled", seti)
    return render(req, seti)


def list_(req):
    return render_list(req, "setup_intent", "/v1/setup_intents",
                       [eq_filter(req, "customer"), eq_filter(req, "payment_method")])


ROUTES = [
    ("POST", "/v1/setup_intents", create),
    ("GET", "/v1/setup_intents", list_),
    ("GET", "/v1/setup_intents/{id}", retrieve),
    ("POST", "/v1/setup_intents/{id}", update),
    ("POST", "/v1/setup_intents/{id}/confirm", confirm),
    ("POST", "/v1/setup_intents/{id}/cancel", cancel),
]
