"""Checkout sessions (payment mode) and the payment of one, shared by the
hosted page and the automation route."""

import time

from .. import cards, fixtures
from ..engine.clock import at_clock
from ..engine.collection import attempt, mark_paid, payment_failed, payment_intent_of
from ..engine.lifecycle import new_subscription
from ..engine.periods import subscription_of
from ..wire import StripeError, as_dict, as_int, as_list, as_str, invalid, list_object, metadata, missing, paginate
from .catalog import new_price
from .common import INCLUDES, Background, eq_filter, previous_attributes, render, render_list, snapshot
from .customers import new_customer
from .payment_intents import cancel_intent, confirm_with, finish_authentication, new_payment_intent
from .payment_methods import attach_to, new_payment_method
from .setup_intents import confirm_setup, new_setup_intent

MIN_LIFETIME = 30 * 60
MAX_LIFETIME = 24 * 3600


def _line_item(req, raw, index, mode="payment"):
    label = f"line_items[{index}]"
    if not isinstance(raw, dict):
        raise invalid(f"Invalid {label}: must be a hash.", param=label)
    price_id = as_str(raw, "price", label=f"{label}[price]")
    price_data = as_dict(raw, "price_data")
    if price_id and price_data:
        raise invalid("You may only specify one of these parameters: price, price_data.", param=f"{label}[price]")
    if price_data:
        price = new_price(req, price_data, f"{label}[price_data]", inline=True)
    elif price_id:
        price = req.store.require(price_id, "price", param=f"{label}[price]")
        if not price["active"]:
            raise invalid(f"The price specified ({price_id}) is inactive. This field only accepts active prices.",
                          param=f"{label}[price]")
    else:
        raise missing(f"{label}[price]")
    if price["type"] == "recurring" and mode == "payment":
        raise invalid("You specified `payment` mode but passed a recurring price. Either switch to "
                      "`subscription` mode or use only one-time prices.", param=f"{label}[price]")
    quantity = as_int(raw, "quantity", required=True, minimum=1, label=f"{label}[quantity]")
    product = req.store.get(price["product"], "product")
    subtotal = price["unit_amount"] * quantity
    adjustable = as_dict(raw, "adjustable_quantity")
    return fixtures.make(
        "item",
        id=req.store.new_id("li_"),
        amount_discount=0,
        amount_subtotal=subtotal,
        amount_tax=0,
        amount_total=subtotal,
        currency=price["currency"],
        description=product["name"] if product else None,
        price=snapshot(price),
        quantity=quantity,
        adjustable_quantity={
            "enabled": adjustable.get("enabled") in ("true", True),
            "maximum": as_int(adjustable, "maximum"), "minimum": as_int(adjustable, "minimum"),
        } if adjustable else None,
    )


def _expires_at(params, now):
    expires_at = as_int(params, "expires_at")
    if expires_at is None:
        return now + MAX_LIFETIME
    if expires_at < now + MIN_LIFETIME:
        raise invalid("The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                      param="expires_at")
    if expires_at > now + MAX_LIFETIME:
        raise invalid("The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                      param="expires_at")
    return expires_at


def create(req):
    params, store = req.params, req.store
    now = store.now()
    mode = as_str(params, "mode", required=True, choices=("payment", "setup", "subscription"))
    customer_id, email = as_str(params, "customer"), as_str(params, "customer_email")
    if customer_id and email:
        raise invalid("You may only specify one of these parameters: customer, customer_email.",
                      param="customer_email")
    if customer_id:
        store.require(customer_id, "customer", param="customer")
    expires_at = _expires_at(params, now)
    raw_items = as_list(params, "line_items")
    if mode == "setup":
        if raw_items:
            raise invalid("You cannot pass `line_items` in `setup` mode.", param="line_items")
        items = []
        currency = as_str(params, "currency")
        currency = currency.lower() if currency else None
        subtotal = total = None
    else:
        if not raw_items:
            raise missing("line_items")
        items = [_line_item(req, raw, i, mode) for i, raw in enumerate(raw_items)]
        currencies = {item["currency"] for item in items}
        if len(currencies) > 1:
            raise invalid("All line items must use the same currency.", param="line_items")
        currency = currencies.pop()
        subtotal = total = sum(item["amount_total"] for item in items)
    sub_data = as_dict(params, "subscription_data")
    if mode == "subscription":
        recurring = [item["price"] for item in items if item["price"]["type"] == "recurring"]
        if not recurring:
            raise invalid("You must provide at least one recurring price in `subscription` mode when using "
                          "prices.", param="line_items")
        if len({(p["recurring"]["interval"], p["recurring"]["interval_count"]) for p in recurring}) > 1:
            raise invalid("All prices on a subscription must have the same `recurring.interval` and "
                          "`recurring.interval_count`.", param="line_items")
        trial_days = as_int(sub_data, "trial_period_days", minimum=1, maximum=730,
                            label="subscription_data[trial_period_days]")
        trial_end = as_int(sub_data, "trial_end", label="subscription_data[trial_end]")
        if trial_end is not None and trial_end < now + 2 * 86400:
            raise invalid("`subscription_data[trial_end]` must be at least 48 hours in the future.",
                          param="subscription_data[trial_end]")
        if trial_days or trial_end:
            # The first invoice is for the one-time items only.
            total = sum(item["amount_total"] for item in items if item["price"]["type"] != "recurring")
    pi_data = as_dict(params, "payment_intent_data")
    id_ = store.new_id("cs_test_", 58)
    session = fixtures.make(
        "checkout.session",
        id=id_,
        amount_subtotal=subtotal,
        amount_total=total,
        automatic_tax=fixtures.shape("checkout.session", "automatic_tax", enabled=False),
        cancel_url=as_str(params, "cancel_url"),
        client_reference_id=as_str(params, "client_reference_id"),
        created=now,
        currency=currency,
        custom_fields=[],
        custom_text=fixtures.shape("checkout.session", "custom_text"),
        customer=customer_id,
        customer_creation=None if customer_id or mode == "subscription" else (
            as_str(params, "customer_creation", choices=("always", "if_required")) or "if_required"),
        customer_email=email,
        expires_at=expires_at,
        invoice_creation={"enabled": False, "invoice_data": fixtures.shape(
            "checkout.session", "invoice_creation.invoice_data", metadata={})} if mode == "payment" else None,
        locale=as_str(params, "locale"),
        metadata=metadata(params),
        mode=mode,
        payment_method_collection="if_required" if mode == "payment" else "always",
        payment_method_options={"card": {"request_three_d_secure": "automatic"}},
        payment_method_types=["card"],
        payment_status="no_payment_required" if mode == "setup" else "unpaid",
        phone_number_collection={"enabled": False},
        shipping_options=[],
        status="open",
        success_url=as_str(params, "success_url"),
        total_details=fixtures.shape("checkout.session", "total_details",
                                     amount_discount=0, amount_shipping=0, amount_tax=0),
        ui_mode="hosted_page",
        url=f"{req.app.public_url}/c/pay/{id_}",
        adaptive_pricing={"enabled": False},
        discounts=[],
    )
    store.add(session, {"line_items": items, "payment_intent_data": pi_data, "subscription_data": sub_data})
    if mode == "setup":
        data = as_dict(params, "setup_intent_data")
        seti = new_setup_intent(req, customer=customer_id, meta=metadata(data),
                                description=as_str(data, "description", label="setup_intent_data[description]"))
        session["setup_intent"] = seti["id"]
    return render(req, session)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "checkout.session", kind="checkout.session"))


def line_items(store, session):
    return store.private[session["id"]]["line_items"]


def list_line_items(req):
    session = req.store.require(req.args["id"], "checkout.session", kind="checkout.session")
    page = paginate(snapshot(line_items(req.store, session)), req.params,
                    f"/v1/checkout/sessions/{session['id']}/line_items")
    return render(req, page)


INCLUDES[("checkout.session", "line_items")] = lambda app, session: list_object(
    snapshot(line_items(app.store, session)), f"/v1/checkout/sessions/{session['id']}/line_items")


def expire_session(ctx, session):
    """Expire an open session (API call or sweep); cancels its unpaid intent."""
    session["status"] = "expired"
    pi = ctx.store.get(session["payment_intent"], "payment_intent")
    if pi and pi["status"] not in ("succeeded", "canceled"):
        cancel_intent(ctx, pi, "abandoned")
    ctx.emit("checkout.session.expired", session)


def expire(req):
    session = req.store.require(req.args["id"], "checkout.session", kind="checkout.session")
    if session["status"] != "open":
        raise invalid('Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
                      f'Session has a status of "{session["status"]}".', param="session")
    expire_session(req, session)
    return render(req, session)


def sweep_expired(app):
    """Expire open sessions whose `expires_at` has passed (scheduler tick)."""
    now = app.store.now()
    ctx = Background(app)
    for session in app.store.all("checkout.session", lambda s: s["status"] == "open" and s["expires_at"] <= now):
        expire_session(ctx, session)


def list_(req):
    email = as_dict(req.params, "customer_details").get("email")
    filters = [eq_filter(req, name) for name in ("payment_intent", "customer", "status", "payment_link",
                                                 "subscription")]
    if email:
        filters.append(lambda s: (s["customer_details"] or {}).get("email") == email)
    return render_list(req, "checkout.session", "/v1/checkout/sessions", filters)


# --- paying a session ----------------------------------------------------------

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
    pm = new_payment_method(req, card, exp_month, exp_year, email=email, name=name)
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


def _before_success(req, session):
    def run(pi, pm):
        facts = req.store.private[pi["id"]]
        customer = req.store.get(session["customer"], "customer")
        if customer is None:
            customer = new_customer(req, email=facts["email"], name=facts["name"])
            req.store.add(customer)
            req.emit("customer.created", customer)
            session["customer"] = customer["id"]
        pi["customer"] = customer["id"]
        attach_to(req, pm, customer)
    return run


def _complete(req, session, pi):
    facts = req.store.private[pi["id"]]
    session.update(
        status="complete",
        payment_status="paid",
        payment_intent=pi["id"],
        customer_details=fixtures.shape(
            "checkout.session", "customer_details", address=fixtures.address(), email=facts["email"],
            name=facts["name"], tax_exempt="none", tax_ids=[]),
    )
    req.emit("checkout.session.completed", session)


# --- subscription and setup modes -------------------------------------------------

def _session_customer(req, session, email, name, create=True):
    customer = req.store.get(session["customer"], "customer")
    if customer is None and create:
        customer = new_customer(req, email=email, name=name)
        req.store.add(customer)
        req.emit("customer.created", customer)
        session["customer"] = customer["id"]
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


def _customer_details(facts_email, facts_name):
    return fixtures.shape("checkout.session", "customer_details", address=fixtures.address(), email=facts_email,
                          name=facts_name, tax_exempt="none", tax_ids=[])


def _complete_subscription(req, session, sub, invoice, email, name):
    session.update(
        status="complete",
        payment_status="paid" if invoice["amount_paid"] > 0 else "no_payment_required",
        subscription=sub["id"],
        invoice=invoice["id"],
        customer=sub["customer"],
        customer_details=_customer_details(email, name),
    )
    req.emit("checkout.session.completed", session)


def _trial_end(store, session):
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
        pm = new_payment_method(req, card, exp_month, exp_year, email=email, name=name)
        sub = store.get(facts.get("subscription"), "subscription")
        if sub is None:
            items = line_items(store, session)
            entries = [(store.get(i["price"]["id"], "price"), i["quantity"], {}) for i in items
                       if i["price"]["type"] == "recurring"]
            one_time = [(store.get(i["price"]["id"], "price"), i["quantity"]) for i in items
                        if i["price"]["type"] != "recurring"]
            data = facts["subscription_data"]
            trial_end = _trial_end(store, session)
            if trial_end:
                seti = new_setup_intent(req, customer=customer["id"])
                confirm_setup(req, seti, pm, before_success=None)  # raises on a decline
                _make_default(req, customer)(seti, pm)
            sub, invoice = new_subscription(
                req, customer, entries, trial_end=trial_end, meta=metadata(data),
                description=data.get("description") or None, one_time=one_time)
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
    pm = new_payment_method(req, card, exp_month, exp_year, email=email, name=name)
    confirm_setup(req, seti, pm)  # raises on a decline; the session stays open
    session.update(status="complete", customer_details=_customer_details(email, name))
    req.emit("checkout.session.completed", session)
    return {"status": "succeeded"}


ROUTES = [
    ("POST", "/v1/checkout/sessions", create),
    ("GET", "/v1/checkout/sessions", list_),
    ("GET", "/v1/checkout/sessions/{id}", retrieve),
    ("GET", "/v1/checkout/sessions/{id}/line_items", list_line_items),
    ("POST", "/v1/checkout/sessions/{id}/expire", expire),
]
