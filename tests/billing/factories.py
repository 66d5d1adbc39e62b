"""Billing test factories: paid orders (with their card payment) and issued documents.

Built on the shared factories in tests/factories.py.
"""

from decimal import Decimal

import factory
from django.utils import timezone

from billing.services import invoice_issue
from billing.tax import LineInput
from core.types import Buyer
from orders.documents import order_documents_issue
from orders.models import Order
from payments.models import Payment
from payments.services import payment_reference
from tests.factories import OrderFactory, ProductFactory, TaxRateFactory, UserFactory  # noqa: F401


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = None
    status = Payment.Status.SUCCEEDED
    amount = factory.LazyAttribute(lambda p: p.order.total)
    currency = factory.LazyAttribute(lambda p: p.order.currency)
    stripe_payment_intent_id = factory.LazyAttribute(lambda p: p.order.stripe_payment_intent_id)
    stripe_charge_id = factory.Sequence(lambda n: f"ch_test_{n:06d}")
    card_brand = "visa"
    card_last4 = "4242"


class PaidOrderFactory(OrderFactory):
    """A paid order with a successful card payment (Visa •••• 4242).
    Lines as in OrderFactory: `PaidOrderFactory(lines=[(product, qty), ...])`."""

    status = Order.Status.PAID
    paid_at = factory.LazyFunction(timezone.now)
    stripe_payment_intent_id = factory.Sequence(lambda n: f"pi_test_{n:06d}")

    @factory.post_generation
    def payment(order, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        payment = PaymentFactory(order=order, **kwargs)
        # What payments.services records when Stripe confirms the payment.
        order.amount_paid = order.total
        order.payment_reference = payment_reference(payment)
        order.save(update_fields=["amount_paid", "payment_reference"])


def product(*, name: str, unit_amount: int, rate: str = "20.00", **kwargs):
    return ProductFactory(
        name=name, unit_amount=unit_amount, tax_rate=TaxRateFactory(rate=Decimal(rate)), **kwargs
    )


def issued_pair(**order_kwargs):
    """(order, invoice, receipt) for a fresh paid order."""
    order = PaidOrderFactory(**order_kwargs)
    invoice, receipt = order_documents_issue(order_id=order.pk)
    return order, invoice, receipt


def subscription_invoice(*, stripe_invoice_id: str = "in_test_1", amount: int = 999, customer=None, **kwargs):
    """An invoice issued the way subscription invoices will be (no order)."""
    return invoice_issue(
        buyer=Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way",
                    postal_code="10001", city="New York", country="US"),
        lines=[LineInput(name="Pro plan (monthly)", quantity=1, unit_amount=amount, vat_rate=Decimal("20"))],
        currency="eur",
        customer=customer,
        stripe_invoice_id=stripe_invoice_id,
        **kwargs,
    )
