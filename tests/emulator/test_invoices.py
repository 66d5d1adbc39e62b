"""Invoices through the API, as a user of Stripe's API reaches them: draft
invoices with invoice items (amounts, prices, price data), lines paginated
past 10, update, discounts, finalize, pay, void, delete."""

import pytest
import stripe

from .conftest import wait_for_webhooks


def _refused(call):
    with pytest.raises(stripe.InvalidRequestError) as err:
        call()
    assert err.value.http_status == 400
    return err.value


@pytest.fixture
def customer(client):
    return client.v1.customers.create(params={
        "email": "inv@example.com", "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"}})


def test_draft_with_items_lines_past_ten_finalize_and_pay(client, emulator, receiver, endpoint, customer):
    draft = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur", "description": "Beans",
                                              "metadata": {"order": "7"}})
    assert (draft.status, draft.billing_reason, draft.auto_advance, draft.total, draft.lines.data) == (
        "draft", "manual", False, 0, [])
    assert draft.parent is None and draft.number is None
    product = client.v1.products.create(params={"name": "Mug"})
    price = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 1200})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id,
                                           "pricing": {"price": price.id}, "quantity": 2})
    client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id, "price_data": {
        "currency": "eur", "product": product.id, "unit_amount": 300}})
    for i in range(10):
        client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id, "amount": 100,
                                               "currency": "eur", "description": f"Extra {i}"})
    draft = client.v1.invoices.retrieve(draft.id)
    assert draft.subtotal == 2400 + 300 + 1000 and draft.total == 3700
    assert len(draft.lines.data) == 10 and draft.lines.has_more is True
    first = client.v1.invoices.line_items.list(draft.id, params={"limit": 10})
    rest = client.v1.invoices.line_items.list(draft.id, params={"limit": 10, "starting_after": first.data[-1].id})
    assert len(first.data) == 10 and first.has_more and len(rest.data) == 2 and not rest.has_more
    every = list(client.v1.invoices.line_items.list(draft.id, params={"limit": 5}).auto_paging_iter())
    assert len({line.id for line in every}) == 12
    mug = next(line for line in every if line.quantity == 2)
    assert mug.pricing.price_details.price == price.id and mug.amount == 2400 and mug.description == "Mug"
    extra = next(line for line in every if line.description == "Extra 0")
    assert extra.pricing is None and extra.parent.type == "invoice_item_details"

    # Change and remove items while it is a draft.
    item = client.v1.invoice_items.retrieve(extra.parent.invoice_item_details.invoice_item)
    client.v1.invoice_items.update(item.id, params={"amount": 250, "description": "Extra, revised"})
    client.v1.invoice_items.delete(next(line for line in every if line.description == "Extra 1")
                                   .parent.invoice_item_details.invoice_item)
    coupon = client.v1.coupons.create(params={"percent_off": 10})
    updated = client.v1.invoices.update(draft.id, params={"description": "Beans and mugs",
                                                          "discounts": [{"coupon": coupon.id}]})
    assert updated.subtotal == 3700 + 150 - 100 and updated.total == 3750 - 375
    assert [t.amount for t in updated.total_discount_amounts] == [375]

    final = client.v1.invoices.finalize_invoice(draft.id)
    assert (final.status, final.amount_due) == ("open", 3375) and final.number
    assert final.next_payment_attempt is None  # auto_advance false: paid when asked
    paid = client.v1.invoices.pay(final.id)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ("paid", 3375, 0)
    payments = client.v1.invoices.retrieve(final.id, params={"expand": ["payments.data.payment.payment_intent"]})
    assert payments.payments.data[0].payment.payment_intent.amount_received == 3375

    _refused(lambda: client.v1.invoices.finalize_invoice(final.id))
    _refused(lambda: client.v1.invoices.delete(final.id))
    err = _refused(lambda: client.v1.invoices.update(final.id, params={"collection_method": "send_invoice"}))
    assert err.param == "collection_method"
    assert client.v1.invoices.update(final.id, params={"metadata": {"note": "ok"}}).metadata.note == "ok"
    _refused(lambda: client.v1.invoice_items.create(params={"customer": customer.id, "invoice": final.id,
                                                            "amount": 1, "currency": "eur"}))
    wait_for_webhooks(emulator)
    types = receiver.types()
    for expected in ("invoice.created", "invoiceitem.created", "invoiceitem.deleted", "invoice.updated",
                     "invoice.finalized", "invoice.paid"):
        assert expected in types, expected


def test_void_delete_send_invoice_and_auto_advance(client, customer):
    def draft(**extra):
        invoice = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur", **extra})
        client.v1.invoice_items.create(params={"customer": customer.id, "invoice": invoice.id, "amount": 900,
                                               "currency": "eur"})
        return invoice

    opened = client.v1.invoices.finalize_invoice(draft().id)
    voided = client.v1.invoices.void_invoice(opened.id)
    assert (voided.status, voided.amount_remaining) == ("void", 0)
    _refused(lambda: client.v1.invoices.pay(voided.id))
    _refused(lambda: client.v1.invoices.void_invoice(draft().id))  # drafts are deleted, not voided

    gone = draft()
    assert client.v1.invoices.delete(gone.id).deleted is True
    assert client.v1.invoices.retrieve(gone.id).deleted is True

    err = _refused(lambda: client.v1.invoices.create(params={"customer": customer.id,
                                                             "collection_method": "send_invoice"}))
    assert err.param == "days_until_due"
    sent = client.v1.invoices.finalize_invoice(draft(collection_method="send_invoice", days_until_due=30).id)
    assert sent.status == "open" and sent.due_date == sent.status_transitions.finalized_at + 30 * 86400

    auto = client.v1.invoices.finalize_invoice(draft(auto_advance=True).id)
    assert (auto.status, auto.amount_paid) == ("paid", 900)  # collected at once (Stripe: about an hour later)


def test_pending_items_are_included_on_request(client, customer):
    client.v1.invoice_items.create(params={"customer": customer.id, "amount": 400, "currency": "eur"})
    pending = client.v1.invoice_items.list(params={"customer": customer.id, "pending": True}).data
    assert [ii.amount for ii in pending] == [400] and pending[0].invoice is None
    empty = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur"})
    assert empty.total == 0  # pending_invoice_items_behavior defaults to exclude
    taken = client.v1.invoices.create(params={"customer": customer.id, "currency": "eur",
                                              "pending_invoice_items_behavior": "include"})
    assert taken.total == 400 and client.v1.invoice_items.retrieve(pending[0].id).invoice == taken.id
    err = _refused(lambda: client.v1.invoice_items.create(params={"customer": customer.id, "amount": 1}))
    assert err.param == "currency"
