"""Accounting periods (a month, a quarter or a year) and period closing.

A period is written the way accountants say it: "2026-03" (March 2026),
"2026-Q1" (first quarter) or "2026" (the year). Its bounds are local dates
(the seller's time zone, billing.dates): a document belongs to the period holding the local date
of its `issued_at`, the date printed on it.

Once a period is closed nothing may be issued with a date inside it:
`period_assert_open(issued_at)` is called by billing's issuing services inside
their transaction, before a number is taken, and raises PeriodClosed. Closing
is the accountants' act (from the accounting pages); the rule is billing's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .dates import seller_date, seller_midnight
from .exceptions import BillingError
from .models import ClosedPeriod, Document

logger = logging.getLogger(__name__)

PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")
MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]


class PeriodError(ValueError):
    """A period that cannot be parsed or used."""


class PeriodClosed(BillingError):
    """A document would be dated inside a closed accounting period."""


class PeriodNotClosable(BillingError):
    """A period that cannot be closed (not ended, or inside a closed one); the message says why."""


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first day, inclusive
    end: date  # first day after the period (exclusive)
    kind: str  # "month", "quarter" or "year"

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.start.year:04d}"
        if self.kind == "quarter":
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def title(self) -> str:
        if self.kind == "year":
            return f"Year {self.start.year}"
        if self.kind == "quarter":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{MONTH_NAMES[self.start.month - 1]} {self.start.year}"

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def bounds(self) -> tuple[datetime, datetime]:
        """Aware datetimes [start, end) in the seller's time zone, for filtering issued_at."""
        return seller_midnight(self.start), seller_midnight(self.end)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def has_ended(self, today: date | None = None) -> bool:
        return self.end <= (today or seller_date())

    def __str__(self) -> str:
        return self.label


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_parse(text: str) -> Period:
    """"2026-03" -> March 2026, "2026-Q1" -> Q1 2026, "2026" -> 2026."""
    match = PERIOD_RE.match((text or "").strip().upper())
    if not match:
        raise PeriodError(f"{text!r} is not a period: write 2026-03, 2026-Q1 or 2026.")
    year = int(match["year"])
    if year < 1900:
        raise PeriodError(f"{text!r} is not a period.")
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"{text!r} is not a month.")
        start = date(year, month, 1)
        return Period(start=start, end=_add_months(start, 1), kind="month")
    if match["quarter"]:
        start = date(year, (int(match["quarter"]) - 1) * 3 + 1, 1)
        return Period(start=start, end=_add_months(start, 3), kind="quarter")
    return Period(start=date(year, 1, 1), end=date(year + 1, 1, 1), kind="year")


def period_of(day: date, kind: str = "month") -> Period:
    if kind == "year":
        return period_parse(f"{day.year}")
    if kind == "quarter":
        return period_parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")
    return period_parse(f"{day.year}-{day.month:02d}")


def period_closing(day: date) -> ClosedPeriod | None:
    """The ClosedPeriod covering `day`, or None."""
    return ClosedPeriod.objects.filter(start__lte=day, end__gt=day).order_by("start").first()


def period_assert_open(issued_at: datetime | date | None) -> None:
    """Raise PeriodClosed if `issued_at` (its local date) falls in a closed
    period. Billing calls it inside the issuing transaction."""
    if issued_at is None:
        issued_at = timezone.now()
    day = seller_date(issued_at) if isinstance(issued_at, datetime) else issued_at
    closed = period_closing(day)
    if closed is not None:
        raise PeriodClosed(
            f"The accounting period {closed.label} is closed (since {seller_date(closed.closed_at)}): "
            f"no document may be issued on {day.isoformat()}. Issue it with today's date instead."
        )


def period_documents(period: Period):
    """The documents issued in `period` (by the local date printed on them)."""
    start, end = period.bounds()
    return Document.objects.filter(issued_at__gte=start, issued_at__lt=end)


def _covering_closed_period(period: Period) -> ClosedPeriod | None:
    return ClosedPeriod.objects.filter(start__lte=period.start, end__gte=period.end).order_by("start").first()


def period_is_closed(period: Period) -> bool:
    return _covering_closed_period(period) is not None


def period_close(*, period: Period, user=None) -> ClosedPeriod:
    """Close `period`: from now on nothing may be issued with a date inside
    it, and its export is built once and served again.

    Only a period that has ended can be closed. Closing a period again is a
    no-op; closing a month inside a closed quarter or year says so.
    """
    if not period.has_ended():
        raise PeriodNotClosable(
            f"{period.title} has not ended yet (it ends on {period.last_day.isoformat()}); "
            "only a past period can be closed."
        )
    with transaction.atomic():
        existing = ClosedPeriod.objects.select_for_update().filter(label=period.label).first()
        if existing is not None:
            return existing
        covering = _covering_closed_period(period)
        if covering is not None:
            raise PeriodNotClosable(f"{period.title} is already closed as part of {covering.label}.")
        closed = ClosedPeriod.objects.create(
            label=period.label,
            kind=period.kind,
            start=period.start,
            end=period.end,
            closed_by=user if user is not None and user.is_authenticated else None,
            document_count=period_documents(period).count(),
        )
    logger.info("period closed: %s (%d documents) by %s", closed.label, closed.document_count, user)
    return closed
