"""The sweeper for paid orders left without documents (a lost "issue
documents" task): one invoice and one receipt, however often it runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Document
from orders.models import Order
from orders.tasks import issue_missing_order_documents
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_a_paid_order_without_documents_gets_them_once(settings):
    paid = OrderFactory()
    Order.objects.filter(pk=paid.pk).update(status=Order.Status.PAID, amount_paid=paid.total,
                                            paid_at=timezone.now() - timedelta(minutes=5))
    just_paid = OrderFactory()
    Order.objects.filter(pk=just_paid.pk).update(status=Order.Status.PAID, amount_paid=just_paid.total,
                                                 paid_at=timezone.now())
    OrderFactory()  # awaiting payment: no documents

    assert issue_missing_order_documents() == 1  # the one paid minutes ago; the other's task may still run
    assert issue_missing_order_documents() == 0

    assert [d.kind for d in Document.objects.filter(order=paid).order_by("kind")] == ["invoice", "receipt"]
    assert not Document.objects.filter(order=just_paid).exists()
