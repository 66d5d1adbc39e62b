"""Discounts in the accountants' export (journal and VAT summary) and in the
dashboard's revenue (what was received: net of discounts)."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.periods import period_parse
from billing.services import credit_note_issue, invoice_issue
from billing.tax import LineInput
from core.types import Buyer
from orders.selectors import order_sales_by_period
from orders.services import BillingDetails, CartItem, order_mark_paid, order_place
from tests.accounting.conftest import FRENCH_CONSUMER, at
from tests.accounting.test_exports import read_zip, request_export  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_journal_and_vat_summary_carry_the_discounts(request_export):  # noqa: F811
    day = date(2025, 5, 6)
    invoice = invoice_issue(
        buyer=Buyer(**FRENCH_CONSUMER), currency="eur", issued_at=at(day), paid_at=at(day),
        discount_label="Code SPRING10 (10% off)",
        lines=[LineInput(name="Mug", quantity=2, unit_amount=1600, vat_rate=Decimal("20"), discount=320),
               LineInput(name="Coffee", quantity=1, unit_amount=1290, vat_rate=Decimal("5.5"), discount=129)],
    )
    credit_note_issue(invoice_id=invoice.pk, amount=invoice.total_gross, reason="Returned", issued_at=at(day, 15))
    job = request_export(period_parse("2025-05"))
    with job.file.open("rb") as handle:
        _archive, journal, summary = read_zip(handle.read())
    by_kind = {row["kind"]: row for row in journal}
    assert (by_kind["invoice"]["gross"], by_kind["invoice"]["discount"]) == ("40.41", "4.49")
    assert by_kind["invoice"]["discount_label"] == "Code SPRING10 (10% off)"
    assert (by_kind["credit_note"]["gross"], by_kind["credit_note"]["discount"]) == ("-40.41", "-4.49")
    assert by_kind["invoice"]["vat_20%"] == "4.80" and by_kind["invoice"]["vat_5.5%"] == "0.61"
    rows = {row["vat_rate"]: row for row in summary}
    # Invoice minus its credit note: nothing left, discounts included.
    assert (rows["20.00"]["invoices"], rows["20.00"]["credit_notes"]) == ("1", "1")
    assert rows["20.00"]["gross"] == "0.00" and rows["20.00"]["discounts"] == "0.00"


def test_a_discounted_invoice_alone_in_the_vat_summary(request_export):  # noqa: F811
    day = date(2025, 6, 2)
    invoice_issue(buyer=Buyer(**FRENCH_CONSUMER), currency="eur", issued_at=at(day), paid_at=at(day),
                  lines=[LineInput(name="Mug", quantity=2, unit_amount=1600, vat_rate=Decimal("20"), discount=500)])
    job = request_export(period_parse("2025-06"))
    with job.file.open("rb") as handle:
        _archive, _journal, summary = read_zip(handle.read())
    assert [(r["vat_rate"], r["net"], r["vat"], r["gross"], r["discounts"]) for r in summary] == [
        ("20.00", "22.50", "4.50", "27.00", "5.00")]


def test_revenue_is_what_was_received_net_of_discounts(make_code, mug):
    make_code("SPRING10", percent_off="10")
    order = order_place(items=[CartItem(mug.pk, 2)], email="ada@example.com", discount_code="spring10",
                        billing=BillingDetails(name="Ada", line1="1 rue", postal_code="75001", city="Paris",
                                               country="FR"))
    assert (order.total, order.discount_total) == (2880, 320)
    order_mark_paid(order_id=order.pk, amount_paid=2880, currency="eur", payment_intent_id="pi_x")
    now = timezone.now()
    start = datetime(now.year, now.month, 1, tzinfo=dt_timezone.utc)
    rows = order_sales_by_period(start=start, end=now + timedelta(days=1), unit="month", tzinfo=dt_timezone.utc)
    assert [row["amount"] for row in rows] == [2880]  # not the 32.00 list price
