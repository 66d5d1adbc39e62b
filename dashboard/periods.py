"""The period the dashboard shows: its days (the daily charts) and the twelve
months that end with it (the monthly charts), in the shop's time zone.

    ?period=30d        the last 30 days (the default), 90d the last 90
    ?period=2026-03    a month; 2026-Q1 a quarter; 2026 a year
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from billing.periods import MONTH_NAMES, PeriodError, period_parse

__all__ = ["MONTH_NAMES", "DashboardPeriod", "dashboard_period", "period_choices", "month_title", "month_value"]

DEFAULT = "30d"
ROLLING = {"30d": 30, "90d": 90}
MONTHS_SHOWN = 12


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@dataclass(frozen=True)
class DashboardPeriod:
    value: str  # as in the address: 30d, 2026-03, ...
    title: str
    first_day: date
    last_day: date  # inclusive

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.last_day - self.first_day).days + 1)]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last_day + timedelta(days=1))

    @property
    def months(self) -> list[date]:
        """The first days of the twelve months ending with the period's last month."""
        last = self.last_day.replace(day=1)
        return [add_months(last, -i) for i in range(MONTHS_SHOWN - 1, -1, -1)]

    @property
    def months_start(self) -> datetime:
        return local_midnight(self.months[0])

    @property
    def months_end(self) -> datetime:
        return local_midnight(add_months(self.months[-1], 1))


def month_value(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_title(day: date) -> str:
    return f"{MONTH_NAMES[day.month - 1]} {day.year}"


def dashboard_period(value: str | None, *, today: date | None = None) -> DashboardPeriod:
    """The period named by `value`; the default one for anything else (the
    page says which it shows, so a mistyped address loses nothing)."""
    today = today or timezone.localdate()
    value = (value or DEFAULT).strip()
    if value in ROLLING:
        days = ROLLING[value]
        return DashboardPeriod(value, f"Last {days} days", today - timedelta(days=days - 1), today)
    try:
        period = period_parse(value)
    except PeriodError:
        return dashboard_period(DEFAULT, today=today)
    if period.start > today:
        return dashboard_period(DEFAULT, today=today)
    return DashboardPeriod(period.label, period.title, period.start, min(period.last_day, today))


def period_choices(*, today: date | None = None, first: date | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for the period picker: rolling windows, then months,
    quarters and years back to the first order (two years at least)."""
    today = today or timezone.localdate()
    first = min(first or today, add_months(today.replace(day=1), -23))
    months, quarters, years = [], [], []
    month = today.replace(day=1)
    while month >= first.replace(day=1):
        months.append((month_value(month), month_title(month)))
        quarter = f"{month.year}-Q{(month.month - 1) // 3 + 1}"
        if quarter not in [q for q, _ in quarters]:
            quarters.append((quarter, f"Q{(month.month - 1) // 3 + 1} {month.year}"))
        if str(month.year) not in [y for y, _ in years]:
            years.append((str(month.year), f"Year {month.year}"))
        month = add_months(month, -1)
    return [
        ("Rolling", [(key, f"Last {days} days") for key, days in ROLLING.items()]),
        ("Months", months),
        ("Quarters", quarters),
        ("Years", years),
    ]
