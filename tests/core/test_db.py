"""Local days and months computed by the database, across daylight-saving
changes, on SQLite (its own date functions) as on PostgreSQL."""

from datetime import date, datetime
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from orders.models import Order
from orders.selectors import order_sales_by_period
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def paid_at(moment: datetime, amount: int) -> None:
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(status="paid", paid_at=moment, amount_paid=amount)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


def test_local_days_and_months_across_daylight_saving_changes():
    # Paris: UTC+1 until 2026-03-29 01:00 UTC, UTC+2 until 2026-10-25 01:00 UTC, then UTC+1.
    paid_at(utc(2026, 3, 28, 23, 30), 1)   # 00:30 on 29 March in Paris (winter time)
    paid_at(utc(2026, 3, 29, 22, 30), 2)   # 00:30 on 30 March (summer time)
    paid_at(utc(2026, 3, 29, 21, 30), 4)   # 23:30 on 29 March
    paid_at(utc(2026, 10, 24, 22, 30), 8)  # 00:30 on 25 October (summer time)
    paid_at(utc(2026, 10, 25, 23, 30), 16)  # 00:30 on 26 October (winter time)
    paid_at(utc(2026, 10, 31, 22, 59), 32)  # 23:59 on 31 October
    paid_at(utc(2026, 10, 31, 23, 0), 64)  # 00:00 on 1 November
    start, end = datetime(2026, 3, 1, tzinfo=PARIS), datetime(2026, 12, 1, tzinfo=PARIS)
    days = {row["period"]: row["amount"] for row in order_sales_by_period(start=start, end=end, unit="day",
                                                                          tzinfo=PARIS)}
    assert days == {date(2026, 3, 29): 5, date(2026, 3, 30): 2, date(2026, 10, 25): 8, date(2026, 10, 26): 16,
                    date(2026, 10, 31): 32, date(2026, 11, 1): 64}
    months = {row["period"]: row["amount"] for row in order_sales_by_period(start=start, end=end, unit="month",
                                                                            tzinfo=PARIS)}
    assert months == {date(2026, 3, 1): 7, date(2026, 10, 1): 56, date(2026, 11, 1): 64}


def test_in_utc_nothing_moves():
    paid_at(utc(2026, 3, 28, 23, 30), 1)
    start, end = utc(2026, 3, 1), utc(2026, 4, 1)
    rows = order_sales_by_period(start=start, end=end, unit="day", tzinfo=dt_timezone.utc)
    assert [(r["period"], r["amount"]) for r in rows] == [(date(2026, 3, 28), 1)]
