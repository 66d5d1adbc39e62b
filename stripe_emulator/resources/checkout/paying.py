"""Paying a Checkout Session, shared by the hosted page and the automation
route: the card, what the page collected (`details`), and the three modes:
payment (a payment intent), subscription (the subscription and its first
invoice) and setup (a setup intent)."""

import time

from ... import cards
from ...engine.clock import at_clock
from ...engine.collection import attempt, mark_paid, payment_failed, payment_intent_of
from ...engine.lifecycle import new_subscription
from ...engine.periods import subscription_of
from ...wire import StripeError, metadata
from ..common import previous_attributes, snapshot
from ..customers import new_customer
from ..payment_intents import confirm_with, finish_authentication, new_payment_intent
from ..payment_methods import attach_to, new_payment_method
from ..setup_intents import confirm_setup, new_setup_intent
from . import details as collected
from .details import line_items
from .sessions import expire_session


class NotPayable(Exception):
    """The session can no longer be paid (expired or already complete)."""


def check_payable(req, session):
    if session["status"] == "open" and session["expires_at"] <= req.store.now():
        expire_session(req, session)
    if session["status"] == "expired":
        raise NotPayable("This checkout session has expired.")
    if session["status"] == "complete":
        raise NotPayable("This checkout session is already paid.")
    pi = req.store.get(session["payment_intent"], "payment_intent")
    sub = req.store.get(req.store.private[session["id"]].get("subscription"), "subscription")
    invoice = req.store.get(sub["latest_invoice"], "invoice") if sub is not None else None
    if invoice is not None:
        pi = payment_intent_of(req.store, invoice)
    if pi and pi["status"] == "requires_action":
        # A 3-D Secure challenge is open; paying again starts over with a new card.
        pi["status"] = "requires_payment_method"
        pi["next_action"] = None


def card_input_error(message, code):
    return StripeError(402, "card_error", message, code=code)


def _read_card(form, year):
    card = cards.lookup(form.get("card") or form.get("number"))
    if card is None:
        raise card_input_error("Your card number is invalid.", "invalid_number")
    exp = (form.get("exp") or "").replace(" ", "")
    try:
        month, exp_year = (int(part) for part in exp.split("/"))
    except ValueError:
        raise card_input_error("Your card's expiration date is incomplete.", "invalid_expiry_month") from None
    exp_year += 2000 if exp_year < 100 else 0
    if not 1 <= month <= 12:
        raise card_input_error("Your card's expiration month is invalid.", "invalid_expiry_month")
    if exp_year < year:
        raise card_input_error("Your card's expiration year is in the past.", "invalid_expiry_year")
    cvc = (form.get("cvc") or "").strip()
    if not (cvc.isdigit() and len(cvc) in (3, 4)):
        raise card_input_error("Your card's security code is incomplete.", "incomplete_cvc")
    return card, month, exp_year


def pay(req, session, form):
    """Pay `session` with the card in `form` (number or card, exp "MM/YY",
    cvc, email, name). Returns the payment intent; its status is "succeeded"
    or "requires_action" (3-D Secure). Raises NotPayable, or a 402 StripeError
    for an invalid card or a decline (the session then stays open)."""
    store = req.store
    check_payable(req, session)
    card, exp_month, exp_year = _read_card(form, time.gmtime(store.now()).tm_year)
    customer = store.get(session["customer"], "customer")
    email = (form.get("email") or "").strip() or session["customer_email"] or (customer or {}).get("email")
    if (customer is None or email) and (not email or "@" not in email):
        raise StripeError(400, "invalid_request_error", "Your email address is invalid.", param="email")
    name = (form.get("name") or "").strip() or None
    store.private[session["id"]]["details"] = collected.read(session, form)
    if session["mode"] == "subscription":
        return _pay_subscription(req, session, card, exp_month, exp_year, email, name)
    if session["mode"] == "setup":
        return _pay_setup(req, session, card, exp_month, exp_year, email, name)
    pi = store.get(session["payment_intent"], "payment_intent")
    if pi is None:
        data = store.private[session["id"]]["payment_intent_data"]
        pi = new_payment_intent(
            req, session["amount_total"], session["currency"], customer=session["customer"],
            description=data.get("description"), meta=metadata(data),
            receipt_email=data.get("receipt_email"), setup_future_usage=data.get("setup_future_usage"))
        session["payment_intent"] = pi["id"]
    store.private[pi["id"]] = {"checkout_session": session["id"], "email": email, "name": name}
    pm = _payment_method(req, session, card, exp_month, exp_year, email, name)
    status = confirm_with(req, pi, pm, initial=True, before_success=_before_success(req, session))
    if status == "succeeded":
        _complete(req, session, pi)
    return pi


def authenticate(req, pi, approved):
    """The 3-D Secure page's answer for a checkout payment intent. Returns the
    session; raises the card error when authentication failed."""
    session = req.store.get(req.store.private.get(pi["id"], {}).get("checkout_session"), "checkout.session")
    if session is None:
        finish_authentication(req, pi, approved)
        return None
    if session["mode"] == "subscription":
        invoice = req.store.get(req.store.private[pi["id"]].get("invoice"), "invoice")
        customer = req.store.get(session["customer"], "customer")
        with at_clock(req.store, customer["test_clock"]):
            try:
                finish_authentication(req, pi, approved, before_success=_make_default(req, customer))
            except StripeError:
                payment_failed(req, invoice, automatic=False)
                raise
            mark_paid(req, invoice, pi)
            facts = req.store.private[pi["id"]]
            _complete_subscription(req, session, req.store.get(subscription_of(invoice), "subscription"), invoice,
                                   facts["email"], facts["name"])
        return session
    finish_authentication(req, pi, approved, before_success=_before_success(req, session))
    _complete(req, session, pi)
    return session


def _payment_method(req, session, card, exp_month, exp_year, email, name):
    details = _details(req.store, session)
    return new_payment_method(req, card, exp_month, exp_year, email=email, name=name,
                              address=details["address"] if details else None)


def _details(store, session):
    return store.private[session["id"]].get("details")


def _before_success(req, session):
    def run(pi, pm):
        facts = req.store.private[pi["id"]]
        customer = _session_customer(req, session, facts["email"], facts["name"])
        pi["customer"] = customer["id"]
        attach_to(req, pm, customer)
    return run


def _complete(req, session, pi):
    facts = req.store.private[pi["id"]]
    session.update(
        status="complete",
        payment_status="paid",
        payment_intent=pi["id"],
        customer_details=collected.customer_details(session, facts["email"], facts["name"],
                                                    _details(req.store, session)),
    )
    collected.redeem(req, session)
    req.emit("checkout.session.completed", session)


# --- subscription and setup modes -------------------------------------------------

def _session_customer(req, session, email, name):
    """The session's customer, created (with what the page collected) if it
    has none; collected tax IDs and address go on it."""
    details = _details(req.store, session)
    customer = req.store.get(session["customer"], "customer")
    facts = req.store.private[session["id"]]
    if customer is None:
        customer = new_customer(req, email=email, name=name)
        collected.prefill(customer, details)
        req.store.add(customer)
        req.emit("customer.created", customer)
        session["customer"] = customer["id"]
        facts["created_customer"] = True
    if not facts.get("saved_details"):
        facts["saved_details"] = True
        collected.save_on_customer(req, session, customer, details, created=facts.get("created_customer", False))
    return customer


def _make_default(req, customer):
    """before_success for subscription checkout: attach the card and make it
    the customer's default for invoices (renewals charge it)."""
    def run(intent, pm):
        attach_to(req, pm, customer)
        if customer["invoice_settings"]["default_payment_method"] != pm["id"]:
            before = snapshot(customer)
            customer["invoice_settings"]["default_payment_method"] = pm["id"]
            req.emit("customer.updated", customer, previous_attributes(before, customer))
    return run


def _complete_subscription(req, session, sub, invoice, email, name):
    session.update(
        status="complete",
        payment_status="paid" if invoice["amount_paid"] > 0 else "no_payment_required",
        subscription=sub["id"],
        invoice=invoice["id"],
        customer=sub["customer"],
        customer_details=collected.customer_details(session, email, name, _details(req.store, session)),
    )
    req.emit("checkout.session.completed", session)


def trial_end(store, session):
    data = store.private[session["id"]]["subscription_data"]
    now = store.now()
    if data.get("trial_end"):
        return int(data["trial_end"])
    days = int(data.get("trial_period_days") or 0)
    if not days and data.get("trial_from_plan") in ("true", True):
        for item in line_items(store, session):
            days = (item["price"]["recurring"] or {}).get("trial_period_days") or days
    return now + days * 86400 if days else None


def _pay_subscription(req, session, card, exp_month, exp_year, email, name):
    """Subscription mode: customer, subscription and first invoice; the card
    pays it (or, with a trial, is saved through a setup intent). A decline
    leaves the session open and the subscription `incomplete`; paying again
    retries the same invoice."""
    store = req.store
    facts = store.private[session["id"]]
    customer = _session_customer(req, session, email, name)
    with at_clock(store, customer["test_clock"]):
        pm = _payment_method(req, session, card, exp_month, exp_year, email, name)
        sub = store.get(facts.get("subscription"), "subscription")
        if sub is None:
            items = line_items(store, session)
            entries = [(store.get(i["price"]["id"], "price"), i["quantity"], {}) for i in items
                       if i["price"]["type"] == "recurring"]
            one_time = [(store.get(i["price"]["id"], "price"), i["quantity"]) for i in items
                        if i["price"]["type"] != "recurring"]
            data = facts["subscription_data"]
            trial = trial_end(store, session)
            if trial:
                seti = new_setup_intent(req, customer=customer["id"])
                confirm_setup(req, seti, pm, before_success=None)  # raises on a decline
                _make_default(req, customer)(seti, pm)
            sub, invoice = new_subscription(
                req, customer, entries, trial_end=trial, meta=metadata(data),
                description=data.get("description") or None, one_time=one_time,
                discounts=collected.chosen(store, session))
            for discount_id in sub["discounts"]:
                store.get(discount_id, "discount")["checkout_session"] = session["id"]
            facts["subscription"] = sub["id"]
        invoice = store.get(sub["latest_invoice"], "invoice")
        if invoice["status"] == "paid":
            _complete_subscription(req, session, sub, invoice, email, name)
            return {"status": "succeeded"}
        pi = payment_intent_of(store, invoice)
        store.secret(pi["id"]).update(checkout_session=session["id"], email=email, name=name)
        outcome, error = attempt(req, invoice, pm=pm, automatic=False, initial=True,
                                 before_success=_make_default(req, customer))
        if outcome == "failed":
            raise error
        if outcome == "paid":
            _complete_subscription(req, session, sub, invoice, email, name)
        return pi


def _pay_setup(req, session, card, exp_month, exp_year, email, name):
    """Setup mode: the card is saved through the session's setup intent."""
    store = req.store
    seti = store.get(session["setup_intent"], "setup_intent")
    customer = store.get(session["customer"], "customer")
    if customer is None and session["customer_creation"] == "always":
        customer = _session_customer(req, session, email, name)
        seti["customer"] = customer["id"]
    pm = _payment_method(req, session, card, exp_month, exp_year, email, name)
    confirm_setup(req, seti, pm)  # raises on a decline; the session stays open
    session.update(status="complete", customer_details=collected.customer_details(
        session, email, name, _details(store, session)))
    req.emit("checkout.session.completed", session)
    return {"status": "succeeded"}
