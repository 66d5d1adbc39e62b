"""The period export: one ZIP holding every document PDF of a period, a CSV
journal and a VAT summary, written to a file handle and copied to storage.

Memory stays flat whatever the number of documents: documents are read with
`.iterator()` in chunks, CSV rows are written as they come, PDFs are copied
into the ZIP in 64 KiB chunks, and the ZIP is built in a temporary file then
handed to Django's storage as a file (FileSystemStorage copies it in chunks).

The ZIP is reproducible: entries come in a fixed order (journal, VAT summary,
README, then PDFs by series, year and sequence) with a fixed timestamp (the
first day of the period) and fixed attributes, so the same documents give a
byte-identical ZIP. A closed period's documents cannot change, so its export
is always the same file (and is built once, see accounting.services).

Journal conventions (also written to the README inside the ZIP):
- one row per document; amounts are decimal text in the document's currency,
  converted from integer minor units (never through a float);
- a credit note's amounts are negative (it reduces revenue and VAT);
- receipts acknowledge the payment of an invoice: they are listed with the
  invoice's amounts but do not count in the VAT summary, which covers
  invoices and credit notes per buyer country, currency, VAT category and rate.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from billing.models import Document
from billing.periods import Period, period_documents
from billing.tax import vat_category
from core.money import to_major_units

CHUNK = 64 * 1024
KIND_FOLDERS = {
    Document.Kind.INVOICE: "invoices",
    Document.Kind.RECEIPT: "receipts",
    Document.Kind.CREDIT_NOTE: "credit_notes",
}
JOURNAL_HEAD = ["number", "date", "kind", "customer", "customer_email", "vat_id", "country", "currency"]
JOURNAL_TAIL = ["net_total", "vat_total", "gross", "payment_reference", "related_invoice",
                "vat_total_eur", "eur_rate", "eur_rate_date", "discount", "discount_label"]
VAT_SUMMARY_HEAD = [
    "country", "currency", "vat_category", "vat_rate", "invoices", "credit_notes", "net", "vat", "gross",
    "discounts",
]
README = """Export of the documents issued in {title} ({start} to {last_day}).

journal.csv      one row per document (invoices, receipts, credit notes),
                 amounts as decimal text in the document's currency;
                 net_<rate> / vat_<rate> per VAT rate ("AE" = reverse charge);
                 documents in another currency: vat_total_eur at the ECB
                 rate (1 EUR = eur_rate) of eur_rate_date;
                 credit notes are negative; receipts repeat the invoice they
                 settle and are not counted in the VAT summary;
                 discount: what discount codes took off the lines (VAT
                 included; the amounts above are already net of it).
vat_summary.csv  invoices minus credit notes per buyer country, currency,
                 VAT category and rate (net, vat and gross after discounts;
                 discounts: what was taken off, VAT included).
invoices/ receipts/ credit_notes/   the PDFs (invoices and credit notes are
                 PDF/A-3 Factur-X e-invoices with their XML embedded).

Documents: {count}.
"""


def decimal_text(minor: int, currency: str) -> str:
    """12345 EUR minor units -> "123.45"; 1250 JPY -> "1250"."""
    return f"{to_major_units(int(minor), currency):f}"


def _rate_key(row: dict, reverse_charge: bool) -> tuple[str, Decimal]:
    category = row.get("category") or vat_category(row["rate"], reverse_charge=reverse_charge)
    return category, Decimal(str(row["rate"])).quantize(Decimal("0.01"))


def _rate_label(key: tuple[str, Decimal]) -> str:
    """(S, 20.00) -> "20%", (S, 5.50) -> "5.5%", (Z, 0) -> "0% Z", (AE, 0) -> "0% AE"."""
    category, rate = key
    text = f"{rate:f}".rstrip("0").rstrip(".")
    return f"{text}%" if category == "S" else f"{text}% {category}"


def _zip_info(name: str, period: Period, *, compress: int, size: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(period.start.year, period.start.month, period.start.day, 0, 0, 0))
    info.compress_type = compress
    info.create_system = 3  # Unix, whatever machine builds it
    info.external_attr = 0o644 << 16
    if size is not None:
        info.file_size = size
    return info


@dataclass
class ExportStats:
    documents: int = 0
    pdfs: int = 0
    rendered: int = 0
    by_kind: dict = field(default_factory=dict)


def _ordered(queryset):
    return queryset.order_by("series", "year", "sequence", "pk")


def _journal_rows(period: Period, rate_keys: list[tuple[str, Decimal]]) -> Iterator[tuple[list[str], dict]]:
    fields = (
        "number", "kind", "issued_at", "customer_email", "currency", "total_net", "total_tax", "total_gross",
        "payment_reference", "snapshot", "related_document__number",
    )
    for doc in _ordered(period_documents(period)).values(*fields).iterator(chunk_size=500):
        snap = doc["snapshot"]
        buyer = snap.get("buyer") or {}
        currency = doc["currency"]
        sign = Document.sign_of(doc["kind"])
        reverse_charge = bool(snap.get("reverse_charge"))
        per_rate = {}
        for row in snap.get("vat_breakdown") or []:
            net, tax = per_rate.get(_rate_key(row, reverse_charge), (0, 0))
            per_rate[_rate_key(row, reverse_charge)] = (net + int(row["net"]), tax + int(row["tax"]))
        discounts: dict[tuple[str, Decimal], int] = {}
        for line in snap.get("lines") or []:
            if line.get("discount"):
                key = _rate_key({"rate": line["vat_rate"], "category": line.get("vat_category")}, reverse_charge)
                discounts[key] = discounts.get(key, 0) + int(line["discount"])
        rate_cells = []
        for key in rate_keys:
            if key in per_rate:
                net, tax = per_rate[key]
                rate_cells += [decimal_text(sign * net, currency), decimal_text(sign * tax, currency)]
            else:
                rate_cells += ["", ""]
        # The invoice a credit note reduces (or a receipt settles).
        related = doc["related_document__number"] or ""
        row = [
            doc["number"],
            snap.get("issue_date") or "",
            doc["kind"],
            buyer.get("company") or buyer.get("name") or "",
            doc["customer_email"],
            buyer.get("vat_id") or "",
            buyer.get("country") or "",
            currency.upper(),
            *rate_cells,
            decimal_text(sign * doc["total_net"], currency),
            decimal_text(sign * doc["total_tax"], currency),
            decimal_text(sign * doc["total_gross"], currency),
            doc["payment_reference"],
            related,
            # Another currency: the VAT in euros at the ECB rate of the day before issue.
            *_eur_cells(snap.get("accounting_currency"), sign),
            decimal_text(sign * sum(discounts.values()), currency) if discounts else "",
            (snap.get("discount") or {}).get("label", "") if discounts else "",
        ]
        yield row, {"doc": doc, "per_rate": per_rate, "country": buyer.get("country") or "", "sign": sign,
                    "discounts": discounts}


def _eur_cells(eur: dict | None, sign: int) -> list[str]:
    if not eur:
        return ["", "", ""]
    return [decimal_text(sign * int(eur["vat_total"]), eur["currency"]), eur["rate"], eur["rate_date"]]


def period_rate_keys(period: Period) -> list[tuple[str, Decimal]]:
    keys = set()
    for snap in period_documents(period).values_list("snapshot", flat=True).iterator(chunk_size=500):
        reverse_charge = bool(snap.get("reverse_charge"))
        for row in snap.get("vat_breakdown") or []:
            keys.add(_rate_key(row, reverse_charge))
    # Highest rate first, as on the documents; reverse charge after the rest.
    return sorted(keys, key=lambda k: (k[0] == "AE", -k[1], k[0]))


def export_write_zip(
    *,
    period: Period,
    handle,
    progress: Callable[[int, int], None] | None = None,
    render_missing: Callable[[int], None] | None = None,
) -> ExportStats:
    """Write the export ZIP of `period` to the binary file `handle` (seekable).

    `render_missing(document_id)` renders a PDF that is not stored yet (the
    caller renders missing PDFs first; this is the safety net for a file lost
    from storage). `progress(done, total)` is called as PDFs are copied.
    """
    stats = ExportStats()
    total = period_documents(period).count()
    rate_keys = period_rate_keys(period)
    summary: dict[tuple, list] = {}

    with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
        # 1. journal.csv, streamed row by row into the archive.
        with archive.open(_zip_info("journal.csv", period, compress=zipfile.ZIP_DEFLATED), "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(
                JOURNAL_HEAD
                + [f"{prefix}_{_rate_label(key)}" for key in rate_keys for prefix in ("net", "vat")]
                + JOURNAL_TAIL
            )
            for row, info in _journal_rows(period, rate_keys):
                writer.writerow(row)
                doc = info["doc"]
                stats.documents += 1
                stats.by_kind[doc["kind"]] = stats.by_kind.get(doc["kind"], 0) + 1
                if doc["kind"] == Document.Kind.RECEIPT:
                    continue
                for key, (net, tax) in info["per_rate"].items():
                    entry = summary.setdefault((info["country"], doc["currency"].upper(), *key), [0, 0, 0, 0, 0, 0])
                    entry[0 if doc["kind"] == Document.Kind.INVOICE else 1] += 1
                    entry[2] += info["sign"] * net
                    entry[3] += info["sign"] * tax
                    entry[4] += info["sign"] * (net + tax)
                    entry[5] += info["sign"] * info["discounts"].get(key, 0)
            text.flush()
            text.detach()

        # 2. vat_summary.csv (one small row per country, currency and rate).
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(VAT_SUMMARY_HEAD)
        for (country, currency, category, rate), (invoices, credits, net, tax, gross, off) in sorted(
                summary.items()):
            writer.writerow([
                country, currency, category, f"{rate:f}", invoices, credits,
                decimal_text(net, currency), decimal_text(tax, currency), decimal_text(gross, currency),
                decimal_text(off, currency),
            ])
        archive.writestr(
            _zip_info("vat_summary.csv", period, compress=zipfile.ZIP_DEFLATED), buffer.getvalue().encode()
        )
        archive.writestr(
            _zip_info("README.txt", period, compress=zipfile.ZIP_DEFLATED),
            README.format(
                title=period.title, start=period.start, last_day=period.last_day, count=total
            ).encode(),
        )

        # 3. The PDFs, copied from storage in chunks (already compressed: stored).
        done = 0
        documents = _ordered(period_documents(period)).only("pk", "kind", "number", "year", "pdf", "pdf_rendered_at")
        for document in documents.iterator(chunk_size=500):
            if not document.has_pdf and render_missing is not None:
                render_missing(document.pk)
                document.refresh_from_db(fields=["pdf", "pdf_rendered_at"])
                stats.rendered += 1
            try:
                source = document.pdf.open("rb")
            except (FileNotFoundError, ValueError):
                if render_missing is None:
                    raise
                render_missing(document.pk)
                document.refresh_from_db(fields=["pdf", "pdf_rendered_at"])
                stats.rendered += 1
                source = document.pdf.open("rb")
            with source:
                name = f"{KIND_FOLDERS[document.kind]}/{document.number}.pdf"
                with archive.open(
                    _zip_info(name, period, compress=zipfile.ZIP_STORED, size=document.pdf.size), "w"
                ) as target:
                    shutil.copyfileobj(source, target, CHUNK)
            stats.pdfs += 1
            done += 1
            if progress is not None:
                progress(done, total)
    return stats


def file_sha256(handle) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(CHUNK), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()
