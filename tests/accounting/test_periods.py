from datetime import date

import pytest
from django.db import connection

from billing.models import Document
from billing.periods import (
    PeriodClosed,
    PeriodError,
    PeriodNotClosable,
    period_assert_open,
    period_close,
    period_parse,
)
from billing.services import receipt_issue

from .conftest import at, issue_credit_note, issue_invoice


@pytest.mark.parametrize(
    "text, start, end, kind, title",
    [
        ("2026-03", date(2026, 3, 1), date(2026, 4, 1), "month", "March 2026"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month", "December 2026"),
        ("2026-q4", date(2026, 10, 1), date(2027, 1, 1), "quarter", "Q4 2026"),
        ("2025", date(2025, 1, 1), date(2026, 1, 1), "year", "Year 2025"),
    ],
)
def test_period_parse(text, start, end, kind, title):
    period = period_parse(text)
    assert (period.start, period.end, period.kind, period.title) == (start, end, kind, title)
    assert period_parse(period.label) == period


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "26-03", "March 2026"])
def test_period_parse_refuses_nonsense(text):
    with pytest.raises(PeriodError):
        period_parse(text)


def test_only_an_ended_period_can_be_closed(accountant):
    with pytest.raises(PeriodNotClosable, match="has not ended"):
        period_close(period=period_parse("2999-01"), user=accountant)


def test_closing_is_idempotent_and_a_covered_month_says_so(accountant):
    issue_invoice(day=date(2025, 3, 10))
    closed = period_close(period=period_parse("2025-Q1"), user=accountant)
    assert closed.document_count == 2  # invoice and receipt
    assert period_close(period=period_parse("2025-Q1"), user=accountant).pk == closed.pk
    with pytest.raises(PeriodNotClosable, match="already closed as part of 2025-Q1"):
        period_close(period=period_parse("2025-02"), user=accountant)


def _next_number_value(series: str, year: int) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT last FROM sequences_sequence WHERE name = %s", [f"billing.{series}.{year}"])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.django_db
def test_nothing_is_issued_inside_a_closed_period(accountant):
    invoice = issue_invoice(day=date(2025, 3, 10), receipt=False)
    period_close(period=period_parse("2025-03"), user=accountant)

    with pytest.raises(PeriodClosed, match="2025-03 is closed"):
        issue_invoice(day=date(2025, 3, 31))
    with pytest.raises(PeriodClosed):
        receipt_issue(invoice=invoice, issued_at=at(date(2025, 3, 12)))
    with pytest.raises(PeriodClosed):
        issue_credit_note(invoice=invoice, day=date(2025, 3, 20), amount=100)
    # Nothing was numbered by the refusals.
    assert Document.objects.count() == 1
    assert _next_number_value("INV", 2025) == 1 and _next_number_value("RCT", 2025) is None

    # Outside the period (the day after it, or today) everything works.
    issue_invoice(day=date(2025, 4, 1))
    note = issue_credit_note(invoice=invoice, day=date(2025, 4, 2), amount=100)
    assert note.number == "CN-2025-000001"
    period_assert_open(at(date(2025, 4, 1)))
