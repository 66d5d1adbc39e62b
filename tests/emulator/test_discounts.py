"""Coupons, promotion codes and discounts through the official SDK:
redemption rules, discounted subscription invoices across renewals on a test
clock (once / repeating / forever), and prorations that include discounts."""

import pytest
import stripe

from .billing_helpers import DAY, advance, clock_customer, new_clock, period, recurring_price, subscribe
from .conftest import wait_for_webhooks

T0 = 1_800_000_000  # 2027-01-15 08:00 UTC


def _refused(call):
    with pytest.raises(stripe.InvalidRequestError) as err:
        call()
    assert err.value.http_status == 400
    return err.value


def test_coupons_and_promotion_codes(client):
    product = client.v1.products.create(params={"name": "Beans"})
    pct = client.v1.coupons.create(params={"percent_off": 25.5, "duration": "repeating", "duration_in_months": 3,
                                           "name": "Spring", "max_redemptions": 2, "id": "SPRING"})
    assert (pct.id, pct.percent_off, pct.duration_in_months, pct.valid, pct.times_redeemed) == ("SPRING", 25.5, 3,
                                                                                                True, 0)
    off = client.v1.coupons.create(params={"amount_off": 500, "currency": "EUR", "duration": "once",
                                           "applies_to": {"products": [product.id]}})
    assert off.currency == "eur" and off.applies_to.products == [product.id]
    assert client.v1.coupons.update(off.id, params={"name": "Five off", "metadata": {"k": "v"}}).name == "Five off"
    assert {c.id for c in client.v1.coupons.list().data} == {pct.id, off.id}
    err = _refused(lambda: client.v1.coupons.create(params={"percent_off": 10, "amount_off": 100, "currency": "eur"}))
    assert err.param == "percent_off"
    err = _refused(lambda: client.v1.coupons.create(params={"percent_off": 10, "duration": "repeating"}))
    assert (err.code, err.param) == ("parameter_missing", "duration_in_months")
    err = _refused(lambda: client.v1.coupons.create(params={"percent_off": 10, "duration": "sometimes"}))
    assert err.param == "duration"
    _refused(lambda: client.v1.coupons.create(params={"percent_off": 10, "id": "SPRING"}))

    promo = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": pct.id}, "code": "SPRING25", "max_redemptions": 5,
        "restrictions": {"first_time_transaction": True, "minimum_amount": 2000, "minimum_amount_currency": "eur"}})
    assert promo.promotion.coupon == pct.id and promo.active and promo.restrictions.minimum_amount == 2000
    assert client.v1.promotion_codes.list(params={"code": "spring25"}).data[0].id == promo.id
    assert client.v1.promotion_codes.list(params={"coupon": off.id}).data == []
    generated = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": off.id}})
    assert generated.code.isalnum() and len(generated.code) == 8
    err = _refused(lambda: client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": pct.id}, "code": "SPRING25"}))
    assert err.param == "code"
    # The pre-dahlia `coupon` parameter is gone.
    err = _refused(lambda: client.v1.promotion_codes.create(params={"coupon": pct.id}))
    assert err.code == "parameter_unknown"
    assert client.v1.promotion_codes.update(promo.id, params={"active": False}).active is False

    deleted = client.v1.coupons.delete(off.id)
    assert deleted.deleted is True and client.v1.coupons.retrieve(off.id).deleted is True


def _customer_on_clock(client, clock):
    return clock_customer(client, clock)


def _line(invoice):
    [line] = invoice.lines.data
    return line


def test_repeating_coupon_across_renewals(client, emulator, receiver, endpoint):
    clock = new_clock(client, T0)
    customer = _customer_on_clock(client, clock)
    price = recurring_price(client, 2000)
    coupon = client.v1.coupons.create(params={"percent_off": 25, "duration": "repeating", "duration_in_months": 2})
    promo = client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id},
                                                     "code": "TWOMONTHS"})
    sub = subscribe(client, customer, price, discounts=[{"promotion_code": promo.id}])
    [discount_id] = sub.discounts
    discount = client.v1.subscriptions.retrieve(sub.id, params={"expand": ["discounts"]}).discounts[0]
    assert (discount.id, discount.subscription, discount.promotion_code, discount.source.coupon) == (
        discount_id, sub.id, promo.id, coupon.id)
    assert discount.start == T0 and discount.end == T0 + 59 * DAY  # 2027-01-15 + 2 months = 2027-03-15
    first = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (first.subtotal, first.total, first.amount_paid, first.discounts) == (2000, 1500, 1500, [discount_id])
    assert [(t.amount, t.discount) for t in first.total_discount_amounts] == [(500, discount_id)]
    line = _line(first)
    assert (line.amount, [(d.amount, d.discount) for d in line.discount_amounts]) == (2000, [(500, discount_id)])
    assert [(p.amount, p.type, p.discount) for p in first.total_pretax_credit_amounts] == [(500, "discount",
                                                                                           discount_id)]
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1

    renew_1 = period(sub)[1]
    advance(client, clock, renew_1 + 60)
    second = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (second.billing_reason, second.total, second.amount_paid) == ("subscription_cycle", 1500, 1500)
    advance(client, clock, T0 + 59 * DAY + 60)  # the second renewal falls on the discount's end
    sub = client.v1.subscriptions.retrieve(sub.id)
    third = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (third.total, third.discounts, third.total_discount_amounts) == (2000, [], [])
    assert sub.discounts == []
    wait_for_webhooks(emulator)
    types = receiver.types()
    assert types.count("customer.discount.created") == 1 and types.count("customer.discount.deleted") == 1


def test_once_amount_off_and_forever_percent(client):
    clock = new_clock(client, T0)
    price = recurring_price(client, 2000)
    once = client.v1.coupons.create(params={"amount_off": 500, "currency": "eur", "duration": "once"})
    sub = subscribe(client, _customer_on_clock(client, clock), price, discounts=[{"coupon": once.id}])
    assert client.v1.invoices.retrieve(sub.latest_invoice).total == 1500
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []  # used up by the first invoice
    forever = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    other = subscribe(client, _customer_on_clock(client, clock), price, discounts=[{"coupon": forever.id}])
    advance(client, clock, period(sub)[1] + 60)
    assert client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice).total == 2000
    renewed = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(other.id).latest_invoice)
    assert (renewed.billing_reason, renewed.total) == ("subscription_cycle", 1800)
    # A coupon in another currency cannot apply.
    usd = client.v1.coupons.create(params={"amount_off": 100, "currency": "usd"})
    err = _refused(lambda: subscribe(client, _customer_on_clock(client, clock), price,
                                     discounts=[{"coupon": usd.id}]))
    assert err.param == "discounts[0][coupon]"


def test_promotion_code_restrictions(client):
    clock = new_clock(client, T0)
    price = recurring_price(client, 1000)
    coupon = client.v1.coupons.create(params={"percent_off": 50, "max_redemptions": 1})
    big = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": coupon.id}, "code": "BIGONLY",
        "restrictions": {"minimum_amount": 5000, "minimum_amount_currency": "eur"}})
    err = _refused(lambda: subscribe(client, _customer_on_clock(client, clock), price,
                                     discounts=[{"promotion_code": big.id}]))
    assert err.param == "discounts[0][promotion_code]" and "minimum" in err.user_message
    returning = _customer_on_clock(client, clock)
    subscribe(client, returning, price)  # pays once
    first_time = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": coupon.id}, "code": "WELCOME",
        "restrictions": {"first_time_transaction": True}})
    err = _refused(lambda: subscribe(client, returning, price, discounts=[{"promotion_code": first_time.id}]))
    assert "first-time" in err.user_message
    subscribe(client, _customer_on_clock(client, clock), price, discounts=[{"promotion_code": first_time.id}])
    coupon = client.v1.coupons.retrieve(coupon.id)
    assert (coupon.times_redeemed, coupon.valid) == (1, False)  # max_redemptions reached
    err = _refused(lambda: subscribe(client, _customer_on_clock(client, clock), price,
                                     discounts=[{"coupon": coupon.id}]))
    assert err.param == "discounts[0][coupon]"


def test_prorations_include_discounts(client):
    clock = new_clock(client, T0)
    customer = _customer_on_clock(client, clock)
    basic, pro = recurring_price(client, 1000), recurring_price(client, 2000, name="Pro")
    coupon = client.v1.coupons.create(params={"percent_off": 20, "duration": "forever"})
    sub = subscribe(client, customer, basic, discounts=[{"coupon": coupon.id}])
    [discount_id] = sub.discounts
    start, end = period(sub)
    assert client.v1.invoices.retrieve(sub.latest_invoice).total == 800
    half = start + (end - start) // 2
    item = sub["items"].data[0]
    preview = client.v1.invoices.create_preview(params={"subscription": sub.id, "subscription_details": {
        "items": [{"id": item.id, "price": pro.id}], "proration_date": half, "proration_behavior": "always_invoice"}})
    updated = client.v1.subscriptions.update(sub.id, params={
        "items": [{"id": item.id, "price": pro.id}], "proration_date": half, "proration_behavior": "always_invoice"})
    invoice = client.v1.invoices.retrieve(updated.latest_invoice)
    # Credit for what was paid (800) and charge net of the discount (1600), half a period each;
    # the discount is included in the amounts: named, with amount 0.
    assert [line.amount for line in invoice.lines.data] == [-400, 800]
    for line in invoice.lines.data:
        assert line.discounts == [discount_id] and [(d.amount, d.discount) for d in line.discount_amounts] == [
            (0, discount_id)]
        assert line.parent.subscription_item_details.proration is True
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (400, 400, 400)
    assert [line.amount for line in preview.lines.data] == [-400, 800] and preview.total == 400
    # The next renewal is discounted as usual.
    advance(client, clock, end + 60)
    renewal = client.v1.invoices.retrieve(client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert (renewal.subtotal, renewal.total) == (2000, 1600)


def test_subscription_discounts_update_and_delete(client, emulator, receiver, endpoint):
    clock = new_clock(client, T0)
    price = recurring_price(client, 1000)
    sub = subscribe(client, _customer_on_clock(client, clock), price)
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    updated = client.v1.subscriptions.update(sub.id, params={"discounts": [{"coupon": coupon.id}]})
    [discount_id] = updated.discounts
    kept = client.v1.subscriptions.update(sub.id, params={"discounts": [{"discount": discount_id}]})
    assert kept.discounts == [discount_id]
    removed = client.v1.subscriptions.delete_discount(sub.id)
    assert removed.deleted is True and removed.id == discount_id
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    client.v1.subscriptions.update(sub.id, params={"discounts": [{"coupon": coupon.id}]})
    assert client.v1.subscriptions.update(sub.id, params={"discounts": ""}).discounts == []
    wait_for_webhooks(emulator)
    assert receiver.types().count("customer.discount.deleted") == 2
