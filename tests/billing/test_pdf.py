import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing.models import Document
from billing.services import credit_note_issue, document_render_pdf
from tests.billing.factories import issued_pair, product

pytestmark = pytest.mark.django_db


def pdf_text(document: Document) -> str:
    with document.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_invoice_pdf_shows_what_the_snapshot_says(billing_media_root):
    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    book = product(name="Django book", unit_amount=2110, rate="5.5")
    order, invoice, _ = issued_pair(lines=[(mug, 2), (book, 1)])

    rendered = document_render_pdf(document_id=invoice.pk)

    assert rendered.pdf.name == f"documents/{invoice.year}/{invoice.number}.pdf"
    assert Path(billing_media_root, rendered.pdf.name).is_file()
    assert rendered.pdf_rendered_at is not None
    text = pdf_text(rendered)
    for expected in [
        invoice.number,
        order.number,
        "Blue mug",
        "Django book",
        "Example Shop SAS",
        "FR40123456824",
        "Ada Lovelace",
        "VAT 20% €20.83 €4.17 €25.00",
        "VAT 5.5% €20.00 €1.10 €21.10",
        "Total incl. VAT €46.10",
        "Card Visa •••• 4242",
    ]:
        assert expected in text, expected


def test_rendering_twice_keeps_the_first_pdf():
    _, invoice, _ = issued_pair()
    first = document_render_pdf(document_id=invoice.pk)
    second = document_render_pdf(document_id=invoice.pk)
    assert second.pdf.name == first.pdf.name
    assert second.pdf_rendered_at == first.pdf_rendered_at


def test_pdf_comes_from_the_snapshot_only():
    mug = product(name="Blue mug", unit_amount=1250)
    order, invoice, _ = issued_pair(lines=[(mug, 1)])
    mug.name = "Renamed mug"
    mug.save()
    order.lines.update(name="Renamed line")
    text = pdf_text(document_render_pdf(document_id=invoice.pk))
    assert "Blue mug" in text and "Renamed" not in text


def test_receipt_and_credit_note_pdfs():
    mug = product(name="Blue mug", unit_amount=1200)
    _, invoice, receipt = issued_pair(lines=[(mug, 1)])
    text = pdf_text(document_render_pdf(document_id=receipt.pk))
    assert receipt.number in text and invoice.number in text and "Amount received €12.00" in text

    note = credit_note_issue(invoice_id=invoice.pk, amount=500, reason="Late delivery")
    text = pdf_text(document_render_pdf(document_id=note.pk))
    assert note.number in text and invoice.number in text and "Late delivery" in text
    # Printed, a credit note's amounts are negative (stored positive).
    assert "Total credited incl. VAT -€5.00" in text


def test_a_lost_file_is_rendered_again():
    _, invoice, _ = issued_pair()
    rendered = document_render_pdf(document_id=invoice.pk)
    rendered.pdf.storage.delete(rendered.pdf.name)
    again = document_render_pdf(document_id=invoice.pk)
    assert again.pdf.name == rendered.pdf.name
    assert again.pdf.storage.exists(again.pdf.name)
