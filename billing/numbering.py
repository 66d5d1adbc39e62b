"""Gapless document numbers per series and year: INV-2026-000001, RCT-..., CN-...

Numbers come from django-sequences, whose counter row is updated inside the
caller's transaction: a document issue that rolls back rolls the counter back
too, so no number is ever burnt, and concurrent issuers wait on the counter
row instead of taking the same number. That is why a number must be taken
inside the issuing transaction, never before it.

Subscription invoices (from Stripe invoices) share the INV series with shop
orders: one invoice series per year, whatever was sold.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from sequences import get_last_value, get_next_value

from .dates import seller_date
from .models import Document

SERIES_BY_KIND = {
    Document.Kind.INVOICE: "INV",
    Document.Kind.RECEIPT: "RCT",
    Document.Kind.CREDIT_NOTE: "CN",
}
SEQUENCE_DIGITS = 6


@dataclass(frozen=True)
class DocumentNumber:
    series: str
    year: int
    sequence: int

    @property
    def number(self) -> str:
        return format_document_number(series=self.series, year=self.year, sequence=self.sequence)

    def __str__(self) -> str:
        return self.number


def format_document_number(*, series: str, year: int, sequence: int) -> str:
    return f"{series}-{year:04d}-{sequence:0{SEQUENCE_DIGITS}d}"


def sequence_name(*, series: str, year: int) -> str:
    return f"billing.{series}.{year:04d}"


def document_number_next(*, kind: str, year: int, using: str | None = None) -> DocumentNumber:
    """Take the next number of the kind's series for `year`.

    Must run inside the transaction that creates the document (see the module
    docstring); outside one, a number would be burnt by any later failure.
    """
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError("document numbers are taken inside the issuing transaction")
    series = SERIES_BY_KIND[kind]
    value = get_next_value(sequence_name(series=series, year=year), using=using)
    return DocumentNumber(series=series, year=year, sequence=value)


def document_number_last(*, kind: str, year: int) -> int | None:
    """The last sequence value given in that series and year (None if none yet)."""
    return get_last_value(sequence_name(series=SERIES_BY_KIND[kind], year=year))


def document_number_and_time(*, kind: str, issued_at: datetime | None = None) -> tuple[DocumentNumber, datetime]:
    """The next number of the kind's series and the document's issue time.

    Without `issued_at` the time is read after taking the series' lock (a
    counter row of its own, locked until the issuing transaction ends), so
    that concurrent issuers get numbers and times that rise together; the
    year of the number is the seller's local year of that time
    (billing.dates). An explicit `issued_at` (imports, tests) is kept.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document numbers are taken inside the issuing transaction")
    if issued_at is None:
        get_next_value(f"billing.{SERIES_BY_KIND[kind]}.lock")
        issued_at = timezone.now()
    return document_number_next(kind=kind, year=seller_date(issued_at).year), issued_at
