"""What Checkout collects besides the card, through the SDK and the hosted
page: promotion codes (allow_promotion_codes: the page's code field) and
session discounts, the billing address (billing_address_collection) and tax
IDs (tax_id_collection), stored on the session and the customer as Stripe does."""

import urllib.parse

import pytest
import stripe

from .billing_helpers import recurring_price
from .conftest import control, new_session, raw, wait_for_webhooks


def _page(emulator, session, path="", form=None):
    url = urllib.parse.urlsplit(session.url).path + path
    return raw(emulator, "POST" if form is not None else "GET", url, form)


def _pay(emulator, session, **fields):
    form = {"email": "buyer@example.com", "number": "4242424242424242", "exp": "12 / 34", "cvc": "123",
            "name": "Ada Buyer"}
    form.update(fields)
    return _page(emulator, session, form=form)


def test_promotion_code_on_the_hosted_page(client, emulator, receiver, endpoint):
    coupon = client.v1.coupons.create(params={"percent_off": 20, "name": "Twenty"})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SAVE20"})
    small = client.v1.promotion_codes.create(params={
        "promotion": {"type": "coupon", "coupon": coupon.id}, "code": "BIGBASKET",
        "restrictions": {"minimum_amount": 10000, "minimum_amount_currency": "usd"}})
    session = new_session(client, allow_promotion_codes=True)  # 2 × $12.50
    assert session.allow_promotion_codes is True and session.amount_total == 2500
    status, _, page = _page(emulator, session)
    assert status == 200 and 'id="promotion_code"' in page and 'id="apply-code"' in page

    status, _, page = _page(emulator, session, "/promotion_code", {"promotion_code": "NOPE", "email": "a@b.example"})
    assert status == 400 and "This code is invalid." in page and 'value="a@b.example"' in page
    status, _, page = _page(emulator, session, "/promotion_code", {"promotion_code": small.code})
    assert status == 400 and "minimum" in page
    status, _, page = _page(emulator, session, "/promotion_code", {"promotion_code": "save20"})
    assert status == 200 and "Code applied." in page and "Discount (SAVE20)" in page and "$20.00" in page

    current = client.v1.checkout.sessions.retrieve(session.id)
    assert (current.amount_subtotal, current.amount_total, current.total_details.amount_discount) == (2500, 2000, 500)
    [applied] = current.discounts
    assert applied.coupon is None and applied.promotion_code.startswith("promo_")
    [item] = client.v1.checkout.sessions.line_items.list(session.id).data
    assert (item.amount_subtotal, item.amount_discount, item.amount_total) == (2500, 500, 2000)
    assert item.discounts[0].amount == 500 and item.discounts[0].discount.source.coupon == coupon.id
    assert item.discounts[0].discount.checkout_session == session.id

    assert _pay(emulator, session)[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert done.payment_status == "paid" and done.payment_intent.amount_received == 2000
    assert client.v1.promotion_codes.retrieve(applied.promotion_code).times_redeemed == 1
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == 1
    wait_for_webhooks(emulator)
    completed = next(e for e in receiver.events() if e["type"] == "checkout.session.completed")
    assert completed["data"]["object"]["total_details"]["amount_discount"] == 500


def test_removing_a_code_and_sessions_without_codes(client, emulator):
    coupon = client.v1.coupons.create(params={"amount_off": 700, "currency": "usd"})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "SEVEN"})
    session = new_session(client, allow_promotion_codes=True)
    _page(emulator, session, "/promotion_code", {"promotion_code": "SEVEN"})
    assert client.v1.checkout.sessions.retrieve(session.id).amount_total == 1800
    status, _, page = _page(emulator, session, "/promotion_code", {"remove": "1"})
    assert status == 200 and "The code was removed." in page
    assert client.v1.checkout.sessions.retrieve(session.id).amount_total == 2500
    plain = new_session(client)
    assert 'id="promotion_code"' not in _page(emulator, plain)[2]
    assert _page(emulator, plain, "/promotion_code", {"promotion_code": "SEVEN"})[0] == 400


def test_session_discounts_parameter(client, emulator):
    coupon = client.v1.coupons.create(params={"amount_off": 300, "currency": "usd"})
    session = new_session(client, discounts=[{"coupon": coupon.id}])
    assert session.amount_total == 2200 and session.discounts[0].coupon == coupon.id
    assert session.allow_promotion_codes is None
    assert "Discount (" in _page(emulator, session)[2]
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_session(client, discounts=[{"coupon": coupon.id}], allow_promotion_codes=True)
    assert err.value.param == "discounts"
    other = client.v1.coupons.create(params={"percent_off": 5})
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_session(client, discounts=[{"coupon": coupon.id}, {"coupon": other.id}])
    assert err.value.param == "discounts"


def test_subscription_checkout_with_a_promotion_code(client, emulator):
    price = recurring_price(client, 3000)
    coupon = client.v1.coupons.create(params={"percent_off": 50, "duration": "repeating", "duration_in_months": 3})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "HALF"})
    session = new_session(client, mode="subscription", line_items=[{"price": price.id, "quantity": 1}],
                          allow_promotion_codes=True)
    _page(emulator, session, "/promotion_code", {"promotion_code": "HALF"})
    assert client.v1.checkout.sessions.retrieve(session.id).amount_total == 1500
    assert _pay(emulator, session)[0] == 303
    done = client.v1.checkout.sessions.retrieve(session.id)
    sub = client.v1.subscriptions.retrieve(done.subscription, params={"expand": ["discounts"]})
    [discount] = sub.discounts
    assert discount.source.coupon == coupon.id and discount.checkout_session == session.id
    invoice = client.v1.invoices.retrieve(done.invoice)
    assert (invoice.total, invoice.amount_paid, invoice.discounts) == (1500, 1500, [discount.id])


def test_billing_address_and_tax_id_collection(client, emulator, receiver, endpoint):
    session = new_session(client, billing_address_collection="required",
                          tax_id_collection={"enabled": True})
    assert session.billing_address_collection == "required"
    assert (session.tax_id_collection.enabled, session.tax_id_collection.required) == (True, "never")
    page = _page(emulator, session)[2]
    for field in ("line1", "postal_code", "city", "country", "business_name", "tax_id"):
        assert f'id="{field}"' in page, field
    status, _, page = _pay(emulator, session, line1="", city="Berlin", postal_code="10115", country="DE")
    assert status == 400 and "address line" in page
    status, _, page = _pay(emulator, session, line1="Unter den Linden 1", city="Berlin", postal_code="10115",
                           country="de", tax_id="DE 123 456 789")
    assert status == 400 and "business name" in page
    status, _, _ = _pay(emulator, session, line1="Unter den Linden 1", city="Berlin", postal_code="10115",
                        country="de", tax_id="DE 123 456 789", business_name="Ada GmbH")
    assert status == 303
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["customer.tax_ids",
                                                                               "payment_intent.payment_method"]})
    details = done.customer_details
    assert (details.address.line1, details.address.city, details.address.postal_code, details.address.country) == (
        "Unter den Linden 1", "Berlin", "10115", "DE")
    assert details.business_name == "Ada GmbH"
    assert [(t.type, t.value) for t in details.tax_ids] == [("eu_vat", "DE123456789")]
    customer = done.customer
    assert customer.address.country == "DE" and customer.name == "Ada GmbH"
    [tax_id] = customer.tax_ids.data
    assert (tax_id.type, tax_id.value, tax_id.country, tax_id.verification.status) == ("eu_vat", "DE123456789",
                                                                                        "DE", "pending")
    assert done.payment_intent.payment_method.billing_details.address.city == "Berlin"
    assert [t.id for t in client.v1.customers.tax_ids.list(customer.id).data] == [tax_id.id]
    wait_for_webhooks(emulator)
    assert "customer.tax_id.created" in receiver.types()


def test_existing_customer_is_updated_only_when_asked(client, emulator):
    customer = client.v1.customers.create(params={"email": "old@example.com", "name": "Old name",
                                                  "address": {"country": "FR", "city": "Lyon"}})
    kept = new_session(client, customer=customer.id, billing_address_collection="required")
    _pay(emulator, kept, line1="1 Rue", city="Paris", postal_code="75001", country="FR")
    assert client.v1.customers.retrieve(customer.id).address.city == "Lyon"
    assert client.v1.checkout.sessions.retrieve(kept.id).customer_details.address.city == "Paris"
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_session(client, customer=customer.id, tax_id_collection={"enabled": True})
    assert err.value.param == "customer_update[name]"
    with pytest.raises(stripe.InvalidRequestError) as err:
        new_session(client, customer_update={"address": "auto"})
    assert err.value.param == "customer_update"
    updated = new_session(client, customer=customer.id, billing_address_collection="required",
                          tax_id_collection={"enabled": True, "required": "if_supported"},
                          customer_update={"address": "auto", "name": "auto"})
    status, _, page = _pay(emulator, updated, line1="2 Rue", city="Nice", postal_code="06000", country="FR")
    assert status == 400 and "tax ID is required" in page
    _pay(emulator, updated, line1="2 Rue", city="Nice", postal_code="06000", country="FR",
         business_name="Nice SARL", tax_id="FR40123456824")
    customer = client.v1.customers.retrieve(customer.id, params={"expand": ["tax_ids"]})
    assert (customer.address.city, customer.name) == ("Nice", "Nice SARL")
    assert [t.value for t in customer.tax_ids.data] == ["FR40123456824"]


def test_the_automation_route_fills_a_required_address(client, emulator):
    session = new_session(client, billing_address_collection="required")
    control(emulator, f"checkout/sessions/{session.id}/pay", {"card": "4242424242424242"})
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.status == "complete" and done.customer_details.address.country == "FR"
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    client.v1.promotion_codes.create(params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TEN"})
    coded = new_session(client, allow_promotion_codes=True)
    control(emulator, f"checkout/sessions/{coded.id}/pay", {"card": "4242424242424242", "promotion_code": "TEN",
                                                            "address": {"country": "US", "postal_code": "94107"}})
    done = client.v1.checkout.sessions.retrieve(coded.id)
    assert done.amount_total == 2250 and done.customer_details.address.postal_code == "94107"
