""""Paid on" is when Stripe took the payment (the charge's time), not when
our webhook or reconciliation learnt of it."""

from datetime import datetime
from datetime import timezone as dt_timezone

import pytest

from orders.documents import order_documents_issue
from orders.models import Order
from orders.services import BillingDetails, CartItem, order_place
from payments import gateway
from payments.services import checkout_start, order_reconcile
from tests.factories import ProductFactory
from tests.payments.helpers import pay_session

pytestmark = pytest.mark.django_db


def test_paid_on_is_the_charge_time_not_the_processing_time(stripe_emulator, settings):
    settings.SHOP_SELLER_TIME_ZONE = "Europe/Paris"
    product = ProductFactory(name="Blue mug", unit_amount=1250, stock=3)
    order = order_place(items=[CartItem(product.pk, 1)], email="ada@example.com",
                        billing=BillingDetails(name="Ada", line1="1 rue A", postal_code="75001", city="Paris",
                                               country="FR"))
    checkout_start(order=order)
    order.refresh_from_db()
    pay_session(stripe_emulator.url, order.stripe_checkout_session_id)

    # The event is processed later (here: the reconciliation of a lost webhook).
    order = order_reconcile(order_id=order.pk)
    assert order.status == Order.Status.PAID
    intent = gateway.payment_intent_retrieve(order.stripe_payment_intent_id)
    charged_at = datetime.fromtimestamp(intent.latest_charge.created, tz=dt_timezone.utc)
    assert intent.latest_charge.created > 0
    assert order.paid_at == charged_at

    invoice, receipt = order_documents_issue(order_id=order.pk)
    paris_day = charged_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date().isoformat()
    assert invoice.snapshot["paid_on"] == receipt.snapshot["paid_on"] == paris_day
