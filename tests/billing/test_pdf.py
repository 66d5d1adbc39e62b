import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing import pdf_engine
from billing.models import Document
from billing.rendering import (
    WARM_UP_SNAPSHOT,
    document_html,
    document_standalone_html,
    html_to_pdf,
    snapshot_to_pdf,
    warm_up,
)
from billing.services import credit_note_issue, document_pdf_bytes, document_render_pdf
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


def _render_in_a_new_process(snapshot: dict) -> bytes:
    """snapshot_to_pdf in a fresh interpreter: nothing shared with this one."""
    code = (
        "import json, sys, django; django.setup();"
        "from billing.rendering import snapshot_to_pdf;"
        "sys.stdout.buffer.write(snapshot_to_pdf(snapshot=json.load(sys.stdin)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(snapshot).encode(), capture_output=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120, check=True)
    return done.stdout


def test_a_document_renders_byte_for_byte_the_same_whenever_it_is_rendered():
    _, invoice, receipt = issued_pair()
    note = credit_note_issue(invoice_id=invoice.pk, amount=100, reason="Late delivery")
    for document in (invoice, receipt, note):
        stored = document_pdf_bytes(document=document_render_pdf(document_id=document.pk))
        # Lost and rendered again (the download view, the sweep): the same file.
        document.refresh_from_db()
        document.pdf.storage.delete(document.pdf.name)
        again = document_pdf_bytes(document=document_render_pdf(document_id=document.pk))
        assert again == stored, document.number
        assert snapshot_to_pdf(snapshot=document.snapshot) == stored
    # Another process (another worker, next year's server) renders the same bytes.
    expected = hashlib.sha256(document_pdf_bytes(document=Document.objects.get(pk=invoice.pk))).hexdigest()
    assert hashlib.sha256(_render_in_a_new_process(invoice.snapshot)).hexdigest() == expected


def test_documents_print_exactly_as_a_plain_weasyprint_render_of_their_html():
    """The shared stylesheet, fonts and trimmed user-agent stylesheet change
    nothing a reader sees: the PDF is byte for byte what WeasyPrint's defaults
    give for the same HTML with the stylesheet inlined."""
    from weasyprint import HTML

    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    book = product(name="A very long product name that needs two lines in the description column",
                   unit_amount=2110, rate="5.5")
    _, invoice, receipt = issued_pair(lines=[(mug, 2), (book, 1)])
    note = credit_note_issue(invoice_id=invoice.pk, amount=500, reason="Late delivery")
    for document in (invoice, receipt, note):
        html = document_html(snapshot=document.snapshot)
        standalone = HTML(string=document_standalone_html(snapshot=document.snapshot))
        ours = pdf_engine.html_to_pdf(html)
        assert ours == standalone.write_pdf(), document.number
        assert len(PdfReader(io.BytesIO(ours)).pages) == 1
        # The same as PDF/A-3b, the variant the shop stores.
        assert html_to_pdf(html) == standalone.write_pdf(pdf_variant="pdf/a-3b"), document.number


def test_the_warm_up_sample_is_a_complete_one_page_e_invoice():
    """A worker process renders this sample when it starts (billing.tasks):
    it must stay a valid snapshot that exercises the whole layout and the
    Factur-X XML, or the first customer's invoice pays for the warm-up."""
    from facturx import get_facturx_xml_from_pdf, xml_check_xsd

    warm_up()
    snapshot = json.loads(WARM_UP_SNAPSHOT.read_text())
    pdf = snapshot_to_pdf(snapshot=snapshot)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ["Invoice", snapshot["number"], "VAT BREAKDOWN", "Total incl. VAT", "Paid", "Page 1 of 1"]:
        assert expected in text, expected
    _, xml = get_facturx_xml_from_pdf(pdf)
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931")


def test_a_web_process_warms_up_with_the_sample_as_a_receipt():
    """Web processes render receipts (on their first download): they warm up
    with the same sample printed as a receipt (config/wsgi.py)."""
    from billing.rendering import warm_up_receipt, warm_up_receipt_snapshot

    warm_up_receipt()
    snapshot = warm_up_receipt_snapshot()
    reader = PdfReader(io.BytesIO(snapshot_to_pdf(snapshot=snapshot)))
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1 and "Receipt" in text and "Amount received" in text


def test_document_html_has_no_whitespace_between_tags():
    """Rendered spaceless (WeasyPrint parses and then drops that whitespace on
    every render); the text between tags keeps its spaces."""
    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    order, invoice, _ = issued_pair(lines=[(mug, 1)])
    html = document_html(snapshot=invoice.snapshot).strip()
    assert "\n<" not in html and ">\n" not in html and ">  <" not in html
    assert f"{order.number} <span class=\"muted\">of " in html


def test_a_receipt_rendered_on_its_first_download_is_the_one_an_eager_render_gave(client, settings, monkeypatch):
    """Receipts are rendered on their first download, however late: the file
    is byte for byte the one a worker would have stored right after issuing,
    whatever changed since (the seller's settings, the catalogue, the clock,
    a credit note, other documents), in this process or another."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.emails import document_download_url

    mug = product(name="Blue mug", unit_amount=1250, rate="20")
    _, invoice, receipt = issued_pair(lines=[(mug, 2)])
    early = snapshot_to_pdf(snapshot=receipt.snapshot)  # what an eager worker stored before
    assert not Document.objects.get(pk=receipt.pk).has_pdf

    # Later: the seller moved, the product was renamed, the invoice credited,
    # other orders paid, a year went by.
    settings.SHOP_SELLER = {**settings.SHOP_SELLER, "name": "Renamed Shop SAS", "city": "Lyon"}
    mug.name = "Renamed mug"
    mug.save()
    credit_note_issue(invoice_id=invoice.pk, amount=500, reason="Late delivery")
    issued_pair()
    a_year_later = timezone.now() + timedelta(days=366)
    monkeypatch.setattr(timezone, "now", lambda: a_year_later)

    response = client.get(document_download_url(receipt).removeprefix(settings.SITE_URL))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == early
    stored = Document.objects.get(pk=receipt.pk)
    assert stored.pdf_sha256 == hashlib.sha256(early).hexdigest()
    assert stored.pdf_rendered_at == a_year_later
    assert "Blue mug" in pdf_text(stored) and "Renamed" not in pdf_text(stored)
    # Another process renders it the same.
    assert _render_in_a_new_process(receipt.snapshot) == early
