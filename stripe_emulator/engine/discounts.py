"""Discounts: coupons and promotion codes redeemed into Discount objects on a
subscription, an invoice, an invoice item or a Checkout Session, and the
amounts they take off each line, as Stripe computes them.

- A coupon is `percent_off` (of each line it applies to, rounded half up to
  the minor unit) or `amount_off` in its currency (spread over the lines in
  proportion to their amounts, the remainder to the largest ones, never more
  than they are worth); `applies_to.products` limits the lines.
- `duration`: `forever`; `once` (the first invoice after the discount starts,
  then the discount ends); `repeating` (`duration_in_months`: the discount's
  `end`; invoices created before it).
- Several discounts apply in order, each to what the previous ones left.
- A promotion code redeems its coupon under its restrictions: active, not
  expired, redemptions left, its customer, first-time transaction, minimum
  amount in a currency.
"""

from decimal import ROUND_HALF_UP, Decimal

from .. import fixtures
from ..wire import invalid
from .periods import add_interval

# --- coupons and promotion codes -------------------------------------------------------

def coupon_problem(store, coupon, currency=None):
    """Why `coupon` cannot be redeemed now (a message), or None."""
    now = store.now()
    if coupon is None:
        return "This coupon does not exist."
    if not coupon["valid"] or (coupon["redeem_by"] and coupon["redeem_by"] <= now):
        return f"Coupon expired: {coupon['id']}"
    if coupon["max_redemptions"] and coupon["times_redeemed"] >= coupon["max_redemptions"]:
        return f"Coupon {coupon['id']} has been redeemed the maximum number of times."
    if coupon["amount_off"] is not None and currency and coupon["currency"] != currency:
        return (f"The coupon {coupon['id']} is in {coupon['currency'].upper()} and cannot apply to an amount in "
                f"{currency.upper()}.")
    return None


def promotion_code_problem(store, promo, customer_id=None, currency=None, amount=None):
    """Why `promo` cannot be redeemed by `customer_id` for `amount` in
    `currency` (a message a customer may read), or None."""
    now = store.now()
    if promo is None or not promo["active"]:
        return "This code is invalid."
    if promo["expires_at"] and promo["expires_at"] <= now:
        return "This code has expired."
    if promo["max_redemptions"] and promo["times_redeemed"] >= promo["max_redemptions"]:
        return "This code has been redeemed the maximum number of times."
    if promo["customer"] and promo["customer"] != customer_id:
        return "This code is not valid for this customer."
    restrictions = promo["restrictions"]
    if restrictions["first_time_transaction"] and customer_id and has_paid_before(store, customer_id):
        return "This code is only valid for first-time customers."
    minimum = restrictions["minimum_amount"]
    if minimum is not None and amount is not None:
        if currency and restrictions["minimum_amount_currency"] and currency != restrictions["minimum_amount_currency"]:
            return "This code is not valid in this currency."
        if amount < minimum:
            return f"This code requires a minimum order of {minimum} ({restrictions['minimum_amount_currency']})."
    coupon = store.get(promo["promotion"]["coupon"], "coupon")
    problem = coupon_problem(store, coupon, currency)
    return "This code is invalid." if problem else None


def has_paid_before(store, customer_id):
    return bool(store.all("charge", lambda c: c["customer"] == customer_id and c["status"] == "succeeded")
                or store.all("invoice", lambda i: i["customer"] == customer_id and i["status"] == "paid"
                             and i["amount_paid"] > 0))


def promotion_code_by_code(store, code):
    code = (code or "").strip()
    found = store.all("promotion_code", lambda p: p["code"].lower() == code.lower() and p["active"]) if code else []
    return found[0] if found else None


def requested(req, raw_items, label, *, customer_id=None, currency=None, amount=None, allow_discount=False):
    """Parse a `discounts` parameter ([{coupon} | {promotion_code} | {discount}])
    into [(coupon, promotion code or None, existing discount or None)], each
    checked; raises Stripe's 400 errors with `param`."""
    store = req.store
    if raw_items in ("", None):
        return []
    chosen = []
    for i, raw in enumerate(raw_items):
        where = f"{label}[{i}]"
        keys = [k for k in ("coupon", "promotion_code", "discount") if raw.get(k)]
        if len(keys) != 1:
            raise invalid(f"You must pass exactly one of coupon, promotion_code or discount in {where}.", param=where)
        key = keys[0]
        if key == "discount":
            discount = store.get(raw["discount"], "discount") if allow_discount else None
            if discount is None:
                raise invalid(f"No such discount: '{raw['discount']}'", param=f"{where}[discount]",
                              code="resource_missing")
            chosen.append((store.get(discount["source"]["coupon"], "coupon"), None, discount))
            continue
        if key == "coupon":
            coupon = store.require(raw["coupon"], "coupon", param=f"{where}[coupon]")
            problem = coupon_problem(store, coupon, currency)
            if problem:
                raise invalid(problem, param=f"{where}[coupon]")
            chosen.append((coupon, None, None))
        else:
            promo = store.require(raw["promotion_code"], "promotion_code", param=f"{where}[promotion_code]",
                                  kind="promotion code")
            problem = promotion_code_problem(store, promo, customer_id, currency, amount)
            if problem:
                raise invalid(problem, param=f"{where}[promotion_code]")
            chosen.append((store.get(promo["promotion"]["coupon"], "coupon"), promo, None))
    coupons = [c["id"] for c, _, _ in chosen]
    if len(set(coupons)) != len(coupons):
        raise invalid("The same coupon cannot be applied twice.", param=label)
    return chosen


# --- discount objects ---------------------------------------------------------------

def new_discount(ctx, coupon, promo=None, *, customer=None, subscription=None, invoice=None, invoice_item=None,
                 checkout_session=None):
    """A Discount object redeeming `coupon` (through `promo`), stored. Its
    redemption counts when `redeem` is called (Checkout: at completion)."""
    store = ctx.store
    now = store.now()
    end = None
    if coupon["duration"] == "repeating":
        end = add_interval(now, "month", coupon["duration_in_months"] or 1)
    discount = fixtures.make(
        "discount", id=store.new_id("di_"), checkout_session=checkout_session, customer=customer,
        end=end, invoice=invoice, invoice_item=invoice_item, promotion_code=promo["id"] if promo else None,
        source={"coupon": coupon["id"], "type": "coupon"}, start=now, subscription=subscription)
    store.add(discount)
    return discount


def redeem(ctx, discount):
    """Count the redemption of the discount's coupon and promotion code."""
    store = ctx.store
    coupon = coupon_of(store, discount)
    if coupon is not None:
        coupon["times_redeemed"] += 1
        if coupon["max_redemptions"] and coupon["times_redeemed"] >= coupon["max_redemptions"]:
            coupon["valid"] = False
    promo = store.get(discount["promotion_code"], "promotion_code")
    if promo is not None:
        promo["times_redeemed"] += 1
        if promo["max_redemptions"] and promo["times_redeemed"] >= promo["max_redemptions"]:
            promo["active"] = False


def attach(ctx, sub, chosen):
    """Redeem `chosen` ([(coupon, promotion code, existing discount)], from
    `requested`) onto subscription `sub`, replacing its discounts; emits
    customer.discount.created / .deleted. The caller emits the subscription's update."""
    kept = [existing["id"] for _, _, existing in chosen if existing is not None]
    for discount_id in list(sub["discounts"]):
        if discount_id not in kept:
            detach(ctx, sub, discount_id)
    for coupon, promo, existing in chosen:
        if existing is not None:
            continue
        discount = new_discount(ctx, coupon, promo, customer=sub["customer"], subscription=sub["id"])
        redeem(ctx, discount)
        sub["discounts"].append(discount["id"])
        ctx.emit("customer.discount.created", discount)


def detach(ctx, sub, discount_id):
    """Take a discount off its subscription (it ended, or was removed)."""
    if discount_id in sub["discounts"]:
        sub["discounts"].remove(discount_id)
    discount = ctx.store.get(discount_id, "discount")
    if discount is not None:
        ctx.emit("customer.discount.deleted", discount)
    return discount


def after_invoice(ctx, sub, applied):
    """A subscription invoice was made: a `once` discount is used up, and a
    `repeating` one past its end is over; both leave the subscription."""
    now = ctx.store.now()
    for discount in applied:
        coupon = coupon_of(ctx.store, discount)
        if coupon is not None and coupon["duration"] == "once":
            detach(ctx, sub, discount["id"])
    for discount_id in list(sub["discounts"]):
        discount = ctx.store.get(discount_id, "discount")
        if discount is not None and discount["end"] is not None and discount["end"] <= now:
            detach(ctx, sub, discount_id)


def live(store, discount_ids, at):
    """The discounts among `discount_ids` that still apply at `at`."""
    found = []
    for discount_id in discount_ids or []:
        discount = store.get(discount_id, "discount")
        if discount is not None and (discount["end"] is None or discount["end"] > at):
            found.append(discount)
    return found


def coupon_of(store, discount):
    """The discount's coupon, even if the coupon was deleted since."""
    coupon_id = discount["source"]["coupon"]
    return store.get(coupon_id, "coupon") or store.private.get("deleted_coupons", {}).get(coupon_id)


# --- amounts ----------------------------------------------------------------------------

def _half_up(value):
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(store, lines, discounts):
    """What each discount takes off each line: a list (per line) of
    [(discount id, amount)]. `lines` are dicts with `amount`, `discountable`,
    `product` and `currency`; discounts apply in order to what is left."""
    left = [line["amount"] if line["discountable"] and line["amount"] > 0 else 0 for line in lines]
    taken = [[] for _ in lines]
    for discount in discounts:
        coupon = coupon_of(store, discount)
        if coupon is None:
            continue
        products = ((coupon.get("applies_to") or {}).get("products")) or None
        eligible = [i for i, line in enumerate(lines)
                    if left[i] > 0 and (products is None or line.get("product") in products)]
        if coupon["percent_off"] is not None:
            share = Decimal(str(coupon["percent_off"])) / 100
            amounts = {i: min(left[i], _half_up(left[i] * share)) for i in eligible}
        else:
            currency = lines[eligible[0]]["currency"] if eligible else None
            amount_off = coupon["amount_off"] if coupon["currency"] == currency else 0
            amounts = spread(min(amount_off, sum(left[i] for i in eligible)), {i: left[i] for i in eligible})
        for i, amount in amounts.items():
            if amount:
                left[i] -= amount
                taken[i].append((discount["id"], amount))
    return taken


def spread(total, weights):
    """Split `total` in proportion to `weights` (index -> amount), whole
    units, the remainder to the largest fractions: the parts sum to `total`."""
    whole = sum(weights.values())
    if not whole or not total:
        return {i: 0 for i in weights}
    exact = {i: Decimal(total) * w / whole for i, w in weights.items()}
    parts = {i: int(v) for i, v in exact.items()}
    rest = total - sum(parts.values())
    for i in sorted(exact, key=lambda i: (exact[i] - parts[i], weights[i]), reverse=True)[:rest]:
        parts[i] += 1
    return parts


def full_period_discount(store, discounts, amounts):
    """What `discounts` take off a full period of items worth `amounts`
    (index -> amount, all discountable): index -> amount. Prorations use it
    (flexible billing mode includes discounts in proration amounts)."""
    lines = [{"amount": amount, "discountable": True, "product": product, "currency": currency}
             for amount, product, currency in amounts]
    return [sum(a for _, a in taken) for taken in allocate(store, lines, discounts)]
