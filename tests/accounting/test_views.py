import io
import json
import zipfile
from datetime import date

import pytest
from django.urls import reverse

from accounting.models import ExportJob
from billing.models import ClosedPeriod, Document
from billing.services import document_render_pdf

from .conftest import GERMAN_BUSINESS, US_CONSUMER, issue_credit_note, issue_invoice

pytestmark = pytest.mark.django_db

PAGES = [
    ("accounting:document_list", []),
    ("accounting:export_list", []),
    ("accounting:period_list", []),
    ("accounting:audit", []),
]


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    for name, args in PAGES:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=/accounting/")


@pytest.mark.parametrize("role", ["customer", "support"])
def test_customers_and_support_staff_are_refused(client, role, request):
    client.force_login(request.getfixturevalue(role))
    for name, args in PAGES:
        assert client.get(reverse(name, args=args)).status_code == 403
    job = ExportJob.objects.create(label="2025-03", kind="month", start=date(2025, 3, 1), end=date(2025, 4, 1))
    for name in ("accounting:export_detail", "accounting:export_status", "accounting:export_download"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 403
    assert client.post(reverse("accounting:export_list"), {"period": "2025-03"}).status_code == 403
    assert client.post(reverse("accounting:period_list"), {"period": "2025-03", "confirm": "yes"}).status_code == 403
    assert not ClosedPeriod.objects.exists() and ExportJob.objects.count() == 1


def _numbers(response) -> list[str]:
    return [doc.number for doc in response.context["page"].object_list]


def test_the_accountant_sees_every_document_and_filters_them(client, accountant, customer):
    first = issue_invoice(day=date(2025, 3, 3))
    issue_invoice(day=date(2025, 3, 14), buyer=GERMAN_BUSINESS, receipt=False)
    issue_invoice(day=date(2025, 4, 2), buyer=US_CONSUMER, currency="usd", receipt=False)
    issue_credit_note(invoice=first, day=date(2025, 3, 20), amount=500)
    document_render_pdf(document_id=first.pk)
    client.force_login(accountant)
    url = reverse("accounting:document_list")

    response = client.get(url)
    assert response.status_code == 200
    assert response.context["total"] == Document.objects.count() == 5
    assert b"INV-2025-000003" in response.content and b"Download" in response.content

    assert _numbers(client.get(url, {"period": "2025-03"})) == [
        "CN-2025-000001", "INV-2025-000002", "RCT-2025-000001", "INV-2025-000001"]
    assert _numbers(client.get(url, {"period": "2025-Q2"})) == ["INV-2025-000003"]
    assert _numbers(client.get(url, {"date_from": "2025-03-10", "date_to": "2025-03-20"})) == [
        "CN-2025-000001", "INV-2025-000002"]
    assert _numbers(client.get(url, {"kind": "credit_note"})) == ["CN-2025-000001"]
    assert _numbers(client.get(url, {"customer": "MUSTER"})) == ["INV-2025-000002"]
    assert _numbers(client.get(url, {"currency": "usd"})) == ["INV-2025-000003"]
    assert _numbers(client.get(url, {"status": "pdf_rendered"})) == ["INV-2025-000001"]
    assert len(_numbers(client.get(url, {"status": "pdf_missing"}))) == 4
    assert _numbers(client.get(url, {"number": "rct-2025"})) == ["RCT-2025-000001"]
    bad = client.get(url, {"period": "March"})
    assert bad.status_code == 200 and "Write a period as" in bad.content.decode()

    # Each row links to billing's download view, which accountants may use.
    pdf = client.get(reverse("billing:document_pdf", args=[first.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # Accountants change nothing: no write view exists for documents here.
    client.force_login(customer)
    assert client.get(reverse("billing:document_pdf", args=[first.pk])).status_code == 404


def test_documents_are_paginated(client, accountant):
    for day in range(1, 28):
        issue_invoice(day=date(2025, 5, day), receipt=False)
    issue_invoice(day=date(2025, 5, 28), receipt=True)  # 29 documents, 1 receipt
    for i in range(30):
        issue_invoice(day=date(2025, 6, 1 + i % 28), receipt=False)
    client.force_login(accountant)
    url = reverse("accounting:document_list")
    first = client.get(url)
    assert first.context["total"] == 59 and len(_numbers(first)) == 50
    second = client.get(url, {"page": 2})
    assert len(_numbers(second)) == 9
    assert client.get(url, {"period": "2025-05", "page": 1}).context["total"] == 29


def test_export_through_the_pages(client, accountant, django_capture_on_commit_callbacks):
    issue_invoice(day=date(2025, 3, 3))
    client.force_login(accountant)
    page = client.get(reverse("accounting:export_list"))
    assert page.status_code == 200 and b"2025-03" in page.content  # a choice of the period <select>

    with django_capture_on_commit_callbacks(execute=True):  # the build task, as on commit
        response = client.post(reverse("accounting:export_list"), {"period": "2025-03"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("accounting:export_detail", args=[job.pk])
    detail = client.get(response["Location"])
    assert b'data-status-url="/accounting/exports/' in detail.content and b"<progress" in detail.content

    status = json.loads(client.get(reverse("accounting:export_status", args=[job.pk])).content)
    assert status["status"] == "done" and status["percent"] == 100 and status["documents"] == 2
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert 'filename="documents-2025-03.zip"' in download["Content-Disposition"]
    data = b"".join(download.streaming_content)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "invoices/INV-2025-000001.pdf" in names and "receipts/RCT-2025-000001.pdf" in names


def test_closing_a_period_through_the_page(client, accountant):
    issue_invoice(day=date(2025, 3, 3))
    client.force_login(accountant)
    url = reverse("accounting:period_list")
    refused = client.post(url, {"period": "2025-03"}, follow=True)
    assert b"Tick the box" in refused.content and not ClosedPeriod.objects.exists()

    closed = client.post(url, {"period": "2025-03", "confirm": "yes"}, follow=True)
    assert b"March 2025 is closed (2 documents)" in closed.content
    assert ClosedPeriod.objects.get().closed_by == accountant
    future = client.post(url, {"period": "2999-01", "confirm": "yes"}, follow=True)
    assert b"has not ended yet" in future.content


def test_audit_page(client, accountant):
    issue_invoice(day=date(2025, 3, 3))
    client.force_login(accountant)
    response = client.get(reverse("accounting:audit"))
    assert response.status_code == 200
    assert b"Every series is gapless and without duplicates." in response.content
    assert b"INV-2025-000001" in response.content


def test_a_credit_note_reads_negative_in_the_archive_as_in_the_journal(client, accountant):
    invoice = issue_invoice(day=date(2025, 3, 10))
    issue_credit_note(invoice=invoice, amount=1000, day=date(2025, 3, 12))
    client.force_login(accountant)
    html = client.get(reverse("accounting:document_list"), {"kind": "credit_note"}).content.decode()
    assert "-€10.00" in html


def test_the_currency_filter_offers_each_currency_once(client, accountant):
    for _ in range(3):
        issue_invoice(day=date(2025, 3, 10))
    issue_invoice(day=date(2025, 3, 10), buyer=US_CONSUMER, currency="usd")
    client.force_login(accountant)
    form = client.get(reverse("accounting:document_list")).context["form"]
    assert [value for value, _ in form.fields["currency"].choices if value] == ["eur", "usd"]


def test_a_row_shows_the_buyer_its_vat_id_and_reverse_charge_as_issued(client, accountant):
    # The list reads these out of each document's snapshot (not the whole snapshot).
    issue_invoice(day=date(2025, 3, 10), buyer=GERMAN_BUSINESS, receipt=False)
    issue_invoice(day=date(2025, 3, 11), receipt=False)
    client.force_login(accountant)
    html = client.get(reverse("accounting:document_list")).content.decode()
    business, consumer = html.split('data-number="INV-2025-000001"')[1], html.split('data-number="INV-2025-000002"')[1]
    business, consumer = business.split("</tr>")[0], consumer.split("</tr>")[0]
    assert "Muster GmbH" in business and "DE136695976" in business and "reverse charge" in business
    assert "Max Muster" not in business
    assert "Ada Lovelace" in consumer and "ada@example.com" in consumer and "reverse charge" not in consumer


def test_the_currency_filter_is_empty_without_documents(client, accountant):
    client.force_login(accountant)
    form = client.get(reverse("accounting:document_list")).context["form"]
    assert [value for value, _ in form.fields["currency"].choices] == [""]
