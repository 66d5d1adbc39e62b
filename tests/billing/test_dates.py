"""Documents are dated in the seller's time zone, and their issue time is read
under the numbering lock: numbers and times rise together."""

from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest

from accounting.audit import audit_document_numbers
from billing.services import invoice_issue
from billing.tax import LineInput
from core.types import Buyer

pytestmark = pytest.mark.django_db

BUYER = Buyer(name="Ada Lovelace", email="ada@example.com", address_line1="1 Analytical Street", postal_code="75001", city="Paris",
              country="FR")
LINES = [LineInput(name="Mug", quantity=1, unit_amount=1600, vat_rate=Decimal("20"))]


def test_half_past_midnight_in_paris_on_new_years_day_is_the_new_year(settings):
    settings.TIME_ZONE = "UTC"  # the servers' zone
    settings.SHOP_SELLER_TIME_ZONE = "Europe/Paris"
    late = invoice_issue(buyer=BUYER, lines=LINES, currency="eur",
                         issued_at=datetime(2026, 12, 31, 22, 59, tzinfo=dt_timezone.utc))
    new_year = invoice_issue(buyer=BUYER, lines=LINES, currency="eur",
                             issued_at=datetime(2026, 12, 31, 23, 30, tzinfo=dt_timezone.utc))
    assert (late.number, late.snapshot["issue_date"]) == ("INV-2026-000001", "2026-12-31")
    assert (new_year.number, new_year.snapshot["issue_date"]) == ("INV-2027-000001", "2027-01-01")
    assert new_year.snapshot["issued_at"].startswith("2027-01-01T00:30:00+01:00")


def test_issue_times_rise_with_numbers():
    documents = [invoice_issue(buyer=BUYER, lines=LINES, currency="eur") for _ in range(3)]
    assert [d.sequence for d in documents] == [1, 2, 3]
    assert documents[0].issued_at <= documents[1].issued_at <= documents[2].issued_at
    assert audit_document_numbers().ok


def test_the_number_audit_finds_dates_going_down():
    invoice_issue(buyer=BUYER, lines=LINES, currency="eur", issued_at=datetime(2026, 3, 10, 9, tzinfo=dt_timezone.utc))
    invoice_issue(buyer=BUYER, lines=LINES, currency="eur", issued_at=datetime(2026, 3, 9, 9, tzinfo=dt_timezone.utc))
    report = audit_document_numbers()
    assert not report.ok
    series = next(s for s in report.series if s.series == "INV")
    assert any("INV-2026-000002" in m and "must not go down" in m for m in series.mismatches)
