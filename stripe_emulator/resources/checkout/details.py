"""What a Checkout Session collects besides the card, as Stripe's hosted page
does: a promotion code (`allow_promotion_codes`) or the session's
`discounts`, with the totals they make; the billing address
(`billing_address_collection`: `required` asks for a full address, `auto`
only for the country); tax IDs (`tax_id_collection`), saved on the customer
as tax_id objects with the business name."""

from ... import fixtures
from ...engine import discounts
from ...wire import StripeError, invalid
from ..common import previous_attributes, snapshot
from ..tax_ids import BY_COUNTRY, infer, new_tax_id

ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def line_items(store, session):
    return store.private[session["id"]]["line_items"]


# --- discounts -----------------------------------------------------------------------

def subtotal(store, session):
    return sum(item["amount_subtotal"] for item in line_items(store, session))


def set_discounts(ctx, session, chosen):
    """Apply `chosen` ([(coupon, promotion code, None)]) to the session: a
    Discount object each (redeemed when the session completes), the totals."""
    store = ctx.store
    facts = store.private[session["id"]]
    facts["discounts"] = [discounts.new_discount(ctx, coupon, promo, customer=session["customer"],
                                                 checkout_session=session["id"])["id"]
                          for coupon, promo, _ in chosen]
    session["discounts"] = [{"coupon": None if promo else coupon["id"], "promotion_code": promo["id"] if promo
                             else None} for coupon, promo, _ in chosen]
    totals(store, session)


def session_discounts(store, session):
    return [d for d in (store.get(i, "discount") for i in store.private[session["id"]].get("discounts", []))
            if d is not None]


def chosen(store, session):
    """The session's discounts as `engine.discounts.requested` gives them (for
    the subscription a subscription-mode session creates)."""
    return [(discounts.coupon_of(store, d), store.get(d["promotion_code"], "promotion_code"), None)
            for d in session_discounts(store, session)]


def totals(store, session):
    """Each line item's discount and total, and the session's: what the
    customer pays today (with a trial, only the one-time items)."""
    items = line_items(store, session)
    applied = session_discounts(store, session)
    lines = [{"amount": item["amount_subtotal"], "discountable": True, "product": item["price"]["product"],
              "currency": item["currency"]} for item in items]
    taken = discounts.allocate(store, lines, applied)
    for item, off in zip(items, taken, strict=True):
        amount = sum(a for _, a in off)
        item.update(amount_discount=amount, amount_total=item["amount_subtotal"] - amount)
        if applied:
            item["discounts"] = [{"amount": a, "discount": snapshot(store.get(d, "discount"))} for d, a in off]
        else:
            item.pop("discounts", None)
    if session["mode"] == "setup":
        return
    trial = store.private[session["id"]].get("trial")
    charged = [item for item in items if not (trial and item["price"]["type"] == "recurring")]
    session["amount_subtotal"] = sum(item["amount_subtotal"] for item in items)
    session["amount_total"] = sum(item["amount_total"] for item in charged)
    session["total_details"]["amount_discount"] = sum(item["amount_discount"] for item in charged)


def apply_code(ctx, session, code):
    """The customer typed a promotion code on the page. Raises a 400 error
    whose message the page shows."""
    store = ctx.store
    if not session["allow_promotion_codes"]:
        raise invalid("This session does not take promotion codes.", param="promotion_code")
    if store.private[session["id"]].get("subscription"):
        raise invalid("A payment was already attempted; the code can no longer change.", param="promotion_code")
    promo = discounts.promotion_code_by_code(store, code)
    problem = discounts.promotion_code_problem(store, promo, session["customer"], session["currency"],
                                               subtotal(store, session))
    if problem:
        raise invalid(problem, param="promotion_code")
    set_discounts(ctx, session, [(store.get(promo["promotion"]["coupon"], "coupon"), promo, None)])
    _sync_intent(store, session)


def remove_code(ctx, session):
    if not session["allow_promotion_codes"] or ctx.store.private[session["id"]].get("subscription"):
        raise invalid("The code can no longer change.", param="promotion_code")
    set_discounts(ctx, session, [])
    _sync_intent(ctx.store, session)


def _sync_intent(store, session):
    # A payment intent left by a declined attempt now owes the new total.
    pi = store.get(session["payment_intent"], "payment_intent")
    if pi is not None and pi["status"] not in ("succeeded", "canceled"):
        pi["amount"] = session["amount_total"]


def redeem(ctx, session):
    """The session completed (payment mode): its discounts count as redeemed."""
    for discount in session_discounts(ctx.store, session):
        if discount["customer"] is None:
            discount["customer"] = session["customer"]
        discounts.redeem(ctx, discount)


# --- address and tax IDs ---------------------------------------------------------------

def collects_address(session):
    return session["billing_address_collection"] == "required"


def tax_ids_enabled(session):
    # (.get: a session kept in a state file from before has no tax_id_collection)
    return bool((session.get("tax_id_collection") or {}).get("enabled"))


def read(session, form):
    """Billing address, business name and tax IDs from the page (or the
    control route). Returns {"address": ..., "business_name", "tax_ids": [...]};
    raises a 400 error naming the field."""
    address = {name: (form.get(name) or "").strip() or None for name in ADDRESS_FIELDS}
    given = form.get("address")
    if isinstance(given, dict):
        address.update({name: (given.get(name) or "").strip() or None for name in ADDRESS_FIELDS if name in given})
    if address["country"]:
        address["country"] = address["country"].upper()
        if len(address["country"]) != 2 or not address["country"].isalpha():
            raise _field("Your country is invalid: give its two-letter code.", "country")
    if collects_address(session):
        for name, label in (("line1", "address line"), ("postal_code", "postal code"), ("city", "city"),
                            ("country", "country")):
            if not address[name]:
                raise _field(f"Your {label} is incomplete.", name)
    result = {"address": fixtures.address(**address) if any(address.values()) else None,
              "business_name": None, "tax_ids": []}
    if tax_ids_enabled(session):
        value = (form.get("tax_id") or "").strip()
        business = (form.get("business_name") or "").strip() or None
        required = session["tax_id_collection"]["required"] == "if_supported" and \
            address["country"] in BY_COUNTRY
        if not value and required:
            raise _field("Your tax ID is required.", "tax_id")
        if value:
            if not business:
                raise _field("Your business name is required with a tax ID.", "business_name")
            type_, country = infer(value, address["country"])
            result["tax_ids"] = [{"type": type_, "value": "".join(value.split()).upper(), "country": country}]
        result["business_name"] = business
    return result


def _field(message, param):
    return StripeError(400, "invalid_request_error", message, param=param)


def customer_details(session, email, name, details):
    details = details or {"address": None, "business_name": None, "tax_ids": []}
    return fixtures.shape(
        "checkout.session", "customer_details", address=details["address"] or fixtures.address(), email=email,
        name=name, tax_exempt="none", business_name=details["business_name"],
        tax_ids=[{"type": t["type"], "value": t["value"]} for t in details["tax_ids"]])


def prefill(customer, details):
    """A customer Checkout creates starts with the collected address and business name."""
    if details and details["address"]:
        customer["address"] = details["address"]
    if details and details["business_name"]:
        customer["name"] = details["business_name"]


def save_on_customer(ctx, session, customer, details, created):
    """Keep the collected tax IDs on the customer, and on an existing customer
    the address and business name when the session says
    `customer_update[address|name]=auto` (a new one has them from `prefill`)."""
    if not details:
        return
    update = ctx.store.private[session["id"]].get("customer_update") or {}
    if not created:
        before = snapshot(customer)
        if details["address"] and update.get("address") == "auto":
            customer["address"] = details["address"]
        if details["business_name"] and update.get("name") == "auto":
            customer["name"] = details["business_name"]
        if customer != before:
            ctx.emit("customer.updated", customer, previous_attributes(before, customer))
    if details["tax_ids"] and (created or update.get("name") == "auto"):
        for tax in details["tax_ids"]:
            new_tax_id(ctx, customer, tax["type"], tax["value"], tax["country"])
