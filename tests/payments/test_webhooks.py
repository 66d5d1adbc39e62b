"""Stripe's webhooks, delivered by the emulator to the live shop through
dj-stripe's endpoint, settle orders once, whatever arrives how often."""

import copy
import threading

import pytest
from django.core import mail
from djstripe.models import WebhookEndpoint

from billing.models import Document
from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments.models import Payment
from payments.services import checkout_start, order_reconcile
from tests.conftest import emulator_control
from tests.factories import ProductFactory

from .helpers import pay_session, post_signed, session_id_of

BILLING = BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris",
                         country="FR")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order_at_checkout(stripe_webhooks):
    product = ProductFactory(name="Blue mug", unit_amount=1250, stock=3)
    order = order_place(items=[CartItem(product.pk, 2)], email="ada@example.com", billing=BILLING)
    url = checkout_start(order=order)
    order.refresh_from_db()
    return order, session_id_of(url), product


def test_paid_checkout_marks_the_order_paid_and_issues_one_invoice(stripe_emulator, stripe_webhooks,
                                                                    order_at_checkout):
    order, session_id, _ = order_at_checkout

    pay_session(stripe_emulator.url, session_id, "4242424242424242")
    stripe_webhooks()

    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.amount_paid == 2500
    payment = order.payments.get()
    assert (payment.status, payment.card_brand, payment.card_last4) == ("succeeded", "visa", "4242")
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert Document.objects.filter(order=order, kind="receipt").count() == 1
    assert len([m for m in mail.outbox if m.to == ["ada@example.com"]]) == 1


def test_the_same_webhook_twice_gives_one_paid_order_one_invoice_one_email(stripe_emulator, stripe_webhooks,
                                                                           order_at_checkout):
    order, session_id, _ = order_at_checkout
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "duplicate", "count": 20})

    pay_session(stripe_emulator.url, session_id)
    stripe_webhooks()

    deliveries = emulator_control(stripe_emulator.url, "deliveries?event_type=checkout.session.completed",
                                  method="GET")["data"]
    assert len([d for d in deliveries if d.get("status_code") == 200]) >= 2
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert Payment.objects.filter(order=order, status="succeeded").count() == 1
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert len(mail.outbox) == 1


def test_the_same_event_posted_concurrently_is_processed_once(stripe_emulator, stripe_webhooks, live_server,
                                                              order_at_checkout):
    order, session_id, _ = order_at_checkout
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 50})
    pay_session(stripe_emulator.url, session_id)
    stripe_webhooks()
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT  # all deliveries dropped

    import stripe

    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    [event] = client.v1.events.list({"type": "checkout.session.completed"}).data
    endpoint = WebhookEndpoint.objects.get()
    payload = event.to_dict()
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(post_signed(endpoint.url, payload, endpoint.secret)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses and all(s in (200, 500) for s in statuses) and 200 in statuses
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert Document.objects.filter(order=order, kind="invoice").count() == 1
    assert len(mail.outbox) == 1


def test_bad_or_missing_signature_is_refused_and_changes_nothing(stripe_emulator, stripe_webhooks,
                                                                  order_at_checkout):
    order, session_id, _ = order_at_checkout
    endpoint = WebhookEndpoint.objects.get()
    forged = {"id": "evt_forged", "object": "event", "type": "checkout.session.completed", "livemode": False,
              "api_version": "2026-05-27.dahlia", "created": 1, "data": {"object": {
                  "id": session_id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
                  "amount_total": 2500, "currency": "eur", "client_reference_id": str(order.pk),
                  "metadata": {"order_id": str(order.pk)}, "payment_intent": "pi_forged"}}}

    assert post_signed(endpoint.url, forged, "whsec_wrong") == 400
    assert post_signed(endpoint.url, forged, endpoint.secret, signature="") == 400
    assert post_signed(endpoint.url, forged, endpoint.secret, signature="t=1,v1=deadbeef") == 400

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert not Document.objects.exists()


def test_a_payment_for_another_amount_is_flagged_for_staff_not_paid(stripe_emulator, stripe_webhooks,
                                                                    order_at_checkout):
    order, session_id, _ = order_at_checkout
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 50})
    pay_session(stripe_emulator.url, session_id)
    stripe_webhooks()
    import stripe

    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    [event] = client.v1.events.list({"type": "checkout.session.completed"}).data
    tampered = copy.deepcopy(event.to_dict())
    tampered["id"] = "evt_tampered"
    tampered["data"]["object"]["amount_total"] = 100
    endpoint = WebhookEndpoint.objects.get()

    assert post_signed(endpoint.url, tampered, endpoint.secret) == 200

    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert "100 EUR paid" in order.needs_attention
    assert not Document.objects.exists()


def test_webhook_for_an_unknown_order_is_acknowledged(stripe_emulator, stripe_webhooks):
    import stripe

    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    session = client.v1.checkout.sessions.create({
        "mode": "payment", "success_url": "http://example.com/ok", "cancel_url": "http://example.com/no",
        "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 500,
                                                     "product_data": {"name": "Not ours"}}}],
    })
    pay_session(stripe_emulator.url, session.id)
    stripe_webhooks()

    deliveries = emulator_control(stripe_emulator.url, "deliveries?event_type=checkout.session.completed",
                                  method="GET")["data"]
    assert deliveries and all(d["status_code"] == 200 for d in deliveries)
    assert not Order.objects.exists()


def test_declined_card_keeps_the_order_open_with_the_reason(stripe_emulator, stripe_webhooks, order_at_checkout,
                                                            client):
    order, session_id, product = order_at_checkout
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "duplicate", "count": 20})
    pay_session(stripe_emulator.url, session_id, "4000000000000002")
    stripe_webhooks()

    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert "declined" in order.payment_error.lower()
    assert order.payments.get().status == "failed"
    assert product.stock == 1  # still reserved: the customer may try another card
    # The refused card is named, on the order page as in the account.
    failed = order.payments.get()
    assert (failed.card_brand, failed.card_last4) == ("visa", "0002")
    assert "Visa •••• 0002" in client.get(order.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("card", "three_d_secure", "customer_reads"),
    [
        ("4000000000009995", "approve", "Your card has insufficient funds"),
        ("4000002500003155", "fail", "security check of your bank (3-D Secure) was not completed"),
    ],
)
def test_a_failed_payment_reads_in_the_customers_words_staff_keep_stripes(
    stripe_emulator, stripe_webhooks, order_at_checkout, client, card, three_d_secure, customer_reads
):
    order, session_id, _product = order_at_checkout
    emulator_control(stripe_emulator.url, f"checkout/sessions/{session_id}/pay",
                     {"card": card, "three_d_secure": three_d_secure})
    stripe_webhooks()

    order.refresh_from_db()
    assert customer_reads in order.payment_error and "PaymentMethod" not in order.payment_error
    page = client.get(order.get_absolute_url()).content.decode()
    assert customer_reads in page and "No money was taken" in page
    payment = order.payments.get()
    assert payment.status == "failed" and payment.failure_message and payment.failure_message != order.payment_error


def test_expired_session_expires_the_order_and_releases_stock(stripe_emulator, stripe_webhooks, order_at_checkout):
    import stripe

    order, session_id, product = order_at_checkout
    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    client.v1.checkout.sessions.expire(session_id)
    stripe_webhooks()

    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert product.stock == 3


def test_a_lost_webhook_is_made_good_by_reconciliation(stripe_emulator, stripe_webhooks, order_at_checkout):
    order, session_id, _ = order_at_checkout
    emulator_control(stripe_emulator.url, "webhooks/faults", {"action": "drop", "count": 50})
    pay_session(stripe_emulator.url, session_id)
    stripe_webhooks()
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_PAYMENT

    order_reconcile(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Document.objects.filter(order=order, kind="invoice").count() == 1


def test_reconciling_an_order_past_its_reservation_expires_the_session_first(stripe_emulator, stripe_webhooks,
                                                                             order_at_checkout):
    import stripe
    from django.utils import timezone

    order, session_id, product = order_at_checkout
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now())

    order_reconcile(order_id=order.pk)

    client = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    assert client.v1.checkout.sessions.retrieve(session_id).status == "expired"
    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.EXPIRED and product.stock == 3


def test_cancel_on_the_payment_page_returns_to_the_cart_with_stock_released(stripe_emulator, stripe_webhooks,
                                                                            order_at_checkout, client):
    import stripe

    order, session_id, product = order_at_checkout
    response = client.get(f"/orders/{order.reference}/cancelled/", follow=True)  # Stripe's cancel return
    assert "Cancel order" in response.content.decode()  # the choice, nothing changed yet
    response = client.post(f"/orders/{order.reference}/cancel/", follow=True)

    assert response.redirect_chain[-1][0].endswith("/cart/")
    assert "is cancelled; nothing was charged" in response.content.decode()
    assert "Blue mug" in response.content.decode()  # the cart is as the customer left it
    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and product.stock == 3
    api = stripe.StripeClient("sk_test_emulatorOfflineShopKey000000000", base_addresses={"api": stripe_emulator.url})
    assert api.v1.checkout.sessions.retrieve(session_id).status == "expired"  # can no longer be paid
