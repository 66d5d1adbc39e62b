import pytest
from django.contrib.auth.models import AnonymousUser

from billing.selectors import document_can_download, document_list_for_customer, document_list_for_order
from billing.services import credit_note_issue
from tests.billing.factories import issued_pair, subscription_invoice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_list_for_customer():
    user = UserFactory()
    _, invoice, receipt = issued_pair(customer=user)
    sub = subscription_invoice(customer=user)
    issued_pair(customer=UserFactory())
    issued_pair()
    assert set(document_list_for_customer(user=user)) == {invoice, receipt, sub}
    assert list(document_list_for_customer(user=AnonymousUser())) == []


def test_list_for_order_in_issue_order():
    order, invoice, receipt = issued_pair()
    note = credit_note_issue(invoice_id=invoice.pk, amount=100)
    assert list(document_list_for_order(order_id=order.pk)) == [invoice, receipt, note]


def test_can_download_rules():
    owner = UserFactory()
    order, invoice, _ = issued_pair(customer=owner)
    _, guest_invoice, _ = issued_pair()
    guest_order = guest_invoice.order
    inactive_staff = UserFactory(is_staff=True, is_active=False)

    assert document_can_download(document=invoice, user=owner)
    assert not document_can_download(document=invoice, user=UserFactory())
    assert not document_can_download(document=invoice, user=AnonymousUser(), order_reference=order.reference)
    assert not document_can_download(document=invoice, user=inactive_staff)
    assert document_can_download(document=guest_invoice, user=AnonymousUser(), order_reference=guest_order.reference)
    assert document_can_download(
        document=guest_invoice, user=AnonymousUser(), order_reference=str(guest_order.reference).upper()
    )
    assert not document_can_download(document=guest_invoice, user=AnonymousUser(), order_reference=order.reference)
