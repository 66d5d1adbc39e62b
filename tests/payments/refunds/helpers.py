"""Paid orders made through the real flow (order_place -> Checkout at the
emulator -> paid by card -> webhook), and waiting for Stripe's asynchronous
refund settlement."""

import time
from decimal import Decimal

import stripe
from django.contrib.auth.models import Permission
from django.db import OperationalError

from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments.services import checkout_start
from tests.conftest import EMULATOR_KEY, emulator_control
from tests.factories import ProductFactory, TaxRateFactory, UserFactory
from tests.payments.helpers import pay_session, session_id_of

BILLING = BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris",
                         country="FR")


def products():
    """Coffee at 5.5 % (39.00) and a mug at 20 % (16.00)."""
    coffee = ProductFactory(name="Colombia Huila 1 kg", sku="COF-COL", unit_amount=3900, stock=5,
                            tax_rate=TaxRateFactory(name="Reduced", rate=Decimal("5.50")))
    mug = ProductFactory(name="Stoneware mug", sku="GEAR-MUG", unit_amount=1600, stock=10,
                         tax_rate=TaxRateFactory(name="Standard", rate=Decimal("20.00")))
    return coffee, mug


def paid_order(emulator_url: str, wait, items, card: str = "4242424242424242", customer=None) -> Order:
    """Place an order for [(product, qty)], pay it at the emulator, let the webhook settle it."""
    order = order_place(items=[CartItem(p.pk, q) for p, q in items], email="ada@example.com", billing=BILLING,
                        customer=customer)
    url = checkout_start(order=order)
    pay_session(emulator_url, session_id_of(url), card)
    wait()
    order.refresh_from_db()
    return order


def _locked(error: Exception) -> bool:
    # SQLite's shared in-memory test database answers "table is locked" at once
    # (no busy timeout) while the live server's thread writes: read again.
    return "locked" in str(error)


def wait_until(condition, wait, timeout: float = 20.0, what: str = "condition"):
    """Poll `condition()` (after letting webhooks be delivered) until truthy,
    then let the deliveries it triggered finish."""
    deadline = time.monotonic() + timeout
    while True:
        wait()
        try:
            value = condition()
        except OperationalError as error:
            if not _locked(error):
                raise
            value = None
        if value:
            settle(wait)
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def settle(wait, rounds: int = 3) -> None:
    """Let webhooks, and the work they enqueue, finish (Stripe settles refunds
    a moment after creating them)."""
    for _ in range(rounds):
        wait()
        time.sleep(0.3)
    wait()


def hold_webhooks(emulator_url: str, delay_ms: int = 1500, count: int = 1) -> None:
    """Delay the next webhook(s) while this thread writes (SQLite's shared
    in-memory test database cannot take two writers at once; PostgreSQL can)."""
    emulator_control(emulator_url, "webhooks/faults", {"action": "delay", "delay_ms": delay_ms, "count": count})


def stripe_client(emulator_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(EMULATOR_KEY, base_addresses={"api": emulator_url, "files": emulator_url})


def support_user(**extra):
    """Staff with the refund and evidence permissions and the views (like the seed's Support group)."""
    user = UserFactory(username="support-user", is_staff=True, **extra)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["orders", "payments", "billing", "audit"], codename__startswith="view_"))
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="payments", codename__in=["add_refund", "submit_dispute_evidence"]))
    return user


def viewer_user():
    """Staff who may look at orders and payments but not refund (like an accountant with admin access)."""
    user = UserFactory(username="viewer-user", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["orders", "payments", "billing", "audit"], codename__startswith="view_"))
    return user
