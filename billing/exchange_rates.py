"""The euro value of a foreign-currency document's VAT.

A document in another currency than the euro states its VAT total in euros
(VAT Directive art. 230, and France's BR-FR-CO-12: BT-6 = EUR, BT-111), at the
ECB reference rate of the day before its issue date (the latest one published
on or before that day: the ECB publishes none on weekends and TARGET
holidays). Rates are stored by a periodic job that reads the ECB's daily file
at settings.ECB_RATES_URL (a local server in tests); issuing only reads stored
rates, never the network. A rate older than MAX_RATE_AGE_DAYS is not used: the
document is refused with a clear error and no number is taken.
"""

import logging
import urllib.request
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree import ElementTree

from django.conf import settings
from django.db import transaction

from core.money import currency_exponent, to_major_units

from .exceptions import DocumentNotIssuable
from .models import ExchangeRate

logger = logging.getLogger(__name__)

ACCOUNTING_CURRENCY = "eur"
MAX_RATE_AGE_DAYS = 7
ECB_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"


class ExchangeRateMissing(DocumentNotIssuable):
    """No stored ECB rate for the currency near the issue date."""


def vat_in_accounting_currency(*, currency: str, total_tax: int, issue_date: date) -> dict | None:
    """What a document in `currency` states of its VAT in euros: the amount
    (euro cents), the rate and its date. None for a euro document."""
    currency = currency.lower()
    if currency == ACCOUNTING_CURRENCY:
        return None
    wanted = issue_date - timedelta(days=1)
    rate = (ExchangeRate.objects.filter(currency=currency, date__lte=wanted,
                                        date__gte=wanted - timedelta(days=MAX_RATE_AGE_DAYS))
            .order_by("-date").first())
    if rate is None:
        raise ExchangeRateMissing(
            f"No ECB exchange rate for {currency.upper()} on or shortly before {wanted.isoformat()} is stored: "
            "a document in another currency states its VAT in euros at that rate. Fetch the rates "
            "(billing.tasks.fetch_exchange_rates) and issue it again; nothing was numbered."
        )
    euros = (to_major_units(total_tax, currency) / rate.rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "currency": ACCOUNTING_CURRENCY,
        "vat_total": int(euros.scaleb(currency_exponent(ACCOUNTING_CURRENCY))),
        "rate": f"{rate.rate.normalize():f}",
        "rate_date": rate.date.isoformat(),
        "source": rate.source,
    }


def parse_ecb_daily(xml: bytes) -> tuple[date, dict[str, Decimal]]:
    """The ECB's eurofxref-daily.xml: its date and {currency: rate}."""
    root = ElementTree.fromstring(xml)
    day_cube = next(cube for cube in root.iter(f"{ECB_NS}Cube") if cube.get("time"))
    rates = {}
    for cube in day_cube.iter(f"{ECB_NS}Cube"):
        if cube.get("currency") and cube.get("rate"):
            try:
                rates[cube.get("currency").lower()] = Decimal(cube.get("rate"))
            except InvalidOperation:
                logger.warning("ECB rate for %s unreadable: %r", cube.get("currency"), cube.get("rate"))
    return date.fromisoformat(day_cube.get("time")), rates


def exchange_rates_fetch() -> int:
    """Read the ECB's daily rates (settings.ECB_RATES_URL) and store them.
    Idempotent: a day already stored is left as it is. Returns the rows added."""
    with urllib.request.urlopen(settings.ECB_RATES_URL, timeout=settings.ECB_RATES_TIMEOUT) as response:
        day, rates = parse_ecb_daily(response.read())
    added = 0
    with transaction.atomic():
        for currency, rate in rates.items():
            _, created = ExchangeRate.objects.get_or_create(currency=currency, date=day,
                                                            defaults={"rate": rate, "source": "ECB"})
            added += created
    logger.info("ECB rates of %s: %s stored", day, added)
    return added
