from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from sequences import get_next_value

from accounting.audit import audit_document_numbers
from billing.models import Document
from billing.services import document_render_pdf

from .conftest import issue_credit_note, issue_invoice

pytestmark = pytest.mark.django_db


def _series(report, name):
    return next(s for s in report.series if f"{s.series}-{s.year}" == name)


def test_clean_series_pass(capsys):
    first = issue_invoice(day=date(2025, 5, 2))
    issue_invoice(day=date(2025, 5, 3))
    issue_credit_note(invoice=first, day=date(2025, 5, 4), amount=500)
    # What the workers render; receipts wait for their first download, and
    # are not counted as without PDF.
    for document in Document.objects.exclude(kind=Document.Kind.RECEIPT):
        document_render_pdf(document_id=document.pk)

    report = audit_document_numbers()
    assert report.ok and report.without_pdf_count == 0
    assert [(s.series, s.year, s.count, s.first_number, s.last_number) for s in report.series] == [
        ("INV", 2025, 2, "INV-2025-000001", "INV-2025-000002"),
        ("RCT", 2025, 2, "RCT-2025-000001", "RCT-2025-000002"),
        ("CN", 2025, 1, "CN-2025-000001", "CN-2025-000001"),
    ]
    call_command("audit_document_numbers")
    assert "Every series is gapless" in capsys.readouterr().out


def _raw_document(**fields):
    """A row written past the services (as a faulty import would), to audit."""
    base = Document.objects.filter(kind="invoice").first()
    values = {
        "kind": "invoice", "series": "INV", "year": 2025, "issued_at": base.issued_at, "currency": "eur",
        "total_net": 0, "total_tax": 0, "total_gross": 0, "snapshot": {"kind": "invoice"},
    }
    values.update(fields)
    return Document.objects.create(**values)


def test_gaps_duplicates_mismatches_and_missing_pdfs_are_listed(capsys):
    issue_invoice(day=date(2025, 5, 2), receipt=False)  # INV-2025-000001
    _raw_document(number="INV-2025-000004", sequence=4)  # 2 and 3 are missing
    _raw_document(number="INV-2025-000099", sequence=5)  # text does not match the sequence
    # The counter (at 1: the raw rows above took no number from it) moves to 6:
    # number 6 was given out and never used (a burnt number at the end).
    for _ in range(5):
        get_next_value("billing.INV.2025")

    audit = _series(audit_document_numbers(), "INV-2025")
    assert not audit.ok
    assert audit.missing == [(2, 3), (6, 6)]
    assert audit.missing_numbers == ["INV-2025-000002 … INV-2025-000003 (2)", "INV-2025-000006"]
    assert audit.mismatches == ["INV-2025-000099: its sequence is 5, so its number should be INV-2025-000005"]
    assert audit.without_pdf == ["INV-2025-000001", "INV-2025-000004", "INV-2025-000099"]

    with pytest.raises(CommandError):
        call_command("audit_document_numbers", "--year", "2025")
    out = capsys.readouterr().out
    assert "missing: INV-2025-000002 … INV-2025-000003 (2)" in out
    assert "mismatch: INV-2025-000099" in out
    assert "without PDF (3)" in out


def test_a_document_in_the_wrong_series_or_year_is_a_mismatch():
    issue_invoice(day=date(2025, 5, 2), receipt=False)
    _raw_document(kind="receipt", number="INV-2025-000002", sequence=2)
    _raw_document(number="INV-2025-000003", sequence=3, issued_at=timezone.now().replace(year=2024))
    audit = _series(audit_document_numbers(), "INV-2025")
    assert any("a receipt numbered in the INV series" in m for m in audit.mismatches)
    assert any("numbered in 2025" in m for m in audit.mismatches)
