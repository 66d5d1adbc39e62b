"""Refunds against the emulator over HTTP: recorded, sent with an idempotency
key, confirmed by webhook, credited once; refused, failed and retried cases."""

import re
import uuid

import pytest
from django.core import mail

from audit.models import AuditEntry
from billing.models import Document
from catalog.models import Product
from orders.models import Order
from payments import refunds, selectors
from payments.models import Refund
from payments.tasks import refunds_retry
from tests.conftest import emulator_control

from .helpers import hold_webhooks, paid_order, stripe_client, support_user, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def stripe_refunds(emulator_url, order):
    return stripe_client(emulator_url).v1.refunds.list({"payment_intent": order.stripe_payment_intent_id}).data


def settled(refund, wait):
    return wait_until(lambda: Refund.objects.exclude(status="pending").filter(pk=refund.pk).first(), wait,
                      what=f"refund #{refund.pk} to settle")


def credit_note_of(refund, wait):
    return wait_until(lambda: Refund.objects.get(pk=refund.pk).credit_note, wait, what="the credit note")


# -- refused: nothing reaches Stripe -------------------------------------------


def test_refusals_send_nothing_to_stripe(stripe_emulator, stripe_webhooks, order, catalogue):
    staff = support_user()
    with pytest.raises(refunds.RefundRefused, match="more than zero"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=0)
    with pytest.raises(refunds.RefundRefused, match="more than zero"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=-100)
    with pytest.raises(refunds.RefundRefused, match=r"At most €71\.00 can be refunded"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=7101)
    coffee_line = order.lines.get(sku="COF-COL")
    with pytest.raises(refunds.RefundRefused, match="at most 1 of 1"):
        refunds.refund_request(order_id=order.pk, staff=staff, lines={coffee_line.pk: 2})
    with pytest.raises(refunds.RefundRefused, match="choose the lines"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=100, restock=True)

    coffee, _ = catalogue
    from orders.services import BillingDetails, CartItem, order_place

    unpaid = order_place(items=[CartItem(coffee.pk, 1)], email="bob@example.com",
                         billing=BillingDetails(name="Bob", line1="1 rue", postal_code="75001", city="Paris",
                                                country="FR"))
    with pytest.raises(refunds.RefundRefused, match="only paid orders"):
        refunds.refund_request(order_id=unpaid.pk, staff=staff, amount=100)

    assert not Refund.objects.exists()
    assert stripe_refunds(stripe_emulator.url, order) == []


# -- by lines, then the rest ---------------------------------------------------


def test_partial_refund_by_lines_then_the_rest(stripe_emulator, stripe_webhooks, order, catalogue):
    coffee, mug = catalogue
    staff = support_user()
    mug_line = order.lines.get(sku="GEAR-MUG")
    stock_before = Product.objects.get(pk=mug.pk).stock

    hold_webhooks(stripe_emulator.url)
    first, created = refunds.refund_request(order_id=order.pk, staff=staff, lines={mug_line.pk: 1},
                                            reason="requested_by_customer", note="Handle broken", restock=True)
    assert created and first.amount == 1600 and first.status == "pending" and first.stripe_refund_id
    [at_stripe] = stripe_refunds(stripe_emulator.url, order)
    assert at_stripe.amount == 1600 and at_stripe.metadata["refund_id"] == str(first.pk)
    assert at_stripe.reason == "requested_by_customer"
    # Pending money is not refundable twice.
    wait_until(lambda: selectors.refundable_amount(Order.objects.get(pk=order.pk)) == 5500, stripe_webhooks)

    assert settled(first, stripe_webhooks).status == "succeeded"
    note = credit_note_of(first, stripe_webhooks)
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert Product.objects.get(pk=mug.pk).stock == stock_before + 1  # ticked: back in stock
    assert Product.objects.get(pk=coffee.pk).stock == 4  # untouched
    invoice = Document.objects.get(order=order, kind="invoice")
    assert note.number.startswith("CN-") and note.related_document == invoice
    assert (note.total_gross, note.total_tax) == (1600, 267)  # 16.00 at 20 %
    assert [(x["sku"], x["quantity"], x["gross"]) for x in note.snapshot["lines"]] == [("GEAR-MUG", 1, 1600)]
    assert note.pdf_rendered_at is not None and note.emailed_at is not None
    cn_mail = [m for m in mail.outbox if note.number in m.subject]
    assert len(cn_mail) == 1 and cn_mail[0].to == ["ada@example.com"]
    assert cn_mail[0].attachments[0][0] == f"{note.number}.pdf"

    hold_webhooks(stripe_emulator.url)
    rest, _ = refunds.refund_request(order_id=order.pk, staff=staff)  # default: all still refundable
    assert rest.amount == 5500 and not rest.lines
    assert settled(rest, stripe_webhooks).status == "succeeded"
    second = credit_note_of(rest, stripe_webhooks)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert Product.objects.get(pk=mug.pk).stock == stock_before + 1  # not ticked: no stock change
    # What remains per VAT rate is credited at that rate: 39.00 at 5.5 %, 16.00 at 20 %.
    assert {r["rate"]: r["gross"] for r in second.snapshot["vat_breakdown"]} == {"20.00": 1600, "5.50": 3900}
    credited = sum(Document.objects.filter(kind="credit_note", related_document=invoice)
                   .values_list("total_gross", flat=True))
    assert credited == invoice.total_gross == 7100
    assert selectors.refundable_amount(order) == 0
    with pytest.raises(refunds.RefundRefused, match="already fully refunded"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=1)

    actions = list(AuditEntry.objects.filter(order=order).values_list("action", flat=True).order_by("pk"))
    for expected in ("order.placed", "order.paid", "refund.requested", "refund.succeeded", "credit_note.issued",
                     "order.partially_refunded", "order.refunded"):
        assert expected in actions
    requested = AuditEntry.objects.filter(order=order, action="refund.requested").order_by("pk").first()
    assert requested.actor == staff and requested.reason == "Handle broken"
    assert AuditEntry.objects.filter(order=order, action="refund.succeeded").first().actor_label == "stripe"


# -- twice: one refund ---------------------------------------------------------


def test_double_submit_and_a_second_tab_refund_once(stripe_emulator, stripe_webhooks, order):
    staff = support_user()
    token = uuid.uuid4()
    state = selectors.refund_state_marker(order)
    hold_webhooks(stripe_emulator.url)
    first, created = refunds.refund_request(order_id=order.pk, staff=staff, amount=2000, request_token=token,
                                            expected_state=state)
    again, created_again = refunds.refund_request(order_id=order.pk, staff=staff, amount=2000,
                                                  request_token=token, expected_state=state)
    assert created and not created_again and again.pk == first.pk
    # A second tab opened before the first refund: its page is stale.
    with pytest.raises(refunds.RefundRefused, match="Another refund was recorded"):
        refunds.refund_request(order_id=order.pk, staff=staff, amount=2000, request_token=uuid.uuid4(),
                               expected_state=state)
    # Sending the same refund again uses the same idempotency key: still one at Stripe.
    Refund.objects.filter(pk=first.pk).update(stripe_refund_id=None)
    refunds.refund_send(refund_id=first.pk)
    settled(first, stripe_webhooks)
    assert len(stripe_refunds(stripe_emulator.url, order)) == 1
    assert Refund.objects.count() == 1
    assert Document.objects.filter(kind="credit_note").count() == 1


def test_duplicated_webhooks_confirm_once_and_credit_once(stripe_emulator, stripe_webhooks, order):
    hold_webhooks(stripe_emulator.url)
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "duplicate", "count": 50})
    refund, _ = refunds.refund_request(order_id=order.pk, staff=support_user(), amount=7100)
    settled(refund, stripe_webhooks)
    credit_note_of(refund, stripe_webhooks)
    stripe_webhooks()
    deliveries = emulator_control(stripe_emulator.url, "deliveries?event_type=refund.updated", method="GET")["data"]
    assert len([d for d in deliveries if d.get("status_code") == 200]) >= 2
    assert Document.objects.filter(kind="credit_note").count() == 1
    assert AuditEntry.objects.filter(action="refund.succeeded").count() == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
    assert len([m for m in mail.outbox if "Credit note" in m.subject]) == 1


# -- failures -------------------------------------------------------------------


def test_a_refund_stripe_fails_is_failed_with_its_message_and_refundable_again(stripe_emulator, stripe_webhooks,
                                                                                order):
    emulator_control(stripe_emulator.url, "refunds/fail_next")
    hold_webhooks(stripe_emulator.url)
    refund, _ = refunds.refund_request(order_id=order.pk, staff=support_user(), amount=3000)
    failed = settled(refund, stripe_webhooks)
    assert failed.status == "failed" and failed.failure_reason == "expired_or_canceled_card"
    assert "expired" in failed.failure_message
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert selectors.refundable_amount(order) == 7100
    assert failed.credit_note is None and not Document.objects.filter(kind="credit_note").exists()
    assert AuditEntry.objects.filter(action="refund.failed", object_id=str(refund.pk)).exists()


def test_stripe_unavailable_keeps_the_refund_pending_and_the_task_sends_it_with_the_same_key(
        stripe_emulator, stripe_webhooks, order):
    # More failures than the SDK's retries (3 attempts).
    emulator_control(stripe_emulator.url, "faults", {"path": "/v1/refunds", "method": "POST", "status": 500,
                                                     "count": 3})
    refund, created = refunds.refund_request(order_id=order.pk, staff=support_user(), amount=2500)
    assert created and refund.status == "pending" and not refund.stripe_refund_id and refund.send_error
    assert stripe_refunds(stripe_emulator.url, order) == []
    assert selectors.refundable_amount(Order.objects.get(pk=order.pk)) == 4600  # counted while pending
    assert refunds.refunds_to_retry()["unsent"] == []  # not before RESEND_AFTER

    Refund.objects.filter(pk=refund.pk).update(created_at=refund.created_at - refunds.RESEND_AFTER)
    hold_webhooks(stripe_emulator.url)
    assert refunds_retry() == 1  # eager in tests: sends it now
    refund.refresh_from_db()
    assert refund.stripe_refund_id
    assert settled(refund, stripe_webhooks).status == "succeeded"
    credit_note_of(refund, stripe_webhooks)
    [at_stripe] = stripe_refunds(stripe_emulator.url, order)
    assert at_stripe.metadata["refund_id"] == str(refund.pk)


def test_a_refund_stripe_refuses_outright_fails_at_once(stripe_emulator, stripe_webhooks, order):
    # Refund the whole charge behind the shop's back, then ask from the shop:
    # Stripe refuses (charge already refunded) and nothing more is refunded.
    client = stripe_client(stripe_emulator.url)
    at_stripe = client.v1.refunds.create({"payment_intent": order.stripe_payment_intent_id})
    wait_until(lambda: Refund.objects.filter(stripe_refund_id=at_stripe.id, status="succeeded").exists(),
               stripe_webhooks)
    recorded = Refund.objects.create(order=order, payment=order.payments.get(), amount=100, currency="eur")
    refund = refunds.refund_send(refund_id=recorded.pk)
    assert refund.status == "failed" and "Stripe refused the refund" in refund.failure_message
    assert len(stripe_refunds(stripe_emulator.url, order)) == 1


# -- made in Stripe's dashboard ------------------------------------------------


def test_a_refund_made_in_stripes_dashboard_is_recorded_and_credited(stripe_emulator, stripe_webhooks, order):
    client = stripe_client(stripe_emulator.url)
    at_stripe = client.v1.refunds.create({"payment_intent": order.stripe_payment_intent_id, "amount": 1000,
                                          "reason": "duplicate"})
    refund = wait_until(lambda: Refund.objects.filter(stripe_refund_id=at_stripe.id, status="succeeded").first(),
                        stripe_webhooks, what="the dashboard refund")
    assert refund.source == "stripe" and refund.amount == 1000 and refund.order == order
    assert refund.requested_by is None and refund.reason == "duplicate"
    note = credit_note_of(refund, stripe_webhooks)
    assert note.total_gross == 1000
    # Spread over the VAT rates in proportion: 39/71 and 32/71 of 10.00.
    assert {r["rate"]: r["gross"] for r in note.snapshot["vat_breakdown"]} == {"5.50": 549, "20.00": 451}
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert AuditEntry.objects.filter(action="refund.recorded", actor_type="stripe", order=order).exists()


def test_a_refund_of_a_guest_order_shows_in_the_signed_in_customers_account(stripe_emulator, stripe_webhooks,
                                                                          catalogue, client):
    from tests.factories import UserFactory

    customer = UserFactory(username="ada@example.com")
    coffee, mug = catalogue
    order = paid_order(stripe_emulator.url, stripe_webhooks, [(mug, 1)], customer=customer)
    staff = support_user()
    hold_webhooks(stripe_emulator.url)
    refund, _ = refunds.refund_request(order_id=order.pk, staff=staff, amount=1600)
    note = credit_note_of(refund, stripe_webhooks)
    from billing.selectors import document_list_for_customer

    assert note in document_list_for_customer(user=customer)
    client.force_login(customer)
    page = client.get("/account/").content.decode()
    assert note.number in page
    # The payment history shows the refund under the payment.
    assert re.search(r"Refund · €16\.00\s*<span[^>]*>Refunded", page)
