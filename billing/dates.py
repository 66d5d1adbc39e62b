"""Dates of documents in the seller's time zone.

The date printed on a document, the year of its number series and the
accounting period it belongs to are the seller's local date
(settings.SHOP_SELLER_TIME_ZONE, by default TIME_ZONE): an invoice issued at
00:30 in Paris on 1 January belongs to the new year, whatever zone the
servers or the customer are in.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def seller_timezone() -> ZoneInfo:
    return ZoneInfo(settings.SHOP_SELLER_TIME_ZONE)


def seller_localtime(value: datetime | None = None) -> datetime:
    return timezone.localtime(value or timezone.now(), seller_timezone())


def seller_date(value: datetime | None = None) -> date:
    """The seller's local date of `value` (now by default)."""
    return seller_localtime(value).date()


def seller_midnight(day: date) -> datetime:
    """The aware start of `day` in the seller's time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()), seller_timezone())
