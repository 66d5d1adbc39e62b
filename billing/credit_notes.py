"""Credit notes: which lines to credit and how a credit note reads (negative
amounts).

A credit note is stored like every document, with positive amounts (its kind
says they are credited; exports and Factur-X read them so). Printed, its
amounts are negative, as a credit note's are on paper.
"""

import copy
from collections.abc import Sequence
from decimal import Decimal

from core.money import allocate, format_money, format_rate

from .exceptions import BillingError, DocumentNotIssuable
from .models import Document
from .tax import LineInput, lines_from_snapshot, normalize_rate, vat_category

_LINE_AMOUNTS = ("unit_gross", "unit_net", "net", "tax", "gross")
_TOTAL_AMOUNTS = ("net", "tax", "gross")


def credit_note_for_display(snapshot: dict) -> dict:
    """The snapshot of a credit note with its amounts negated, for printing."""
    if snapshot.get("kind") != Document.Kind.CREDIT_NOTE:
        return snapshot
    doc = copy.deepcopy(snapshot)
    for line in doc.get("lines", []):
        for key in _LINE_AMOUNTS:
            if isinstance(line.get(key), int):
                line[key] = -line[key]
    for row in doc.get("vat_breakdown", []):
        for key in _TOTAL_AMOUNTS:
            if isinstance(row.get(key), int):
                row[key] = -row[key]
    for key in _TOTAL_AMOUNTS:
        if isinstance(doc.get("totals", {}).get(key), int):
            doc["totals"][key] = -doc["totals"][key]
    return doc


def _row_key(row: dict, reverse_charge: bool) -> tuple[str, Decimal]:
    rate = normalize_rate(row["rate"])
    return row.get("category") or vat_category(rate, reverse_charge=reverse_charge), rate


def invoice_remaining_by_rate(*, invoice: Document) -> dict[tuple[str, Decimal], int]:
    """Gross still creditable per VAT category and rate: the invoice's
    breakdown minus what its credit notes have credited there."""
    reverse_charge = bool(invoice.snapshot.get("reverse_charge"))
    remaining = {_row_key(r, reverse_charge): int(r["gross"]) for r in invoice.snapshot["vat_breakdown"]}
    for note in Document.objects.filter(kind=Document.Kind.CREDIT_NOTE, related_document=invoice):
        for r in note.snapshot["vat_breakdown"]:
            key = _row_key(r, bool(note.snapshot.get("reverse_charge")))
            remaining[key] = remaining.get(key, 0) - int(r["gross"])
    return {key: gross for key, gross in remaining.items() if gross > 0}


def credit_note_lines_for_amount(*, invoice: Document, amount: int) -> list[LineInput]:
    """Lines crediting `amount` (VAT included) of what remains on `invoice`:
    all of an invoice not credited yet is credited line by line; a part is
    spread over its VAT rates in proportion to what remains at each rate
    (largest remainder), so that a partial refund reverses VAT at the rates
    it was charged and never more at one rate than was invoiced at it."""
    remaining = invoice_remaining_by_rate(invoice=invoice)
    total = sum(remaining.values())
    if amount <= 0:
        raise BillingError(f"A credit must be more than zero, not {format_money(amount, invoice.currency)}.")
    if amount > total:
        raise DocumentNotIssuable(
            f"Invoice {invoice.number}: {format_money(total, invoice.currency)} remains to credit, "
            f"not {format_money(amount, invoice.currency)}."
        )
    if amount == invoice.total_gross:
        return lines_from_snapshot(invoice.snapshot["lines"])
    keys = sorted(remaining, key=lambda key: (key[1], key[0]), reverse=True)
    supplies = {line.get("supply", "") for line in invoice.snapshot["lines"]}
    supply = supplies.pop() if len(supplies) == 1 else ""
    return [
        LineInput(
            name=f"Refund on invoice {invoice.number} (VAT {format_rate(rate)}{'' if category in 'SZ' else ', ' + category})",
            quantity=1,
            unit_amount=gross,
            vat_rate=rate,
            vat_category=category,
            supply=supply,
        )
        for (category, rate), gross in zip(keys, allocate(amount, [remaining[k] for k in keys]), strict=True)
        if gross
    ]


def credit_note_lines_for_order_lines(lines: Sequence[dict]) -> list[LineInput]:
    """Lines crediting what was refunded line by line (refund.lines)."""
    return [
        LineInput(
            name=line["name"],
            sku=line.get("sku", ""),
            quantity=int(line["quantity"]),
            unit_amount=int(line["unit_amount"]),
            vat_rate=Decimal(str(line["vat_rate"])),
            vat_category=line.get("vat_category", ""),
            discount=int(line.get("discount") or 0),
        )
        for line in lines
    ]
