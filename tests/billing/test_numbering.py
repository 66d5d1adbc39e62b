from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.db import transaction

from billing.models import Document
from billing.numbering import document_number_next, format_document_number
from tests.billing.factories import PaidOrderFactory, issued_pair, subscription_invoice


class Boom(Exception):
    pass


def test_format():
    assert format_document_number(series="INV", year=2026, sequence=1) == "INV-2026-000001"
    assert format_document_number(series="CN", year=2026, sequence=1234567) == "CN-2026-1234567"


@pytest.mark.django_db
def test_numbers_follow_each_other_per_series():
    _, inv1, rct1 = issued_pair()
    _, inv2, rct2 = issued_pair()
    year = inv1.year
    assert [inv1.number, inv2.number] == [f"INV-{year}-000001", f"INV-{year}-000002"]
    assert [rct1.number, rct2.number] == [f"RCT-{year}-000001", f"RCT-{year}-000002"]
    assert (inv2.series, inv2.year, inv2.sequence) == ("INV", year, 2)


@pytest.mark.django_db
def test_subscription_invoices_share_the_invoice_series():
    _, inv1, _ = issued_pair()
    sub = subscription_invoice()
    assert sub.series == "INV"
    assert sub.sequence == inv1.sequence + 1


@pytest.mark.django_db
def test_numbers_restart_each_year():
    old = subscription_invoice(stripe_invoice_id="in_2025", issued_at=datetime(2025, 12, 31, 12, tzinfo=dt_timezone.utc))
    new = subscription_invoice(stripe_invoice_id="in_2026", issued_at=datetime(2026, 1, 1, 12, tzinfo=dt_timezone.utc))
    newer = subscription_invoice(stripe_invoice_id="in_2026b", issued_at=datetime(2026, 1, 2, 12, tzinfo=dt_timezone.utc))
    assert old.number == "INV-2025-000001"
    assert new.number == "INV-2026-000001"
    assert newer.number == "INV-2026-000002"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_issue_leaves_no_gap():
    first = subscription_invoice(stripe_invoice_id="in_1")
    with pytest.raises(Boom):
        with transaction.atomic():
            burnt = subscription_invoice(stripe_invoice_id="in_2")
            assert burnt.sequence == first.sequence + 1
            raise Boom  # e.g. a later step of the issuing transaction failed
    assert not Document.objects.filter(stripe_invoice_id="in_2").exists()
    again = subscription_invoice(stripe_invoice_id="in_3")
    assert again.sequence == first.sequence + 1
    assert list(Document.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_a_failed_order_issue_burns_no_number(monkeypatch):
    order = PaidOrderFactory()
    import orders.documents as documents

    def broken_receipt(**kwargs):
        raise Boom

    monkeypatch.setattr(documents, "receipt_issue", broken_receipt)
    with pytest.raises(Boom):
        documents.order_documents_issue(order_id=order.pk)
    assert not Document.objects.exists()
    monkeypatch.undo()
    invoice, receipt = documents.order_documents_issue(order_id=order.pk)
    assert invoice.sequence == 1 and receipt.sequence == 1


@pytest.mark.django_db(transaction=True)
def test_numbers_are_taken_inside_a_transaction_only():
    with pytest.raises(RuntimeError):
        document_number_next(kind=Document.Kind.INVOICE, year=2026)
