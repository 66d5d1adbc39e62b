"""Writes on documents: issuing invoices, receipts and credit notes, and
rendering their PDFs. (Their e-mails: billing.emails.)

Issuing is one short transaction: lock the source row, check its state, take a
gapless number (billing.numbering), copy everything the document shows into
its snapshot. Rendering and e-mailing happen afterwards, outside that
transaction, each guarded so that running it twice has one effect.

Billing knows no order, payment or subscription: callers hand it plain data
(a Buyer, lines, an OrderRef) and it hands back documents.
"""

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.money import format_money
from core.types import Buyer, address_lines

from .credit_notes import credit_note_lines_for_amount
from .dates import seller_date, seller_localtime
from .exceptions import BillingError, DocumentNotIssuable
from .exchange_rates import vat_in_accounting_currency
from .facturx import einvoice_assert_complete
from .models import Document, DocumentLine, DocumentVatTotal
from .numbering import document_number_and_time
from .periods import period_assert_open
from .rendering import snapshot_to_pdf
from .tax import FRENCH_PAYMENT_NOTES, LineInput, TaxComputation, tax_compute, vat_mentions

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1


@dataclass(frozen=True)
class OrderRef:
    """The shop order a document is for, as plain data from its caller."""

    id: int
    number: str
    placed_at: datetime | None = None
    paid_at: datetime | None = None
    # The order's page, a path under SITE_URL (linked from the e-mail).
    path: str = ""
    # Opens the documents without an account: a guest order's reference.
    guest_reference: uuid.UUID | None = None


def seller_snapshot() -> dict:
    seller = dict(settings.SHOP_SELLER or {})
    seller.setdefault("name", "")
    seller["address_lines"] = address_lines(
        line1=seller.get("address_line1", ""), line2=seller.get("address_line2", ""),
        postal_code=seller.get("postal_code", ""), city=seller.get("city", ""), country=seller.get("country", ""),
    )
    return seller


def _iso(value: datetime | None) -> str:
    return seller_localtime(value).isoformat() if value else ""


def _date(value: datetime | None) -> str:
    return seller_date(value).isoformat() if value else ""


def _lines_snapshot(tax: TaxComputation) -> list[dict]:
    return [_line_snapshot(line) for line in tax.lines]


def _line_snapshot(line) -> dict:
    snap = {
        "name": line.name,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_gross": line.unit_gross,
        "unit_net": line.unit_net,
        "vat_rate": str(line.vat_rate),
        "net": line.net,
        "tax": line.tax,
        "gross": line.gross,
        "vat_category": line.vat_category,
        "supply": line.supply,
    }
    if line.discount:
        # What the discount took off the line, VAT included and excluded.
        snap["discount"] = line.discount
        snap["discount_net"] = line.discount_net
    return snap


def _breakdown_snapshot(tax: TaxComputation) -> list[dict]:
    return [
        {"rate": str(b.rate), "net": b.net, "tax": b.tax, "gross": b.gross, "category": b.category}
        for b in tax.breakdown
    ]


def _legal_mentions(
    *, kind: str, seller: dict, currency: str, extra: Sequence[str] = (), categories: Sequence[str] = ()
) -> list[str]:
    mentions = []
    if kind != Document.Kind.RECEIPT and {"S"} & set(categories):
        mentions.append("Prices include VAT. VAT is shown per rate in the breakdown.")
    if seller.get("vat_id"):
        mentions.append(f"Seller VAT number: {seller['vat_id']}")
    if seller.get("registration"):
        mentions.append(f"Registration: {seller['registration']}")
    mentions.append(f"Amounts in {currency.upper()}.")
    if kind != Document.Kind.RECEIPT and (seller.get("country") or "").upper() == "FR":
        # French Commercial Code (art. L441-9, L441-10, D441-5): on every invoice.
        mentions.extend(FRENCH_PAYMENT_NOTES.values())
    mentions.extend(extra)
    # Why a line carries no VAT (intra-Community supply, reverse charge,
    # export, outside the scope): the article of the VAT Directive.
    mentions.extend(m for m in vat_mentions(categories) if m not in mentions)
    return mentions


def _document_create(
    *,
    kind: str,
    buyer: Buyer,
    currency: str,
    lines: list[dict],
    vat_breakdown: list[dict],
    totals: dict,
    issued_at: datetime | None,
    customer=None,
    order: OrderRef | None = None,
    related_document: Document | None = None,
    payment_reference: str = "",
    stripe_invoice_id: str | None = None,
    extra: dict | None = None,
    extra_mentions: Sequence[str] = (),
) -> Document:
    """Number and store one document. The caller holds the transaction.
    A receipt or credit note belongs to its invoice's order (`related_document`)."""
    seller = seller_snapshot()
    # An invoice or credit note must carry what its Factur-X e-invoice
    # requires, and its period must be open (accountants close periods); a
    # refusal rolls the transaction back whole, so it numbers nothing.
    categories = [row.get("category") or "S" for row in vat_breakdown]
    einvoice_assert_complete(kind=kind, seller=seller, buyer=buyer.as_snapshot(), categories=categories)
    # The issue time is read under the series' lock (billing.numbering).
    number, issued_at = document_number_and_time(kind=kind, issued_at=issued_at)
    period_assert_open(issued_at)
    # Another currency: the VAT total in euros at the ECB rate of the day before.
    eur_vat = vat_in_accounting_currency(currency=currency, total_tax=totals["tax"], issue_date=seller_date(issued_at))
    currency = currency.lower()
    snapshot = {
        "version": SNAPSHOT_VERSION,
        "kind": kind,
        "title": Document.Kind(kind).label,
        "number": number.number,
        "issued_at": _iso(issued_at),
        "issue_date": _date(issued_at),
        "currency": currency,
        "seller": seller,
        "buyer": buyer.as_snapshot(),
        "order": _order_snapshot(order, related_document),
        "related_document": (
            {
                "kind": related_document.kind,
                "title": related_document.get_kind_display(),
                "number": related_document.number,
                "issue_date": _date(related_document.issued_at),
            }
            if related_document is not None
            else None
        ),
        "lines": lines,
        "vat_breakdown": vat_breakdown,
        "totals": totals,
        "payment_reference": payment_reference,
        "accounting_currency": eur_vat,
        "legal_mentions": _legal_mentions(
            kind=kind, seller=seller, currency=currency, extra=extra_mentions, categories=categories,
        ),
        **(extra or {}),
    }
    document = Document.objects.create(
        kind=kind,
        number=number.number,
        series=number.series,
        year=number.year,
        sequence=number.sequence,
        issued_at=issued_at,
        **_order_links(order, related_document),
        stripe_invoice_id=stripe_invoice_id or None,
        customer=customer,
        customer_email=buyer.email,
        currency=currency,
        total_net=totals["net"],
        total_tax=totals["tax"],
        total_gross=totals["gross"],
        related_document=related_document,
        payment_reference=payment_reference[:255],
        snapshot=snapshot,
    )
    _document_rows_create(document, lines=lines, vat_breakdown=vat_breakdown)
    logger.info("document issued: %s %s %s", document.number, document.total_gross, currency)
    return document


def _document_rows_create(document: Document, *, lines: list[dict], vat_breakdown: list[dict]) -> None:
    """The lines and VAT rows beside the snapshot (the same figures), so that
    exports and checks sum in SQL."""
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=document, position=position, name=line["name"][:500], sku=(line.get("sku") or "")[:64],
            supply=line.get("supply") or "", quantity=int(line["quantity"]), unit_gross=int(line["unit_gross"]),
            unit_net=int(line["unit_net"]), vat_rate=Decimal(str(line["vat_rate"])),
            vat_category=line.get("vat_category") or "S", net=int(line["net"]), tax=int(line["tax"]),
            gross=int(line["gross"]),
        )
        for position, line in enumerate(lines, start=1)
    )
    DocumentVatTotal.objects.bulk_create(
        DocumentVatTotal(document=document, vat_category=row.get("category") or "S",
                         vat_rate=Decimal(str(row["rate"])), net=int(row["net"]), tax=int(row["tax"]),
                         gross=int(row["gross"]))
        for row in vat_breakdown
    )


def _order_snapshot(order: OrderRef | None, related_document: Document | None) -> dict | None:
    if order is not None:
        return {"number": order.number, "placed_on": _date(order.placed_at), "paid_on": _date(order.paid_at)}
    return related_document.snapshot.get("order") if related_document is not None else None


def _order_links(order: OrderRef | None, related_document: Document | None) -> dict:
    """The order fields of a new document: from its caller, or its invoice's."""
    if order is not None:
        return {"order_id": order.id, "order_path": order.path, "access_reference": order.guest_reference}
    if related_document is not None:
        return {"order_id": related_document.order_id, "order_path": related_document.order_path,
                "access_reference": related_document.access_reference}
    return {}


def invoice_issue(
    *,
    buyer: Buyer,
    lines: Sequence[LineInput],
    currency: str,
    customer=None,
    order: OrderRef | None = None,
    stripe_invoice_id: str | None = None,
    payment_reference: str = "",
    paid_at: datetime | None = None,
    issued_at: datetime | None = None,
    extra_mentions: Sequence[str] = (),
    discount_label: str = "",
) -> Document:
    """Issue a numbered invoice for VAT-inclusive `lines` (shop orders and, later,
    subscription invoices). Runs in its own transaction, or in the caller's.

    Idempotent for a Stripe invoice: a second call with the same
    `stripe_invoice_id` returns the invoice already issued.

    Each line carries the VAT rate and category its caller decided at sale
    time (billing.tax.vat_treatment: the checkout, where the buyer saw and
    paid it); the document prints the mention of every exempt or reverse
    charged category (billing.tax.CATEGORY_MENTIONS).
    """
    tax = tax_compute(lines=lines)
    reverse_charge = any(line.vat_category == "AE" for line in tax.lines)
    with transaction.atomic():
        if stripe_invoice_id:
            existing = Document.objects.filter(stripe_invoice_id=stripe_invoice_id).first()
            if existing is not None:
                return existing
        return _document_create(
            kind=Document.Kind.INVOICE,
            buyer=buyer,
            currency=currency,
            lines=_lines_snapshot(tax),
            vat_breakdown=_breakdown_snapshot(tax),
            totals={"net": tax.total_net, "tax": tax.total_tax, "gross": tax.total_gross},
            issued_at=issued_at,
            customer=customer,
            order=order,
            payment_reference=payment_reference,
            stripe_invoice_id=stripe_invoice_id,
            extra={"paid_on": _date(paid_at), "reverse_charge": reverse_charge,
                   **_discount_snapshot(tax, discount_label)},
            extra_mentions=extra_mentions,
        )


def _discount_snapshot(tax: TaxComputation, label: str) -> dict:
    """The document's discount (a code's terms, the amount it took off all
    lines, VAT included), printed under the totals; nothing without one."""
    total = sum(line.discount for line in tax.lines)
    if not total:
        return {}
    return {"discount": {"label": label or "Discount", "gross": total,
                         "net": sum(line.discount_net for line in tax.lines)}}


def receipt_issue(
    *, invoice: Document, payment_reference: str = "", paid_at: datetime | None = None,
    issued_at: datetime | None = None,
) -> Document:
    """Issue the receipt acknowledging full payment of `invoice`. Idempotent: the
    invoice has at most one receipt, and a second call returns it."""
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=invoice.pk)
        if invoice.kind != Document.Kind.INVOICE:
            raise DocumentNotIssuable(f"{invoice.number} is not an invoice; only invoices get a receipt.")
        existing = Document.objects.filter(kind=Document.Kind.RECEIPT, related_document=invoice).first()
        if existing is not None:
            return existing
        snap = invoice.snapshot
        buyer = Buyer.from_snapshot(snap["buyer"])
        paid_at = paid_at or timezone.now()
        return _document_create(
            kind=Document.Kind.RECEIPT,
            buyer=buyer,
            currency=invoice.currency,
            # The receipt acknowledges exactly what the invoice says.
            lines=snap["lines"],
            vat_breakdown=snap["vat_breakdown"],
            totals=snap["totals"],
            issued_at=issued_at,
            customer=invoice.customer,
            related_document=invoice,
            payment_reference=payment_reference or invoice.payment_reference,
            extra={"paid_on": _date(paid_at), "amount_received": snap["totals"]["gross"]},
            extra_mentions=[f"This receipt acknowledges the payment of invoice {invoice.number}; "
                            "it is not an invoice."],
        )


def credit_note_issue(
    *,
    invoice_id: int,
    lines: Sequence[LineInput] | None = None,
    amount: int | None = None,
    reason: str = "",
    refund_reference: str = "",
    issued_at: datetime | None = None,
) -> Document:
    """Issue a numbered credit note against an invoice: either explicit `lines`
    (what is credited, VAT included) or an `amount` spread over the invoice's VAT
    rates. Refuses to credit more than what remains on the invoice.

    Not idempotent by itself: the refund that calls it guards its own state
    (one credit note per confirmed refund).
    """
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=invoice_id)
        if invoice.kind != Document.Kind.INVOICE:
            raise DocumentNotIssuable(f"{invoice.number} is not an invoice; only invoices can be credited.")
        if (lines is None) == (amount is None):
            raise BillingError("Give either the credited lines or the credited amount.")
        if lines is None:
            lines = credit_note_lines_for_amount(invoice=invoice, amount=amount)
        # A credit note follows its invoice's VAT treatment: lines from the
        # invoice carry their categories; an invoice with only the old flag
        # is reverse charged whole.
        reverse_charge = bool(invoice.snapshot.get("reverse_charge"))
        tax = tax_compute(lines=lines, reverse_charge=reverse_charge and not any(li.vat_category for li in lines))
        reverse_charge = any(line.vat_category == "AE" for line in tax.lines)
        credited = sum(
            Document.objects.filter(kind=Document.Kind.CREDIT_NOTE, related_document=invoice).values_list(
                "total_gross", flat=True
            )
        )
        if credited + tax.total_gross > invoice.total_gross:
            raise DocumentNotIssuable(
                f"Invoice {invoice.number}: {format_money(invoice.total_gross - credited, invoice.currency)} "
                f"remains to credit, not {format_money(tax.total_gross, invoice.currency)}."
            )
        snap = invoice.snapshot
        buyer = Buyer.from_snapshot(snap["buyer"])
        return _document_create(
            kind=Document.Kind.CREDIT_NOTE,
            buyer=buyer,
            currency=invoice.currency,
            lines=_lines_snapshot(tax),
            vat_breakdown=_breakdown_snapshot(tax),
            totals={"net": tax.total_net, "tax": tax.total_tax, "gross": tax.total_gross},
            issued_at=issued_at,
            customer=invoice.customer,
            related_document=invoice,
            payment_reference=refund_reference,
            extra={"reason": reason, "reverse_charge": reverse_charge,
                   **_discount_snapshot(tax, (snap.get("discount") or {}).get("label", ""))},
            extra_mentions=[f"This credit note reduces invoice {invoice.number}."],
        )


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def _pdf_is_stored(document: Document) -> bool:
    return bool(document.pdf) and document.pdf_rendered_at is not None and document.pdf.storage.exists(
        document.pdf.name
    )


def document_render_pdf(*, document_id: int) -> Document:
    """Render the document's PDF from its snapshot and store it (Django's
    default storage, `documents/<year>/<number>.pdf`).

    Idempotent: a document already rendered is returned as it is. The
    rendering itself runs outside any lock; only storing the result takes the
    row lock, and the first renderer wins.
    """
    document = Document.objects.get(pk=document_id)
    if _pdf_is_stored(document):
        return document
    pdf = snapshot_to_pdf(snapshot=document.snapshot)
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        if _pdf_is_stored(document):
            return document  # another worker rendered it meanwhile
        storage = document.pdf.storage
        name = document.pdf.field.generate_filename(document, document.pdf_filename)
        if storage.exists(name):
            # Left by an attempt whose database update failed: same snapshot,
            # same content; replace it so the name stays <number>.pdf.
            storage.delete(name)
        if document.pdf_sha256:
            # The issued file was lost from storage: a new rendering takes its
            # place, but the hash kept at issue stays, so the number audit
            # says this file is not the one issued.
            storage.save(name, ContentFile(pdf))
            logger.warning("document %s: PDF lost from storage, rendered again (hash kept)", document.number)
            return document
        document.pdf.save(document.pdf_filename, ContentFile(pdf), save=False)
        document.pdf_rendered_at = timezone.now()
        # Kept with the document: the number audit checks the stored file against it.
        document.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
        document.save(update_fields=["pdf", "pdf_rendered_at", "pdf_sha256"])
    logger.info("document rendered: %s (%d bytes)", document.number, len(pdf))
    return document


def document_pdf_ensure(*, document: Document) -> Document:
    """The document with its PDF in storage, for a download or an export: as
    it is, or rendered now (a receipt's first download, a worker behind, a
    file lost from storage). The same snapshot gives the same bytes, so this
    is the file a worker would have stored; two first downloads at once both
    render and the first to store wins (document_render_pdf). Call it
    outside any transaction."""
    if _pdf_is_stored(document):
        return document
    return document_render_pdf(document_id=document.pk)


def document_pdf_bytes(*, document: Document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()
