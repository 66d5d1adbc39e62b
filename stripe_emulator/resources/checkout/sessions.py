"""Checkout Sessions through the API: create (payment, subscription and
setup modes; discounts or promotion codes; address and tax ID collection),
retrieve, list, line items, expire, and the sweep that expires them."""

from ... import fixtures
from ...engine import discounts
from ...wire import as_bool, as_dict, as_int, as_list, as_str, invalid, list_object, metadata, missing, paginate
from ..catalog import new_price
from ..common import INCLUDES, Background, eq_filter, render, render_list, snapshot
from ..payment_intents import cancel_intent
from ..setup_intents import new_setup_intent
from . import details
from .details import line_items

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
    trial = False
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
        trial = bool(trial_days or trial_end)
        if trial:
            # The first invoice is for the one-time items only.
            total = sum(item["amount_total"] for item in items if item["price"]["type"] != "recurring")
    pi_data = as_dict(params, "payment_intent_data")
    collection = _collection(req, params, mode, customer_id)
    chosen = _discounts(req, params, mode, customer_id, currency, subtotal)
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
        allow_promotion_codes=as_bool(params, "allow_promotion_codes"),
        billing_address_collection=collection["billing_address_collection"],
        tax_id_collection=collection["tax_id_collection"],
        extra_ok=("tax_id_collection",),
    )
    store.add(session, {"line_items": items, "payment_intent_data": pi_data, "subscription_data": sub_data,
                        "trial": trial,
                        "customer_update": collection["customer_update"]})
    if mode != "setup":
        details.set_discounts(req, session, chosen)
    if mode == "setup":
        data = as_dict(params, "setup_intent_data")
        seti = new_setup_intent(req, customer=customer_id, meta=metadata(data),
                                description=as_str(data, "description", label="setup_intent_data[description]"))
        session["setup_intent"] = seti["id"]
    return render(req, session)


def _collection(req, params, mode, customer_id):
    """billing_address_collection, tax_id_collection and customer_update."""
    update = as_dict(params, "customer_update")
    if update and not customer_id:
        raise invalid("customer_update can only be used with customer.", param="customer_update")
    raw = as_dict(params, "tax_id_collection")
    enabled = as_bool(raw, "enabled", False)
    if enabled and customer_id and update.get("name") != "auto":
        raise invalid("When `customer` is set and `tax_id_collection[enabled]=true`, `customer_update[name]` must "
                      "be `auto`.", param="customer_update[name]")
    return {
        "billing_address_collection": as_str(params, "billing_address_collection"),
        "tax_id_collection": {"enabled": enabled, "required": (as_str(raw, "required") or "never") if enabled
                              else "never"},
        "customer_update": dict(update),
    }


def _discounts(req, params, mode, customer_id, currency, subtotal):
    raw = params.get("discounts")
    if raw in (None, "", []):
        return []
    if as_bool(params, "allow_promotion_codes"):
        raise invalid("You may only specify one of these parameters: allow_promotion_codes, discounts.",
                      param="discounts")
    if mode == "setup":
        raise invalid("You cannot pass `discounts` in `setup` mode.", param="discounts")
    if len(raw) > 1:
        raise invalid("You may only specify one discount.", param="discounts")
    return discounts.requested(req, raw, "discounts", customer_id=customer_id, currency=currency, amount=subtotal)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "checkout.session", kind="checkout.session"))


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


ROUTES = [
    ("POST", "/v1/checkout/sessions", create),
    ("GET", "/v1/checkout/sessions", list_),
    ("GET", "/v1/checkout/sessions/{id}", retrieve),
    ("GET", "/v1/checkout/sessions/{id}/line_items", list_line_items),
    ("POST", "/v1/checkout/sessions/{id}/expire", expire),
]
