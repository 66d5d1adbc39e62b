"""Paying with a discount code: the Checkout Session carries the code (the
hosted page shows it), Stripe charges exactly the order total, and the
invoice, receipt and Factur-X XML say the same to the cent. A 100 % code
needs no payment; the last redemption goes to one buyer."""

import threading
import urllib.request

import pytest
from django.db import connection
from django.urls import reverse

from billing.credit_notes import credit_note_lines_for_order_lines
from billing.facturx import facturx_xml
from billing.models import Document
from billing.services import credit_note_issue
from orders.discounts import DiscountRefused
from orders.documents import order_documents_issue
from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments import gateway
from payments.refunds import refund_plan
from payments.services import checkout_session_settle
from tests.payments.helpers import pay_session, session_id_of
from tests.shop.conftest import messages_of

from .test_cart import apply, fill_cart

pytestmark = pytest.mark.django_db

VALID = {
    "email": "guest@example.com", "billing_name": "Camille Martin", "billing_company": "",
    "billing_line1": "3 place du Marché", "billing_postal_code": "69002", "billing_city": "Lyon",
    "billing_country": "FR", "vat_id": "",
}
BILLING = BillingDetails(name="Ada Lovelace", line1="1 rue de Rivoli", postal_code="75001", city="Paris",
                         country="FR")


def test_the_session_carries_the_code_and_stripe_charges_the_order_total(client, make_code, mug, coffee,
                                                                          stripe_emulator):
    make_code("SPRING10", percent_off="10")
    fill_cart(client, (mug, 2), (coffee, 1))
    apply(client, "spring10")
    response = client.post(reverse("shop:checkout"), VALID)
    assert response.status_code == 303
    order = Order.objects.get()
    assert (order.total, order.discount_total, order.discount_code) == (4041, 449, "SPRING10")
    assert sorted((line.sku, line.discount, line.total) for line in order.lines.all()) == [
        ("COF-1", 129, 1161), ("MUG-1", 320, 2880)]
    session = gateway.checkout_session_retrieve(order.stripe_checkout_session_id)
    assert session.amount_total == order.total
    # The hosted page shows the code and the discounted total.
    with urllib.request.urlopen(response["Location"], timeout=10) as page:
        html = page.read().decode()
    assert "Discount (SPRING10)" in html and "40.41" in html

    pay_session(stripe_emulator.url, session_id_of(response["Location"]))
    order = checkout_session_settle(session=gateway.checkout_session_retrieve(session.id))
    assert order.status == Order.Status.PAID and order.amount_paid == 4041
    invoice, receipt = order_documents_issue(order_id=order.pk)
    assert invoice.total_gross == receipt.total_gross == order.total == order.amount_paid
    assert sorted((line["gross"], line["discount"]) for line in invoice.snapshot["lines"]) == [(1161, 129), (2880, 320)]
    assert [(row["rate"], row["gross"], row["tax"]) for row in invoice.snapshot["vat_breakdown"]] == [
        ("20.00", 2880, 480), ("5.50", 1161, 61)]
    assert invoice.snapshot["discount"]["label"] == "Code SPRING10 (10% off)"
    xml = facturx_xml(invoice.snapshot).decode()
    assert "<ram:GrandTotalAmount>40.41</ram:GrandTotalAmount>" in xml
    assert xml.count("<ram:ReasonCode>95</ram:ReasonCode>") == 2
    # The order page shows the discount.
    page = client.get(order.get_absolute_url()).content.decode()
    assert 'data-testid="order-discount">−€4.49<' in page

    # A refund of a discounted line returns what was paid for it, not its list price.
    mug_line = order.lines.get(sku="MUG-1")
    plan = refund_plan(order=order, lines={mug_line.pk: 1})
    assert plan.amount == 1440  # half of 28.80, not 16.00
    assert plan.lines[0]["discount"] == 160
    # Its credit note mirrors the discounted line.
    note = credit_note_issue(invoice_id=invoice.pk, lines=credit_note_lines_for_order_lines(plan.lines))
    [line] = note.snapshot["lines"]
    assert (note.total_gross, line["unit_gross"], line["quantity"], line["discount"]) == (1440, 1600, 1, 160)
    assert note.snapshot["vat_breakdown"][0]["tax"] == 240


def test_a_100_percent_code_needs_no_payment_and_still_gets_its_invoice(client, make_code, mug, stripe_emulator):
    make_code("FREE", percent_off="100")
    fill_cart(client, (mug, 1))
    apply(client, "free")
    response = client.post(reverse("shop:checkout"), VALID)
    order = Order.objects.get()
    # No Stripe session: straight to the order page, paid at zero.
    assert response.status_code == 303 and response["Location"].endswith(order.get_absolute_url())
    assert order.status == Order.Status.PAID and (order.total, order.amount_paid) == (0, 0)
    assert not order.stripe_checkout_session_id
    invoice, receipt = order_documents_issue(order_id=order.pk)
    assert receipt is None  # nothing was received: no receipt
    assert (invoice.total_gross, invoice.snapshot["totals"]["tax"]) == (0, 0)
    assert invoice.snapshot["payment_reference"] == "No payment due: Code FREE (100% off)"
    assert list(Document.objects.filter(order_id=order.pk).values_list("kind", flat=True)) == ["invoice"]
    # Issuing again changes nothing.
    assert order_documents_issue(order_id=order.pk) == (invoice, None)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Paid" in page and "−€16.00" in page


def test_a_code_used_up_between_cart_and_checkout_is_refused_and_dropped(client, make_code, mug):
    promo = make_code("LAST", max_redemptions=1)
    fill_cart(client, (mug, 1))
    apply(client, "last")
    order_place(items=[CartItem(mug.pk, 1)], email="first@example.com", billing=BILLING, discount_code="LAST")
    response = client.post(reverse("shop:checkout"), VALID, follow=True)
    assert ("The code “LAST” has been used the maximum number of times. The code was removed from your cart: "
            "check the new total.") in messages_of(response)
    assert response.context["summary"].total == 1600
    assert Order.objects.filter(stripe_promotion_code_id=promo.id).count() == 1


def test_stripe_refusing_the_code_cancels_the_order_and_keeps_the_cart(client, make_code, mug, stripe_emulator):
    promo = make_code("DASH")
    fill_cart(client, (mug, 1))
    apply(client, "dash")
    # Deactivated in Stripe's dashboard; its event has not reached us yet.
    gateway.promotion_code_update(promo.id, active=False, idempotency_key="dash-off")
    response = client.post(reverse("shop:checkout"), VALID, follow=True)
    order = Order.objects.get()
    assert order.status == Order.Status.CANCELLED
    assert any(m.startswith("The discount code “DASH” can no longer be used") for m in messages_of(response))
    mug.refresh_from_db()
    assert mug.stock == 5


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_for_the_last_redemption_one_wins(make_code, mug):
    promo = make_code("LASTONE", max_redemptions=1)
    barrier = threading.Barrier(2)
    results = []

    def buy(n):
        barrier.wait()
        try:
            results.append(order_place(items=[CartItem(mug.pk, 1)], email=f"racer{n}@example.com", billing=BILLING,
                                       discount_code="lastone"))
        except DiscountRefused as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Order) for r in results) == 1, results
    refused = [r for r in results if isinstance(r, DiscountRefused)]
    assert [str(r) for r in refused] == ["The code “LASTONE” has been used the maximum number of times."]
    assert Order.objects.filter(stripe_promotion_code_id=promo.id).count() == 1
    mug.refresh_from_db()
    assert mug.stock == 4  # the loser's unit went back


def test_the_code_is_refused_when_deactivated_at_stripe_by_webhook(make_code, mug, stripe_webhooks):
    promo = make_code("HOOKED")
    gateway.promotion_code_update(promo.id, active=False, idempotency_key="hooked-off")
    stripe_webhooks()
    promo.refresh_from_db()
    assert promo.stripe_data["active"] is False
    with pytest.raises(DiscountRefused, match="no longer valid"):
        order_place(items=[CartItem(mug.pk, 1)], email="a@example.com", billing=BILLING, discount_code="HOOKED")
