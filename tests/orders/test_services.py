"""Placing orders and moving them through their states."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from orders.exceptions import InvalidQuantity, OrderError, OrderStateError, OutOfStock, PaymentMismatch
from orders.models import Order
from orders.services import (
    BillingDetails,
    CartItem,
    order_attach_checkout_session,
    order_cancel,
    order_expire,
    order_mark_paid,
    order_place,
    validate_quantity,
)
from tests.factories import OrderFactory, ProductFactory

BILLING = BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris",
                         country="fr", vat_id="fr 40 123456824")


def place(*items, email="ada@example.com"):
    return order_place(items=[CartItem(p.pk, q) for p, q in items], email=email, billing=BILLING)


@pytest.mark.django_db
def test_order_copies_prices_and_reserves_stock():
    mug, book = ProductFactory(unit_amount=1250, stock=5), ProductFactory(unit_amount=2000, stock=2)
    order = place((mug, 2), (book, 1))

    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.total == 2 * 1250 + 2000
    assert [(l.name, l.unit_amount, l.quantity) for l in order.lines.all()] == [
        (mug.name, 1250, 2), (book.name, 2000, 1)
    ]
    assert order.billing_country == "FR" and order.vat_id == "FR40123456824"
    mug.refresh_from_db(); book.refresh_from_db()
    assert (mug.stock, book.stock) == (3, 1)

    # A later price change does not touch the placed order.
    mug.unit_amount = 9999
    mug.save()
    assert Order.objects.get(pk=order.pk).lines.first().unit_amount == 1250


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "", "1.5", "100", None])
def test_bad_quantities_are_refused_with_a_message(raw):
    with pytest.raises(InvalidQuantity) as error:
        validate_quantity(raw)
    assert str(error.value)


@pytest.mark.django_db
def test_quantity_above_stock_is_refused_and_nothing_is_written():
    scarce, plenty = ProductFactory(stock=1, name="Last lamp"), ProductFactory(stock=10)
    with pytest.raises(OutOfStock, match="Only 1 of “Last lamp” left"):
        place((plenty, 3), (scarce, 2))
    assert not Order.objects.exists()
    plenty.refresh_from_db()
    assert plenty.stock == 10  # the first line's reservation rolled back


@pytest.mark.django_db
def test_a_sold_out_product_is_refused_before_any_transaction():
    """In a rush most buyers are refused: that costs one SELECT, no write."""
    from django.test.utils import CaptureQueriesContext

    sold_out, plenty = ProductFactory(stock=0, name="Sold-out lamp"), ProductFactory(stock=10)
    with CaptureQueriesContext(connection) as captured, pytest.raises(OutOfStock, match="“Sold-out lamp” is out of stock"):
        place((plenty, 1), (sold_out, 1))
    sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
    assert len(captured) == 1 and "UPDATE" not in sql and "SAVEPOINT" not in sql
    plenty.refresh_from_db()
    assert plenty.stock == 10


@pytest.mark.django_db
def test_empty_cart_and_inactive_product_are_refused():
    with pytest.raises(OrderError, match="empty"):
        place()
    gone = ProductFactory(active=False)
    with pytest.raises(OrderError, match="no longer sold"):
        place((gone, 1))


@pytest.mark.django_db
def test_lines_are_in_the_carts_order_whatever_order_the_items_come_in():
    # The checkout passes the session's items as stored; the order (and its
    # invoice) lists them as the cart does, by product name.
    zinc, amber = ProductFactory(name="Zinc tray", stock=3), ProductFactory(name="Amber glass", stock=3)
    order = place((zinc, 1), (amber, 2))
    assert [(line.name, line.quantity) for line in order.lines.all()] == [("Amber glass", 2), ("Zinc tray", 1)]


@pytest.mark.django_db
def test_attaching_the_checkout_session_never_shortens_the_reservation():
    order = OrderFactory()
    reserved_until = order.expires_at
    order_attach_checkout_session(order_id=order.pk, session_id="cs_test_1", url="https://pay.example/1",
                                  expires_at=reserved_until - timedelta(minutes=5))
    order.refresh_from_db()
    assert (order.stripe_checkout_session_id, order.checkout_url) == ("cs_test_1", "https://pay.example/1")
    assert order.expires_at == reserved_until
    later = reserved_until + timedelta(minutes=10)
    order_attach_checkout_session(order_id=order.pk, session_id="cs_test_2", url="https://pay.example/2",
                                  expires_at=later)
    order.refresh_from_db()
    assert (order.stripe_checkout_session_id, order.expires_at) == ("cs_test_2", later)


@pytest.mark.django_db(transaction=True)
def test_two_buyers_racing_for_the_last_unit_get_one_order():
    last = ProductFactory(stock=1)
    barrier = threading.Barrier(2)
    results = []

    def buy(n):
        barrier.wait()
        try:
            results.append(place((last, 1), email=f"racer{n}@example.com"))
        except OutOfStock as error:
            results.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(isinstance(r, Order) for r in results) == 1
    assert sum(isinstance(r, OutOfStock) for r in results) == 1
    last.refresh_from_db()
    assert last.stock == 0
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_mark_paid_is_idempotent_and_issues_documents_once(django_capture_on_commit_callbacks):
    order = OrderFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_mark_paid(order_id=order.pk, amount_paid=order.total, currency="eur", payment_intent_id="pi_1")
        order_mark_paid(order_id=order.pk, amount_paid=order.total, currency="eur", payment_intent_id="pi_1")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.paid_at and order.amount_paid == order.total
    assert len(callbacks) == 1  # one document task enqueued


@pytest.mark.django_db
def test_payment_that_does_not_match_is_flagged_not_paid():
    order = OrderFactory()
    with pytest.raises(PaymentMismatch):
        order_mark_paid(order_id=order.pk, amount_paid=order.total - 1, currency="eur")
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert "paid for order" in order.needs_attention


@pytest.mark.django_db
def test_cancel_and_expire_release_stock_once():
    product = ProductFactory(stock=5)
    order = place((product, 2))
    order_cancel(order_id=order.pk, reason="changed my mind")
    order_cancel(order_id=order.pk)  # repeated: nothing more
    product.refresh_from_db()
    assert product.stock == 5
    with pytest.raises(OrderStateError):
        order_expire(order_id=order.pk)


@pytest.mark.django_db
def test_payment_after_expiry_takes_the_stock_again_or_asks_staff_to_refund():
    product = ProductFactory(stock=1)
    order = place((product, 1))
    order_expire(order_id=order.pk)
    order_mark_paid(order_id=order.pk, amount_paid=order.total, currency="eur")
    order.refresh_from_db(); product.refresh_from_db()
    assert order.status == Order.Status.PAID and product.stock == 0

    other = place((ProductFactory(stock=1), 1))
    order_expire(order_id=other.pk)
    other.lines.first().product.__class__.objects.filter(pk=other.lines.first().product_id).update(stock=0)
    order_mark_paid(order_id=other.pk, amount_paid=other.total, currency="eur")
    other.refresh_from_db()
    assert other.status == Order.Status.EXPIRED
    assert "refund the customer" in other.needs_attention
