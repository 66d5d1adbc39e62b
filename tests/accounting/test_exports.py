import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounting.exports import export_write_zip
from accounting.models import ExportJob
from accounting.services import export_build, export_request
from billing.models import Document
from billing.periods import period_close, period_parse
from billing.services import document_render_pdf
from billing.tax import LineInput

from .conftest import GERMAN_BUSINESS, US_CONSUMER, issue_credit_note, issue_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_export(django_capture_on_commit_callbacks):
    """export_request, with the build task run as it is on commit (eagerly)."""

    def run(period, user=None) -> ExportJob:
        with django_capture_on_commit_callbacks(execute=True):
            job = export_request(period=period, user=user)
        job.refresh_from_db()
        return job

    return run


def read_zip(data: bytes):
    archive = zipfile.ZipFile(io.BytesIO(data))
    journal = list(csv.DictReader(io.StringIO(archive.read("journal.csv").decode())))
    summary = list(csv.DictReader(io.StringIO(archive.read("vat_summary.csv").decode())))
    return archive, journal, summary


@pytest.fixture
def march():
    """March 2025: two EUR invoices (one reverse-charged to a German business),
    a USD invoice, their receipts and a credit note; plus documents of February
    and April that must stay out of the export."""
    issue_invoice(day=date(2025, 2, 28))
    first = issue_invoice(day=date(2025, 3, 3))
    issue_invoice(day=date(2025, 3, 14), buyer=GERMAN_BUSINESS)
    issue_invoice(
        day=date(2025, 3, 20), buyer=US_CONSUMER, currency="usd",
        lines=[LineInput(name="Pro plan", quantity=1, unit_amount=1999, vat_rate=Decimal("20"))],
    )
    issue_credit_note(invoice=first, day=date(2025, 3, 25), amount=1000)
    issue_invoice(day=date(2025, 4, 1))
    return period_parse("2025-03")


def test_export_holds_every_pdf_a_journal_and_a_vat_summary(march, request_export):
    job = request_export(march)
    assert job.status == ExportJob.Status.DONE, job.error
    # Progress: 7 PDFs rendered first (none existed), then 7 copied into the ZIP.
    assert (job.done, job.total, job.percent, job.document_count) == (14, 14, 100, 7)

    with job.file.open("rb") as handle:
        archive, journal, summary = read_zip(handle.read())
    in_march = Document.objects.filter(issued_at__date__gte=date(2025, 3, 1), issued_at__date__lt=date(2025, 4, 1))
    pdfs = sorted(n for n in archive.namelist() if n.endswith(".pdf"))
    assert pdfs == sorted(
        f"{ {'invoice': 'invoices', 'receipt': 'receipts', 'credit_note': 'credit_notes'}[d.kind] }/{d.number}.pdf"
        .replace(" ", "") for d in in_march
    )
    assert len(pdfs) == 7
    # Every PDF was rendered first (none existed) and is the stored file.
    for document in in_march:
        assert document.has_pdf
        with document.pdf.open("rb") as stored:
            folder = {"invoice": "invoices", "receipt": "receipts", "credit_note": "credit_notes"}[document.kind]
            assert archive.read(f"{folder}/{document.number}.pdf") == stored.read()

    # Journal: one row per document, amounts as decimal text, credit notes negative.
    assert [row["number"] for row in journal] == [
        "CN-2025-000001", "INV-2025-000002", "INV-2025-000003", "INV-2025-000004",
        "RCT-2025-000002", "RCT-2025-000003", "RCT-2025-000004",
    ]
    assert list(journal[0])[:8] == ["number", "date", "kind", "customer", "customer_email", "vat_id", "country",
                                    "currency"]
    assert {"net_20%", "vat_20%", "net_5.5%", "vat_5.5%", "net_0% AE", "vat_0% AE"} <= set(journal[0])
    by_number = {row["number"]: row for row in journal}
    assert by_number["CN-2025-000001"]["gross"] == "-10.00"
    assert by_number["CN-2025-000001"]["related_invoice"] == "INV-2025-000002"
    assert by_number["INV-2025-000002"]["net_20%"] == "26.67" and by_number["INV-2025-000002"]["vat_20%"] == "5.33"
    assert by_number["INV-2025-000002"]["net_5.5%"] == "36.97" and by_number["INV-2025-000002"]["gross"] == "71.00"
    assert by_number["INV-2025-000003"]["net_0% AE"] == "71.00"
    assert by_number["INV-2025-000003"]["vat_id"] == "DE136695976"
    assert by_number["INV-2025-000004"]["currency"] == "USD" and by_number["INV-2025-000004"]["gross"] == "19.99"
    # Its VAT (3.33 USD) in euros at the ECB rate of the day before.
    assert [by_number["INV-2025-000004"][k] for k in ("vat_total_eur", "eur_rate", "eur_rate_date")] == [
        "3.08", "1.0812", "2025-03-19"]
    # Journal totals equal the documents' totals, per kind and currency.
    for kind, sign in (("invoice", 1), ("receipt", 1), ("credit_note", -1)):
        for currency in ("eur", "usd"):
            docs = in_march.filter(kind=kind, currency=currency)
            expected = docs.aggregate(s=Sum("total_gross"))["s"] or 0
            got = sum(Decimal(r["gross"]) for r in journal if r["kind"] == kind and r["currency"] == currency.upper())
            assert got == Decimal(sign * expected) / 100, (kind, currency)

    # VAT summary: invoices minus credit notes, per country, currency, category and rate.
    rows = {(r["country"], r["currency"], r["vat_category"], r["vat_rate"]): r for r in summary}
    assert set(rows) == {("FR", "EUR", "S", "20.00"), ("FR", "EUR", "S", "5.50"), ("DE", "EUR", "AE", "0.00"),
                         ("US", "USD", "S", "20.00")}
    fr20 = rows[("FR", "EUR", "S", "20.00")]
    # Invoice 32.00 gross at 20 % (26.67 + 5.33) minus the credit note's share at 20 %.
    note = Document.objects.get(number="CN-2025-000001").snapshot["vat_breakdown"]
    credited20 = next(r for r in note if r["rate"] == "20.00")
    assert (fr20["invoices"], fr20["credit_notes"]) == ("1", "1")
    assert Decimal(fr20["net"]) == Decimal(2667 - credited20["net"]) / 100
    assert Decimal(fr20["vat"]) == Decimal(533 - credited20["tax"]) / 100
    assert rows[("DE", "EUR", "AE", "0.00")]["vat"] == "0.00"
    assert rows[("US", "USD", "S", "20.00")]["gross"] == "19.99"
    for currency in ("EUR", "USD"):
        vat_total = sum(Decimal(r["vat"]) for r in summary if r["currency"] == currency)
        journal_vat = sum(
            Decimal(r["vat_total"]) for r in journal if r["currency"] == currency and r["kind"] != "receipt"
        )
        assert vat_total == journal_vat


def test_the_zip_is_reproducible(march, tmp_path):
    for document in Document.objects.all():
        document_render_pdf(document_id=document.pk)
    outputs = []
    for name in ("a.zip", "b.zip"):
        with open(tmp_path / name, "w+b") as handle:
            export_write_zip(period=march, handle=handle)
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    info = zipfile.ZipFile(io.BytesIO(outputs[0])).infolist()
    assert [i.filename for i in info[:3]] == ["journal.csv", "vat_summary.csv", "README.txt"]
    assert {i.date_time for i in info} == {(2025, 3, 1, 0, 0, 0)}


def test_a_closed_period_is_exported_once_and_served_again(march, accountant, request_export):
    open_export = request_export(march, accountant)
    assert not ExportJob.objects.get(pk=open_export.pk).final
    period_close(period=march, user=accountant)

    first = request_export(march, accountant)
    second = request_export(march, accountant)
    assert first.pk == second.pk != open_export.pk
    first.refresh_from_db()
    assert first.final and first.status == ExportJob.Status.DONE
    assert first.file.name == "exports/2025-03/documents-2025-03.zip"
    assert ExportJob.objects.filter(label="2025-03", final=True).count() == 1
    # Rebuilding the same closed period gives byte-identical files.
    with first.file.open("rb") as handle:
        stored = handle.read()
    rebuilt = io.BytesIO()
    export_write_zip(period=march, handle=rebuilt)
    assert rebuilt.getvalue() == stored


def test_building_twice_is_harmless(march, request_export):
    job = request_export(march)
    name = job.file.name
    assert export_build(job_id=job.pk).file.name == name


def test_an_empty_period_exports_headers_only(request_export):
    job = request_export(period_parse("2024-07"))
    assert job.status == ExportJob.Status.DONE and job.document_count == 0
    with job.file.open("rb") as handle:
        archive, journal, summary = read_zip(handle.read())
    assert journal == [] and summary == [] and "README.txt" in archive.namelist()


def test_receipts_nobody_downloaded_are_in_the_export_as_their_download_gives_them(march, request_export, client):
    """The workers render invoices and credit notes; receipts wait for their
    first download. The export renders those (outside its transaction) and
    holds the very bytes a later download serves."""
    from billing.rendering import snapshot_to_pdf

    for document in Document.objects.exclude(kind=Document.Kind.RECEIPT):
        document_render_pdf(document_id=document.pk)
    receipts = Document.objects.filter(kind=Document.Kind.RECEIPT, issued_at__date__gte=date(2025, 3, 1),
                                       issued_at__date__lt=date(2025, 4, 1))
    assert receipts.count() == 3 and not any(r.has_pdf for r in receipts)

    job = request_export(march)
    assert job.status == ExportJob.Status.DONE, job.error
    with job.file.open("rb") as handle:
        archive, _, _ = read_zip(handle.read())
    for receipt in receipts:
        data = archive.read(f"receipts/{receipt.number}.pdf")
        assert data == snapshot_to_pdf(snapshot=receipt.snapshot)
        client.force_login(receipt.customer or _staff())
        response = client.get(f"/documents/{receipt.pk}/pdf/")
        assert response.status_code == 200 and b"".join(response.streaming_content) == data


def _staff():
    from tests.factories import UserFactory

    return UserFactory(is_staff=True)
