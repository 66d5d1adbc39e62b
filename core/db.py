"""Database expressions the apps' selectors share."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import Case, DateField, F, Func, Q, Value, When
from django.db.models.functions import Trunc

UNITS = ("day", "month")


def _offset_changes(start: datetime, end: datetime, tzinfo) -> list[tuple[datetime, int]]:
    """[(from, UTC offset in seconds)] of `tzinfo` over [start, end): the
    first entry from `start`, then one per daylight-saving change."""
    def offset(moment: datetime) -> int:
        return int(moment.astimezone(tzinfo).utcoffset().total_seconds())

    start, end = start.astimezone(dt_timezone.utc), end.astimezone(dt_timezone.utc)
    changes = [(start, offset(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset(following) != changes[-1][1]:
            low, high = day, following  # the change is in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == changes[-1][1] else (low, middle)
            changes.append((high, offset(following)))
        day = following
    return changes


def local_period(field: str, unit: str, *, tzinfo, start: datetime, end: datetime):
    """The local day, or the first day of the local month, of a datetime
    column, in `tzinfo`, for rows in [start, end), computed by the database.

    PostgreSQL truncates in the time zone itself. SQLite has no time zones
    (Django's own truncation calls a Python function for every row): there,
    the UTC offset of each stretch of the period between daylight-saving
    changes is applied with SQLite's own date functions."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    if connection.vendor != "sqlite":
        return Trunc(field, unit, output_field=DateField(), tzinfo=tzinfo)
    function, pattern = ("date", ()) if unit == "day" else ("strftime", (Value("%Y-%m-01"),))

    def shifted(seconds: int):
        return Func(*pattern, F(field), Value(f"{seconds:+d} seconds"), function=function, output_field=DateField())

    changes = _offset_changes(start, end, tzinfo)
    if len(changes) == 1:
        return shifted(changes[0][1])
    whens = [When(Q(**{f"{field}__lt": changes[i + 1][0]}), then=shifted(seconds))
             for i, (_, seconds) in enumerate(changes[:-1])]
    return Case(*whens, default=shifted(changes[-1][1]), output_field=DateField())
