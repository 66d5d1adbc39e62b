"""The accountant's journey on the whole stack: sign in, filter a month, download
one invoice (a Factur-X PDF), export the month as a ZIP built by the Celery
worker while the page shows its progress, and check what the ZIP holds."""

import csv
import io
import json
import re
import zipfile
from datetime import date
from decimal import Decimal

from facturx import get_facturx_xml_from_pdf

ACCOUNTANT = ("accountant", "accountant-demo-pass")

# Issued through billing's real services inside the stack's database: this
# month, invoices to French consumers (two VAT rates), a reverse-charged German
# business, a US customer in dollars, their receipts and two credit notes; one
# invoice last month, which the month filter and the export leave out. No PDF
# is rendered: the export renders them first.
SEED = r"""
import json
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from billing.models import Document, ExchangeRate
from billing.services import credit_note_issue, invoice_issue, receipt_issue
from core.types import Buyer
from billing.tax import LineInput

fr = Buyer(name="Ada Lovelace", email="ada@example.com", address_line1="1 Analytical Street",
           postal_code="75001", city="Paris", country="FR")
de = Buyer(name="Max Muster", company="Muster GmbH", email="einkauf@muster.example", address_line1="Hauptstrasse 1",
           postal_code="10115", city="Berlin", country="DE", vat_id="DE136695976")
us = Buyer(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way", postal_code="10001",
           city="New York", country="US")
now = timezone.now()
last_month = now.replace(day=1) - timedelta(days=2)
lines = [LineInput(name="Stoneware mug 350 ml", quantity=2, unit_amount=1600, vat_rate=Decimal("20")),
         LineInput(name="Colombia Huila, whole beans 1 kg", quantity=1, unit_amount=3900, vat_rate=Decimal("5.5"))]
invoice_issue(buyer=fr, lines=lines, currency="eur", issued_at=last_month)
invoices = []
for i in range(8):
    invoices.append(invoice_issue(buyer=fr, lines=lines, currency="eur", paid_at=now,
                                  payment_reference=f"Card Visa •••• 4242, Stripe pi_e2e_{i}"))
# A VIES-verified business of another member state buying services: reverse charged (the checkout decides).
de_lines = [LineInput(name=line.name, quantity=line.quantity, unit_amount=line.unit_amount, vat_rate=Decimal("0"),
                      vat_category="AE") for line in lines]
invoices.append(invoice_issue(buyer=de, lines=de_lines, currency="eur", paid_at=now))
ExchangeRate.objects.get_or_create(currency="usd", date=timezone.localdate(now) - timedelta(days=1),
                                   defaults={"rate": Decimal("1.0812")})
invoices.append(invoice_issue(buyer=us, currency="usd", paid_at=now,
                              lines=[LineInput(name="Pro plan", quantity=1, unit_amount=1999, vat_rate=Decimal("20"))]))
for invoice in invoices:
    receipt_issue(invoice=invoice, paid_at=now)
credit_note_issue(invoice_id=invoices[0].pk, amount=1000, reason="Damaged mug")
credit_note_issue(invoice_id=invoices[8].pk, amount=2000, reason="Late delivery")
month = Document.objects.filter(issued_at__gte=timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0,
                                                                               microsecond=0))
totals = {}
for doc in month:
    key = f"{doc.kind}:{doc.currency}"
    totals[key] = totals.get(key, 0) + doc.total_gross
print("SEED:" + json.dumps({"count": month.count(), "gross": totals,
                            "invoice": invoices[0].number, "invoice_id": invoices[0].pk}))
"""


def seed(stack) -> dict:
    out = stack.manage("shell", "-c", SEED)
    line = next(line for line in out.splitlines() if line.startswith("SEED:"))
    return json.loads(line[len("SEED:"):])


def sign_in_as_accountant(page, stack):
    page.goto(stack.url + "/accounting/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/accounting/"))
    page.get_by_label(re.compile("e-?mail|username", re.I)).fill(ACCOUNTANT[0])
    page.get_by_label(re.compile("password", re.I)).fill(ACCOUNTANT[1])
    page.snap("accountant-login")
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    page.wait_for_url(re.compile(r"/accounting/$"))


def test_accountant_filters_downloads_and_exports_a_month(stack, page):
    seeded = seed(stack)
    month = date.today().strftime("%Y-%m")  # the stack runs in UTC, like the test
    sign_in_as_accountant(page, stack)
    page.snap("documents-all")
    assert page.locator("tr.document-row").count() == seeded["count"] + 1  # and last month's invoice

    # Filter the month.
    page.get_by_label("Period", exact=True).select_option(month)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"period={month}"))
    page.snap("documents-month")
    assert page.locator("tr.document-row").count() == seeded["count"]
    assert f"{seeded['count']} documents" in page.locator("[data-role=result-count]").inner_text()

    # Download one invoice: a PDF with its Factur-X XML inside.
    row = page.locator(f"tr.document-row[data-number='{seeded['invoice']}']")
    with page.expect_download() as download_info:
        row.get_by_role("link", name=re.compile("download", re.I)).click()
    pdf = open(download_info.value.path(), "rb").read()
    download_info.value.save_as(page.artifacts / f"{seeded['invoice']}.pdf")
    filename, xml = get_facturx_xml_from_pdf(pdf)
    assert filename == "factur-x.xml" and seeded["invoice"].encode() in xml

    # Export the month: the worker builds the ZIP, the page polls its progress.
    nav = page.get_by_role("navigation", name="Accounting")
    nav.get_by_role("link", name="Period exports").click()
    page.get_by_label(re.compile("month, quarter or year", re.I)).select_option(month)
    page.snap("export-form")
    page.get_by_role("button", name="Export this period").click()
    page.wait_for_url(re.compile(r"/accounting/exports/\d+/$"))
    progress = page.locator("[data-role=export-progress]")
    seen = []
    ready = page.locator("[data-role=export-ready]")
    for _ in range(600):  # at most 120 s
        seen.append(int(progress.get_attribute("value") or 0))
        if len(seen) == 3:
            page.snap("export-running")
        if ready.is_visible():
            break
        page.wait_for_timeout(200)
    assert ready.is_visible(), f"the export did not finish; progress seen: {seen}"
    assert progress.get_attribute("value") == "100"
    assert seen == sorted(seen)  # the bar only moves forward
    assert page.locator("[data-role=export-status]").inner_text() == "Done"
    page.snap("export-done")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the ZIP").click()
    assert download_info.value.suggested_filename == f"documents-{month}.zip"
    data = open(download_info.value.path(), "rb").read()
    download_info.value.save_as(page.artifacts / f"documents-{month}.zip")

    archive = zipfile.ZipFile(io.BytesIO(data))
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    assert len(pdfs) == seeded["count"] == 22
    assert sum(name.startswith("credit_notes/") for name in pdfs) == 2
    journal = list(csv.DictReader(io.StringIO(archive.read("journal.csv").decode())))
    assert len(journal) == seeded["count"]
    # The journal's totals are the documents' (credit notes negative).
    for key, gross in seeded["gross"].items():
        kind, currency = key.split(":")
        sign = -1 if kind == "credit_note" else 1
        total = sum(Decimal(r["gross"]) for r in journal if r["kind"] == kind and r["currency"] == currency.upper())
        assert total == Decimal(sign * gross) / 100, key
    summary = list(csv.DictReader(io.StringIO(archive.read("vat_summary.csv").decode())))
    keys = {(r["country"], r["currency"], r["vat_category"], r["vat_rate"]) for r in summary}
    assert keys == {("FR", "EUR", "S", "20.00"), ("FR", "EUR", "S", "5.50"), ("DE", "EUR", "AE", "0.00"),
                    ("US", "USD", "S", "20.00")}
    for currency in ("EUR", "USD"):
        # The VAT summary adds up to the journal's invoices minus credit notes.
        for column, journal_column in (("vat", "vat_total"), ("gross", "gross")):
            assert sum(Decimal(r[column]) for r in summary if r["currency"] == currency) == sum(
                Decimal(r[journal_column]) for r in journal if r["currency"] == currency and r["kind"] != "receipt"
            )
    de = next(r for r in summary if r["vat_category"] == "AE")
    assert (de["invoices"], de["credit_notes"], de["vat"], de["gross"]) == ("1", "1", "0.00", "51.00")

    # The number audit agrees: no gap, no duplicate.
    nav.get_by_role("link", name="Number audit").click()
    assert "Every series is gapless" in page.locator("[data-role=audit-verdict]").inner_text()
    page.snap("audit")
