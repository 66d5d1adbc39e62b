"""Issued documents cannot be altered: on PostgreSQL a trigger refuses raw
SQL changes of their legal fields, lines and VAT rows; the stored PDF's
SHA-256 is kept and the number audit checks it; deleting a customer keeps
their documents. Lines and VAT rows sit beside the snapshot as rows."""

import io
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from lxml import etree
from pypdf import PdfReader

from accounting.audit import audit_document_numbers
from billing.facturx import facturx_xml
from billing.models import Document, DocumentLine, DocumentVatTotal
from billing.rendering import document_html
from billing.services import document_render_pdf, invoice_issue, receipt_issue
from billing.tax import LineInput
from core.types import Buyer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigger is PostgreSQL's")

BUYER = Buyer(name="Ada Lovelace", email="ada@example.com", address_line1="1 Analytical Street",
              postal_code="75001", city="Paris", country="FR")
LINES = [
    LineInput(name="Sticker", quantity=3, unit_amount=100, vat_rate=Decimal("20")),
    LineInput(name="Stoneware mug", quantity=2, unit_amount=1250, vat_rate=Decimal("20")),
    LineInput(name="Coffee beans", quantity=3, unit_amount=1290, vat_rate=Decimal("5.5")),
    LineInput(name="Newspaper", quantity=7, unit_amount=199, vat_rate=Decimal("2.1")),
]
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def issue(customer=None):
    return invoice_issue(buyer=BUYER, lines=LINES, currency="eur", customer=customer)


def refused(sql, params):
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


@postgres_only
def test_raw_sql_cannot_alter_or_delete_an_issued_document():
    invoice = issue()
    assert "legal fields cannot change" in refused(
        "UPDATE billing_document SET total_gross = total_gross + 100, total_net = total_net + 100 WHERE id = %s",
        [invoice.pk])
    assert "legal fields cannot change" in refused(
        "UPDATE billing_document SET snapshot = '{}'::jsonb WHERE id = %s", [invoice.pk])
    assert "cannot be deleted" in refused("DELETE FROM billing_document WHERE id = %s", [invoice.pk])
    assert "cannot change" in refused("UPDATE billing_documentline SET net = net + 1, gross = gross + 1 "
                                      "WHERE document_id = %s", [invoice.pk])
    assert "cannot change" in refused("DELETE FROM billing_documentvattotal WHERE document_id = %s", [invoice.pk])
    # What may change: the rendering and sending bookkeeping.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_document SET emailed_at = now() WHERE id = %s", [invoice.pk])
    rendered = document_render_pdf(document_id=invoice.pk)
    assert len(rendered.pdf_sha256) == 64
    assert "PDF cannot be replaced" in refused("UPDATE billing_document SET pdf = 'documents/other.pdf' "
                                               "WHERE id = %s", [invoice.pk])
    invoice.refresh_from_db()
    assert invoice.total_gross == sum(line.gross for line in LINES) and invoice.pdf.name == rendered.pdf.name


def test_the_number_audit_finds_a_replaced_pdf():
    invoice = document_render_pdf(document_id=issue().pk)
    assert audit_document_numbers().ok
    with invoice.pdf.storage.open(invoice.pdf.name, "wb") as handle:
        handle.write(b"%PDF-1.7 an altered copy")
    report = audit_document_numbers()
    assert not report.ok
    series = next(s for s in report.series if s.series == "INV")
    assert any(invoice.number in m and "SHA-256" in m for m in series.mismatches)


def test_a_rendered_pdf_cannot_be_replaced_through_the_model():
    from billing.exceptions import DocumentImmutable

    invoice = document_render_pdf(document_id=issue().pk)
    invoice.pdf_sha256 = "0" * 64
    with pytest.raises(DocumentImmutable):
        invoice.save(update_fields=["pdf_sha256"])


def test_deleting_a_customer_keeps_their_documents():
    user = UserFactory(username="ada@example.com", email="ada@example.com")
    invoice = issue(customer=user)
    user.delete()
    invoice.refresh_from_db()
    assert invoice.customer is None
    assert invoice.customer_email == "ada@example.com"
    assert invoice.snapshot["buyer"]["name"] == "Ada Lovelace"
    assert invoice.snapshot["buyer"]["address_lines"][0] == "1 Analytical Street"


def test_lines_and_vat_rows_beside_the_snapshot_sum_to_the_totals():
    invoice = issue()
    rows = list(DocumentLine.objects.filter(document=invoice))
    assert [(r.name, r.quantity, r.net, r.gross) for r in rows] == [
        (line["name"], line["quantity"], line["net"], line["gross"]) for line in invoice.snapshot["lines"]]
    assert sum(r.net for r in rows) == invoice.total_net and sum(r.tax for r in rows) == invoice.total_tax
    vat = {(r.vat_category, f"{r.vat_rate:.2f}"): (r.net, r.tax) for r in DocumentVatTotal.objects.filter(
        document=invoice)}
    assert vat == {(b["category"], b["rate"]): (b["net"], b["tax"]) for b in invoice.snapshot["vat_breakdown"]}


def test_the_pdfs_unit_prices_line_nets_and_vat_breakdown_agree_with_the_xml_to_the_cent():
    invoice = issue()
    snap = invoice.snapshot
    tree = etree.fromstring(facturx_xml(snap))
    prices = tree.xpath("//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()", namespaces=NS)
    nets = tree.xpath("//ram:SpecifiedLineTradeSettlement//ram:LineTotalAmount/text()", namespaces=NS)
    html = document_html(snapshot=snap)
    for line, price, net in zip(snap["lines"], prices, nets, strict=True):
        # The unit price excl. VAT printed is the XML's, rounded to the cent; the line net is the XML's.
        assert Decimal(price).quantize(Decimal("0.01")) == Decimal(line["unit_net"]) / 100
        assert Decimal(net) == Decimal(line["net"]) / 100
        assert f"€{Decimal(line['unit_net']) / 100:.2f}" in html
        assert f"€{Decimal(line['net']) / 100:.2f}" in html  # the line's net, printed as the XML has it
    basis = tree.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:BasisAmount/text()",
                       namespaces=NS)
    assert [Decimal(b) for b in basis] == [Decimal(row["net"]) / 100 for row in snap["vat_breakdown"]]
    # The lines add up to each rate's net, so the XML's own totals hold too.
    assert sum(Decimal(n) for n in nets) == Decimal(invoice.total_net) / 100


def test_receipts_are_pdf_a_and_say_they_are_not_an_invoice():
    invoice = issue()
    receipt = document_render_pdf(document_id=receipt_issue(invoice=invoice).pk)
    with receipt.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp
    text = " ".join(reader.pages[0].extract_text().split())
    assert f"payment of invoice {invoice.number}; it is not an invoice" in text
    assert Document.objects.get(pk=receipt.pk).pdf_sha256
