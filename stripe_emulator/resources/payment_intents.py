"""Payment intents and the card payment engine shared by the API, the hosted
checkout page and the automation route."""

import secrets

from .. import cards, fixtures
from ..wire import StripeError, as_bool, as_dict, as_int, as_list, as_str, invalid, metadata
from . import disputes
from .charges import new_charge, three_d_secure_details
from .common import eq_filter, previous_attributes, render, render_list, snapshot
from .payment_methods import attach_to, card_of, resolve

# Stripe's minimum charge amounts (minor units) for common currencies.
MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "chf": 50, "cad": 50, "aud": 50}

AUTH_FAILURE_MESSAGE = (
    "The provided PaymentMethod has failed authentication. You can provide payment_method_data "
    "or a new PaymentMethod to attempt to fulfill this PaymentIntent again.")


def new_payment_intent(req, amount, currency, customer=None, description=None, meta=None,
                       receipt_email=None, setup_future_usage=None):
    """Store a payment intent awaiting a payment method; emits `payment_intent.created`."""
    store = req.store
    id_ = store.new_id("pi_")
    pi = fixtures.make(
        "payment_intent",
        id=id_,
        amount=amount,
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        capture_method="automatic",
        client_secret=f"{id_}_secret_{secrets.token_urlsafe(18)}",
        confirmation_method="automatic",
        created=store.now(),
        currency=currency,
        customer=customer,
        description=description,
        metadata=dict(meta or {}),
        payment_method_options={"card": {"installments": None, "mandate_options": None, "network": None,
                                          "request_three_d_secure": "automatic"}},
        payment_method_types=["card"],
        receipt_email=receipt_email,
        setup_future_usage=setup_future_usage,
        status="requires_payment_method",
    )
    store.add(pi)
    req.emit("payment_intent.created", pi)
    return pi


def card_error(pi, pm, code, message, decline_code=None, charge=None):
    return StripeError(402, "card_error", message, code=code, decline_code=decline_code,
                       charge=charge["id"] if charge else None, payment_intent=snapshot(pi),
                       payment_method=snapshot(pm), payment_method_type="card")


def _last_payment_error(pm, code, message, decline_code=None, charge=None):
    error = {
        "charge": charge["id"] if charge else None,
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message,
        "payment_method": snapshot(pm),
        "payment_method_type": "card",
        "type": "card_error",
    }
    # Like an error body: Stripe leaves out what does not apply.
    return {key: value for key, value in error.items() if value is not None}


def _fail(req, pi, pm, code, message, decline_code=None, with_charge=True):
    """Record a failed attempt (charge.failed, payment_intent.payment_failed)
    and raise the card error."""
    charge = None
    if with_charge:
        charge = new_charge(req, pi, pm, decline_code=decline_code or code, failure_code=code)
        pi["latest_charge"] = charge["id"]
        req.emit("charge.failed", charge)
    pi["last_payment_error"] = _last_payment_error(pm, code, message, decline_code, charge)
    pi["status"] = "requires_payment_method"
    pi["payment_method"] = None
    pi["next_action"] = None
    req.emit("payment_intent.payment_failed", pi)
    raise card_error(pi, pm, code, message, decline_code, charge)


def _succeed(req, pi, pm, before_success=None, three_d_secure=None):
    if before_success:
        before_success(pi, pm)
    if pi["setup_future_usage"] and pi["customer"]:
        attach_to(req, pm, req.store.get(pi["customer"], "customer"))
    charge = new_charge(req, pi, pm, three_d_secure=three_d_secure)
    pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"],
              payment_method=pm["id"], last_payment_error=None, next_action=None)
    req.emit("charge.succeeded", charge)
    req.emit("payment_intent.succeeded", pi)
    if card_of(req.store, pm).behaviour == "dispute":
        charge_id = charge["id"]
        req.app.scheduler.later(req.app.config.dispute_delay,
                                lambda: disputes.open_dispute(req.app, charge_id))
    return charge


def confirm_with(req, pi, pm, off_session=False, initial=False, before_success=None, return_url=None):
    """Pay `pi` with `pm` the way the card behaves. Returns "succeeded" or
    "requires_action"; raises a 402 card error on a decline.

    `initial` marks the first, on-session use of the card (hosted checkout):
    the 0341 card only fails on later charges. `before_success(pi, pm)` runs
    just before the charge of a successful payment (checkout attaches the
    customer there so its events come in Stripe's order)."""
    card = card_of(req.store, pm)
    pi["payment_method"] = pm["id"]
    if card.behaviour == "decline" or (card.behaviour == "fail_later" and not initial):
        _fail(req, pi, pm, "card_declined", cards.DECLINE_MESSAGES[card.decline_code], card.decline_code)
    if card.behaviour == "3ds":
        if off_session:
            _fail(req, pi, pm, "authentication_required",
                  "Your card was declined. This transaction requires authentication.",
                  "authentication_required")
        pi["status"] = "requires_action"
        pi["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {
            "return_url": return_url, "url": f"{req.app.public_url}/c/3ds/{pi['id']}"}}
        req.emit("payment_intent.requires_action", pi)
        return "requires_action"
    _succeed(req, pi, pm, before_success)
    return "succeeded"


def finish_authentication(req, pi, approved, before_success=None):
    """The outcome of the 3-D Secure page for a `requires_action` intent."""
    if pi["status"] != "requires_action":
        raise invalid(f"This PaymentIntent's status is {pi['status']}; it does not need authentication.",
                      code="payment_intent_unexpected_state")
    pm = req.store.get(pi["payment_method"], "payment_method")
    if not approved:
        _fail(req, pi, pm, "payment_intent_authentication_failure", AUTH_FAILURE_MESSAGE, with_charge=False)
    _succeed(req, pi, pm, before_success, three_d_secure=three_d_secure_details())


# --- API -------------------------------------------------------------------------

def _check_amount(params, currency, label="amount"):
    amount = as_int(params, "amount", required=True, minimum=1, label=label)
    minimum = MINIMUM_AMOUNTS.get(currency)
    if minimum and amount < minimum:
        raise invalid(f"Amount must be at least {minimum} {currency} minor units.", param=label,
                      code="amount_too_small")
    return amount


def _payment_method_param(req, pi):
    pm_id = as_str(req.params, "payment_method")
    if not pm_id:
        return None
    pm = resolve(req, pm_id, "payment_method")
    if pm["customer"] and pm["customer"] != pi["customer"]:
        raise invalid("The provided PaymentMethod belongs to a different Customer.", param="payment_method",
                      code="payment_method_unexpected_state")
    return pm


def _confirm_from_params(req, pi):
    pm = _payment_method_param(req, pi) or req.store.get(pi["payment_method"], "payment_method")
    if pm is None:
        raise invalid("You cannot confirm this PaymentIntent because it's missing a payment method. "
                      "To confirm the PaymentIntent with a customer, you must provide `payment_method`.",
                      param="payment_method", code="payment_intent_unexpected_state")
    confirm_with(req, pi, pm, off_session=as_bool(req.params, "off_session", False),
                 return_url=as_str(req.params, "return_url"))


def create(req):
    params = req.params
    currency = as_str(params, "currency", required=True).lower()
    amount = _check_amount(params, currency)
    if as_str(params, "capture_method") not in (None, "automatic", "automatic_async"):
        raise invalid("The emulator only supports capture_method=automatic.", param="capture_method")
    types = as_list(params, "payment_method_types")
    if any(t != "card" for t in types):
        raise invalid("The emulator only supports card payments.", param="payment_method_types")
    customer = as_str(params, "customer")
    if customer:
        req.store.require(customer, "customer", param="customer")
    pi = new_payment_intent(
        req, amount, currency, customer=customer, description=as_str(params, "description"),
        meta=metadata(params), receipt_email=as_str(params, "receipt_email"),
        setup_future_usage=as_str(params, "setup_future_usage", choices=("on_session", "off_session")))
    if as_dict(params, "automatic_payment_methods").get("enabled") in ("true", True):
        pi["automatic_payment_methods"] = {"allow_redirects": "always", "enabled": True}
    pm = _payment_method_param(req, pi)
    if pm:
        pi["payment_method"] = pm["id"]
        pi["status"] = "requires_confirmation"
    if as_bool(params, "confirm", False):
        _confirm_from_params(req, pi)
    return render(req, pi)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "payment_intent", kind="payment_intent"))


def _require_open(pi, action):
    if pi["status"] in ("succeeded", "canceled"):
        raise invalid(f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}.",
                      code="payment_intent_unexpected_state")


def update(req):
    pi = req.store.require(req.args["id"], "payment_intent", kind="payment_intent")
    before = snapshot(pi)
    params = req.params
    pi["metadata"] = metadata(params, pi["metadata"])
    for name in ("description", "receipt_email"):
        if name in params:
            pi[name] = as_str(params, name)
    if "amount" in params or "currency" in params or "customer" in params or "payment_method" in params:
        _require_open(pi, "update")
        if "currency" in params:
            pi["currency"] = as_str(params, "currency", required=True).lower()
        if "amount" in params:
            pi["amount"] = _check_amount(params, pi["currency"])
        if "customer" in params:
            pi["customer"] = req.store.require(as_str(params, "customer", required=True), "customer",
                                               param="customer")["id"]
        pm = _payment_method_param(req, pi)
        if pm:
            pi["payment_method"] = pm["id"]
            pi["status"] = "requires_confirmation"
    previous = previous_attributes(before, pi)
    if previous and set(previous) != {"metadata"}:
        req.emit("payment_intent.updated", pi, previous)
    return render(req, pi)


def confirm(req):
    pi = req.store.require(req.args["id"], "payment_intent", kind="payment_intent")
    _require_open(pi, "confirm")
    _confirm_from_params(req, pi)
    return render(req, pi)


def cancel(req):
    pi = req.store.require(req.args["id"], "payment_intent", kind="payment_intent")
    _require_open(pi, "cancel")
    reason = as_str(req.params, "cancellation_reason",
                    choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned"))
    cancel_intent(req, pi, reason)
    return render(req, pi)


def cancel_intent(req, pi, reason):
    pi.update(status="canceled", canceled_at=req.store.now(), cancellation_reason=reason, next_action=None)
    req.emit("payment_intent.canceled", pi)


def list_(req):
    return render_list(req, "payment_intent", "/v1/payment_intents", [eq_filter(req, "customer")])


ROUTES = [
    ("POST", "/v1/payment_intents", create),
    ("GET", "/v1/payment_intents", list_),
    ("GET", "/v1/payment_intents/{id}", retrieve),
    ("POST", "/v1/payment_intents/{id}", update),
    ("POST", "/v1/payment_intents/{id}/confirm", confirm),
    ("POST", "/v1/payment_intents/{id}/cancel", cancel),
]
