"""Dashboard tests: orders, refunds, disputes, subscription invoices and
subscriptions placed on known days of last month, and staff to look at them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from djstripe.models import Customer, Subscription

from billing.models import Document
from orders.models import Order
from payments.models import Dispute, Refund
from tests.factories import OrderFactory, ProductFactory, UserFactory


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def last_month() -> date:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def paid_order(day: date, amount: int, currency: str = "eur", hour: int = 12) -> Order:
    order = OrderFactory(lines=[(ProductFactory(unit_amount=amount, currency=currency), 1)], currency=currency)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=at(day, hour), amount_paid=amount,
                                             created_at=at(day, hour - 1))
    order.refresh_from_db()
    return order


def refund(order: Order, day: date, amount: int, status=Refund.Status.SUCCEEDED) -> Refund:
    refund = Refund.objects.create(order=order, amount=amount, currency=order.currency, status=status)
    Refund.objects.filter(pk=refund.pk).update(
        succeeded_at=at(day, 15) if status == Refund.Status.SUCCEEDED else None,
        failed_at=at(day, 15) if status == Refund.Status.FAILED else None, created_at=at(day, 14))
    return refund


_sequence = iter(range(1, 10_000))


def subscription_invoice(day: date, amount: int, invoice_id: str) -> Document:
    n = next(_sequence)
    return Document.objects.create(
        kind="invoice", number=f"INV-{day.year}-9{n:05d}", series="INV", year=day.year, sequence=900000 + n,
        issued_at=at(day, 9), stripe_invoice_id=invoice_id, customer_email="sub@example.com", currency="eur",
        total_net=amount - amount // 6, total_tax=amount // 6, total_gross=amount,
        snapshot={"kind": "invoice"}, pdf="", pdf_rendered_at=at(day, 9))


def subscription(sub_id: str, *, started: datetime, amount: int = 1900, interval: str = "month", status="active",
                 ended: datetime | None = None, trial_end: datetime | None = None) -> Subscription:
    customer = Customer.objects.create(id=f"cus_{sub_id}", livemode=False, stripe_data={"id": f"cus_{sub_id}"})
    data = {"id": sub_id, "status": status, "created": int(started.timestamp()),
            "ended_at": int(ended.timestamp()) if ended else None,
            "trial_end": int(trial_end.timestamp()) if trial_end else None,
            "items": {"data": [{"quantity": 1, "price": {"id": f"price_{interval}", "currency": "eur",
                                                         "unit_amount": amount,
                                                         "recurring": {"interval": interval, "interval_count": 1}}}]}}
    return Subscription.objects.create(id=sub_id, customer=customer, livemode=False, created=started,
                                       stripe_data=data)


@dataclass
class Seeded:
    month: date
    orders: list
    refunds: list


@pytest.fixture
def seeded(db) -> Seeded:
    """Last month: three paid orders (two on the 3rd, one on the 10th), a
    refund on the 12th, a failed refund (not counted), a subscription invoice
    on the 3rd; an order the month before (outside the daily chart)."""
    month = last_month()
    orders = [paid_order(month.replace(day=3), 4200), paid_order(month.replace(day=3), 1600, hour=18),
              paid_order(month.replace(day=10), 3900)]
    refunds = [refund(orders[0], month.replace(day=12), 1000), refund(orders[1], month.replace(day=12), 500,
                                                                      status=Refund.Status.FAILED)]
    paid_order((month - timedelta(days=5)).replace(day=1), 9900)
    subscription_invoice(month.replace(day=3), 1900, "in_dash_1")
    OrderFactory()  # placed today, awaiting payment
    Dispute.objects.create(order=orders[2], stripe_dispute_id="dp_dash_1", amount=3900, currency="eur",
                           status="needs_response", evidence_due_by=timezone.now() + timedelta(days=5))
    return Seeded(month=month, orders=orders, refunds=refunds)


@pytest.fixture
def support(db):
    user = UserFactory(username="support", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Support")
    group.permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["orders", "payments", "catalog", "billing", "subscriptions", "audit"],
        codename__startswith="view_"))
    user.groups.add(group)
    return user
