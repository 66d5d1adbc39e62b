"""Gap audit of document numbers: proves that each series (INV, RCT, CN) of
each year runs from 1 to its last number with no gap and no duplicate.

Anomalies, per series and year:
- missing: a sequence number between 1 and the last one given that no document
  holds (the last one given is the highest of the documents' sequences and of
  the django-sequences counter, so a number burnt at the end shows too);
- duplicate: a sequence (or a number text) held by two documents;
- mismatch: a number whose text is not SERIES-YEAR-SEQUENCE of its own series,
  year and sequence, a series that is not its kind's, or a year that is not
  the year of its issue date (in the seller's time zone), or an issue time
  earlier than the previous number's (numbers and times rise together);
- altered PDF: a stored PDF whose SHA-256 is not the one kept at rendering
  (listed with the mismatches);
- without PDF: a document whose PDF was never rendered (not a numbering fault:
  listed apart, the worker or the export renders it).

Reads only; memory grows with the number of anomalies, not of documents.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.core.files.storage import default_storage
from sequences.models import Sequence

from billing.dates import seller_date
from billing.models import Document
from billing.numbering import SERIES_BY_KIND, format_document_number

SERIES_ORDER = {"INV": 0, "RCT": 1, "CN": 2}


@dataclass
class SeriesAudit:
    series: str
    year: int
    count: int = 0
    first: int | None = None
    last: int | None = None
    counter_last: int | None = None
    missing: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    duplicates: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    without_pdf: list[str] = field(default_factory=list)

    @property
    def missing_count(self) -> int:
        return sum(b - a + 1 for a, b in self.missing)

    @property
    def missing_numbers(self) -> list[str]:
        """Missing numbers as text, ranges shortened: INV-2026-000004 or INV-2026-000004 … INV-2026-000009."""
        out = []
        for a, b in self.missing:
            first = format_document_number(series=self.series, year=self.year, sequence=a)
            if a == b:
                out.append(first)
            else:
                last = format_document_number(series=self.series, year=self.year, sequence=b)
                out.append(f"{first} … {last} ({b - a + 1})")
        return out

    @property
    def ok(self) -> bool:
        """No gap, no duplicate, no mismatch (a missing PDF is not a numbering fault)."""
        return not (self.missing or self.duplicates or self.mismatches)

    @property
    def first_number(self) -> str:
        return format_document_number(series=self.series, year=self.year, sequence=self.first) if self.first else ""

    @property
    def last_number(self) -> str:
        return format_document_number(series=self.series, year=self.year, sequence=self.last) if self.last else ""


@dataclass
class AuditReport:
    series: list[SeriesAudit]

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.series)

    @property
    def without_pdf_count(self) -> int:
        return sum(len(s.without_pdf) for s in self.series)


def _file_sha256(name: str) -> str:
    try:
        with default_storage.open(name, "rb") as handle:
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
            return digest.hexdigest()
    except OSError:
        return ""


def _counter_values() -> dict[tuple[str, int], int]:
    values = {}
    for name, last in Sequence.objects.filter(name__startswith="billing.").values_list("name", "last"):
        parts = name.split(".")
        if len(parts) == 3 and parts[2].isdigit():
            values[(parts[1], int(parts[2]))] = last
    return values


def audit_series(*, series: str, year: int, counter_last: int | None = None) -> SeriesAudit:
    audit = SeriesAudit(series=series, year=year, counter_last=counter_last)
    expected_kind = {v: k for k, v in SERIES_BY_KIND.items()}.get(series)
    seen_numbers: Counter = Counter()
    previous = 0
    previous_issued = None
    previous_number = ""
    gaps: list[tuple[int, int]] = []
    rows = (
        Document.objects.filter(series=series, year=year)
        .order_by("sequence", "pk")
        .values_list("sequence", "number", "kind", "issued_at", "pdf", "pdf_rendered_at", "pdf_sha256")
    )
    for sequence, number, kind, issued_at, pdf, rendered_at, sha256 in rows.iterator(chunk_size=2000):
        audit.count += 1
        if audit.first is None:
            audit.first = sequence
        if sequence == previous:
            audit.duplicates.append(f"{series}-{year} sequence {sequence} is held by more than one document ({number})")
        elif sequence > previous + 1:
            gaps.append((previous + 1, sequence - 1))
        previous = max(previous, sequence)
        seen_numbers[number] += 1
        if seen_numbers[number] == 2:
            audit.duplicates.append(f"{number} is used by more than one document")
        expected = format_document_number(series=series, year=year, sequence=sequence)
        if number != expected:
            audit.mismatches.append(f"{number}: its sequence is {sequence}, so its number should be {expected}")
        if expected_kind is not None and kind != expected_kind:
            audit.mismatches.append(f"{number}: a {kind} numbered in the {series} series")
        if issued_at is not None and seller_date(issued_at).year != year:
            audit.mismatches.append(f"{number}: issued on {seller_date(issued_at)}, numbered in {year}")
        if issued_at is not None and previous_issued is not None and issued_at < previous_issued:
            audit.mismatches.append(
                f"{number}: issued at {issued_at.isoformat()}, before {previous_number} "
                f"({previous_issued.isoformat()}): dates must not go down as numbers go up"
            )
        if issued_at is not None:
            previous_issued, previous_number = issued_at, number
        if not pdf or rendered_at is None:
            if kind in Document.RENDERED_AT_ISSUE:  # a receipt's is rendered on its first download
                audit.without_pdf.append(number)
        elif sha256 and _file_sha256(pdf) != sha256:
            audit.mismatches.append(f"{number}: its stored PDF is not the one issued (SHA-256 differs, or missing)")
    audit.last = max(previous, counter_last or 0) or None
    if counter_last is not None and counter_last > previous:
        gaps.append((previous + 1, counter_last))
    audit.missing = gaps
    return audit


def audit_document_numbers(*, year: int | None = None, series: str | None = None) -> AuditReport:
    """Audit every series and year holding documents or a numbering counter."""
    counters = _counter_values()
    keys = set(Document.objects.values_list("series", "year").distinct()) | set(counters)
    keys = {
        (s, y) for s, y in keys
        if (year is None or y == year) and (series is None or s == series.upper())
    }
    ordered = sorted(keys, key=lambda k: (-k[1], SERIES_ORDER.get(k[0], 9), k[0]))
    return AuditReport(
        series=[audit_series(series=s, year=y, counter_last=counters.get((s, y))) for s, y in ordered]
    )

