"""Credit notes for refunds: which lines to credit, how a credit note reads
(negative amounts), and its e-mail.

A credit note is stored like every document, with positive amounts (its kind
says they are credited; exports and Factur-X read them so). Printed, its
amounts are negative, as a credit note's are on paper.
"""

import copy
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .exceptions import BillingError
from .models import Document
from .money import format_money, format_rate
from .tax import LineInput, normalize_rate

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


def invoice_remaining_by_rate(*, invoice: Document) -> dict[Decimal, int]:
    """Gross still creditable per VAT rate: the invoice's breakdown minus
    what its credit notes have credited at that rate."""
    remaining = {normalize_rate(r["rate"]): int(r["gross"]) for r in invoice.snapshot["vat_breakdown"]}
    for note in Document.objects.filter(kind=Document.Kind.CREDIT_NOTE, related_document=invoice):
        for r in note.snapshot["vat_breakdown"]:
            rate = normalize_rate(r["rate"])
            remaining[rate] = remaining.get(rate, 0) - int(r["gross"])
    return {rate: gross for rate, gross in remaining.items() if gross > 0}


def credit_note_lines_for_refund(*, invoice: Document, amount: int) -> list[LineInput]:
    """Lines crediting `amount` (VAT included) of what remains on `invoice`,
    spread over its VAT rates in proportion to what remains at each rate
    (largest remainder), so that after a refund by lines, "the rest" is
    credited at the rates it was charged and never more at one rate than was
    invoiced at it."""
    remaining = invoice_remaining_by_rate(invoice=invoice)
    total = sum(remaining.values())
    if amount <= 0 or amount > total:
        raise BillingError(
            f"A credit of {format_money(amount, invoice.currency)} does not fit invoice {invoice.number} "
            f"({format_money(total, invoice.currency)} remains)."
        )
    rates = sorted(remaining, reverse=True)
    shares = [Decimal(amount) * Decimal(remaining[r]) / Decimal(total) for r in rates]
    floors = [int(s.to_integral_value(rounding=ROUND_FLOOR)) for s in shares]
    for index in sorted(range(len(rates)), key=lambda i: shares[i] - floors[i], reverse=True)[: amount - sum(floors)]:
        floors[index] += 1
    return [
        LineInput(
            name=f"Refund on invoice {invoice.number} (VAT {format_rate(rate)})",
            quantity=1,
            unit_amount=gross,
            vat_rate=rate,
        )
        for rate, gross in zip(rates, floors, strict=True)
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
        )
        for line in lines
    ]


def credit_note_email(*, document: Document, download_url: str = "", order_url: str = "") -> EmailMultiAlternatives:
    """The e-mail sending a credit note (PDF attached) to its customer."""
    snap = document.snapshot
    seller = snap.get("seller", {})
    context = {
        "doc": snap,
        "seller_name": seller.get("name", ""),
        "buyer_name": snap["buyer"].get("name", ""),
        "credit_note_number": document.number,
        "invoice_number": (snap.get("related_document") or {}).get("number", ""),
        "order_number": (snap.get("order") or {}).get("number", ""),
        "total": format_money(document.total_gross, document.currency),
        "reason": snap.get("reason", ""),
        "credit_note_url": download_url,
        "order_url": order_url,
    }
    subject = " ".join(render_to_string("billing/email/credit_note_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("billing/email/credit_note_message.txt", context),
        from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
        to=[document.customer_email],
        reply_to=[seller["email"]] if seller.get("email") else None,
    )
    message.attach_alternative(render_to_string("billing/email/credit_note_message.html", context), "text/html")
    with document.pdf.open("rb") as handle:
        message.attach(document.pdf_filename, handle.read(), "application/pdf")
    return message
