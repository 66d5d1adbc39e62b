"""Writes on documents: issuing invoices, receipts and credit notes, rendering
their PDFs and e-mailing them.

Issuing is one short transaction: lock the source row, check its state, take a
gapless number (billing.numbering), copy everything the document shows into
its snapshot. Rendering and e-mailing happen afterwards, outside that
transaction, each guarded so that running it twice has one effect.
"""

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from orders.models import Order

from .exceptions import BillingError, DocumentNotIssuable
from .facturx import einvoice_assert_complete
from .models import Document
from .money import format_money, format_rate
from .numbering import document_number_next
from .rendering import snapshot_to_pdf
from .tax import (
    REVERSE_CHARGE_MENTION,
    LineInput,
    TaxComputation,
    lines_from_snapshot,
    reverse_charge_applies,
    tax_compute,
)

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
# Orders that have been paid (and possibly refunded since): they get documents.
PAID_ORDER_STATUSES = frozenset(
    {Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED}
)
CARD_BRANDS = {
    "amex": "American Express",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "cartes_bancaires": "Cartes Bancaires",
}


@dataclass(frozen=True)
class Buyer:
    """Who a document is addressed to, as printed."""

    name: str
    email: str = ""
    company: str = ""
    address_line1: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    vat_id: str = ""

    def as_snapshot(self) -> dict:
        data = asdict(self)
        data["address_lines"] = [
            line
            for line in (
                self.company,
                self.address_line1,
                f"{self.postal_code} {self.city}".strip(),
                self.country,
            )
            if line
        ]
        return data


def buyer_from_order(order: Order) -> Buyer:
    return Buyer(
        name=order.billing_name,
        email=order.email,
        company=order.billing_company,
        address_line1=order.billing_line1,
        postal_code=order.billing_postal_code,
        city=order.billing_city,
        country=order.billing_country,
        vat_id=order.vat_id,
    )


def seller_snapshot() -> dict:
    seller = dict(getattr(settings, "SHOP_SELLER", {}) or {})
    seller.setdefault("name", "")
    seller["address_lines"] = [
        line
        for line in (
            seller.get("address_line1", ""),
            seller.get("address_line2", ""),
            f"{seller.get('postal_code', '')} {seller.get('city', '')}".strip(),
            seller.get("country", ""),
        )
        if line
    ]
    return seller


def payment_reference_for_order(order: Order) -> str:
    """"Card Visa •••• 4242, Stripe pi_..." from the order's successful payment."""
    from payments.models import Payment

    payment = (
        Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).order_by("-created_at", "-pk").first()
    )
    parts = []
    intent = order.stripe_payment_intent_id
    if payment is not None:
        intent = payment.stripe_payment_intent_id or intent
        if payment.card_brand or payment.card_last4:
            brand = CARD_BRANDS.get(payment.card_brand.lower(), payment.card_brand.title())
            parts.append(f"Card {brand} •••• {payment.card_last4}".replace("  ", " "))
    if intent:
        parts.append(f"Stripe {intent}")
    return ", ".join(parts)


def _iso(value: datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _date(value: datetime | None) -> str:
    return timezone.localdate(value).isoformat() if value else ""


def _lines_snapshot(tax: TaxComputation) -> list[dict]:
    return [
        {
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
        }
        for line in tax.lines
    ]


def _breakdown_snapshot(tax: TaxComputation) -> list[dict]:
    return [
        {"rate": str(b.rate), "net": b.net, "tax": b.tax, "gross": b.gross, "category": b.category}
        for b in tax.breakdown
    ]


def _legal_mentions(
    *, kind: str, seller: dict, currency: str, extra: Sequence[str] = (), reverse_charge: bool = False
) -> list[str]:
    mentions = []
    if kind != Document.Kind.RECEIPT and not reverse_charge:
        mentions.append("Prices include VAT. VAT is shown per rate in the breakdown.")
    if seller.get("vat_id"):
        mentions.append(f"Seller VAT number: {seller['vat_id']}")
    if seller.get("registration"):
        mentions.append(f"Registration: {seller['registration']}")
    mentions.append(f"Amounts in {currency.upper()}.")
    mentions.extend(extra)
    return mentions


def _document_create(
    *,
    kind: str,
    buyer: Buyer,
    currency: str,
    lines: list[dict],
    vat_breakdown: list[dict],
    totals: dict,
    issued_at: datetime,
    customer=None,
    order: Order | None = None,
    related_document: Document | None = None,
    payment_reference: str = "",
    stripe_invoice_id: str | None = None,
    extra: dict | None = None,
    extra_mentions: Sequence[str] = (),
) -> Document:
    """Number and store one document. The caller holds the transaction."""
    year = timezone.localdate(issued_at).year
    seller = seller_snapshot()
    # Before the number is taken (a refusal numbers nothing): the period must
    # be open (accounting closes periods), and an invoice or credit note must
    # carry what its Factur-X e-invoice requires.
    from accounting.periods import period_assert_open

    period_assert_open(issued_at)
    einvoice_assert_complete(
        kind=kind, seller=seller, buyer=buyer.as_snapshot(), reverse_charge=bool((extra or {}).get("reverse_charge"))
    )
    number = document_number_next(kind=kind, year=year)
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
        "order": (
            {
                "number": order.number,
                "placed_on": _date(order.created_at),
                "paid_on": _date(order.paid_at),
            }
            if order is not None
            else None
        ),
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
        "legal_mentions": _legal_mentions(
            kind=kind, seller=seller, currency=currency, extra=extra_mentions,
            reverse_charge=bool((extra or {}).get("reverse_charge")),
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
        order=order,
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
    logger.info("document issued: %s %s %s", document.number, document.total_gross, currency)
    return document


def invoice_issue(
    *,
    buyer: Buyer,
    lines: Sequence[LineInput],
    currency: str,
    customer=None,
    order: Order | None = None,
    stripe_invoice_id: str | None = None,
    payment_reference: str = "",
    paid_at: datetime | None = None,
    issued_at: datetime | None = None,
    extra_mentions: Sequence[str] = (),
) -> Document:
    """Issue a numbered invoice for VAT-inclusive `lines` (shop orders and, later,
    subscription invoices). Runs in its own transaction, or in the caller's.

    Idempotent for a Stripe invoice: a second call with the same
    `stripe_invoice_id` returns the invoice already issued.

    Reverse charge (billing.tax.reverse_charge_applies: a business buyer with a
    valid VAT id of another EU member state): the lines are invoiced at 0 %,
    VAT category AE, with the mention; the amounts charged do not change, so
    each line's amount is its net amount and the total is what was paid. A
    caller that sells B2B at net prices passes the net amounts as `lines`.
    """
    seller = seller_snapshot()
    reverse_charge = reverse_charge_applies(
        seller_country=seller.get("country", ""), buyer_country=buyer.country, buyer_vat_id=buyer.vat_id
    )
    tax = tax_compute(lines=lines, reverse_charge=reverse_charge)
    if reverse_charge:
        extra_mentions = [*extra_mentions, REVERSE_CHARGE_MENTION]
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
            issued_at=issued_at or timezone.now(),
            customer=customer,
            order=order,
            payment_reference=payment_reference,
            stripe_invoice_id=stripe_invoice_id,
            extra={"paid_on": _date(paid_at), "reverse_charge": reverse_charge},
            extra_mentions=extra_mentions,
        )


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
        buyer = Buyer(**{k: v for k, v in snap["buyer"].items() if k != "address_lines"})
        paid_at = paid_at or timezone.now()
        return _document_create(
            kind=Document.Kind.RECEIPT,
            buyer=buyer,
            currency=invoice.currency,
            # The receipt acknowledges exactly what the invoice says.
            lines=snap["lines"],
            vat_breakdown=snap["vat_breakdown"],
            totals=snap["totals"],
            issued_at=issued_at or timezone.now(),
            customer=invoice.customer,
            order=invoice.order,
            related_document=invoice,
            payment_reference=payment_reference or invoice.payment_reference,
            extra={"paid_on": _date(paid_at), "amount_received": snap["totals"]["gross"]},
        )


def documents_issue_for_order(*, order_id: int) -> tuple[Document, Document]:
    """Issue the invoice and the receipt of a paid order, in one transaction.

    Idempotent: a second call returns the pair already issued. Raises
    DocumentNotIssuable for an order that has not been paid.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        existing = {
            d.kind: d
            for d in Document.objects.filter(
                order=order, kind__in=[Document.Kind.INVOICE, Document.Kind.RECEIPT]
            )
        }
        if Document.Kind.INVOICE in existing and Document.Kind.RECEIPT in existing:
            return existing[Document.Kind.INVOICE], existing[Document.Kind.RECEIPT]
        if order.status not in PAID_ORDER_STATUSES:
            raise DocumentNotIssuable(
                f"Order {order.number} is {order.get_status_display().lower()}; "
                "invoices are issued for paid orders only."
            )
        payment_reference = payment_reference_for_order(order)
        invoice = existing.get(Document.Kind.INVOICE)
        if invoice is None:
            lines = [
                LineInput(
                    name=line.name,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    vat_rate=line.vat_rate,
                )
                for line in order.lines.order_by("pk")
            ]
            if sum(line.gross for line in lines) != order.total:
                raise DocumentNotIssuable(
                    f"Order {order.number}: its lines do not add up to its total; staff must look."
                )
            invoice = invoice_issue(
                buyer=buyer_from_order(order),
                lines=lines,
                currency=order.currency,
                customer=order.customer,
                order=order,
                payment_reference=payment_reference,
                paid_at=order.paid_at,
            )
        receipt = existing.get(Document.Kind.RECEIPT) or receipt_issue(
            invoice=invoice, payment_reference=payment_reference, paid_at=order.paid_at
        )
    return invoice, receipt


def credit_note_lines_for_amount(*, invoice: Document, amount: int) -> list[LineInput]:
    """Lines crediting `amount` (minor units, VAT included) of `invoice`, spread
    over its VAT rates in proportion to their gross (largest remainder), so a
    partial refund reverses VAT at the rates it was charged."""
    total = invoice.total_gross
    if amount <= 0 or amount > total:
        raise BillingError(f"A credit of {amount} does not fit invoice {invoice.number} ({total}).")
    if amount == total:
        return lines_from_snapshot(invoice.snapshot["lines"])
    rates = invoice.snapshot["vat_breakdown"]
    shares = [Decimal(amount) * Decimal(r["gross"]) / Decimal(total) for r in rates]
    floors = [int(s.to_integral_value(rounding=ROUND_FLOOR)) for s in shares]
    remainder = amount - sum(floors)
    for index in sorted(range(len(rates)), key=lambda i: shares[i] - floors[i], reverse=True)[:remainder]:
        floors[index] += 1
    return [
        LineInput(
            name=f"Refund on invoice {invoice.number} (VAT {format_rate(r['rate'])})",
            quantity=1,
            unit_amount=gross,
            vat_rate=Decimal(r["rate"]),
        )
        for r, gross in zip(rates, floors, strict=True)
        if gross
    ]


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
        # A credit note follows its invoice's VAT treatment (reverse charge or not).
        reverse_charge = bool(invoice.snapshot.get("reverse_charge"))
        tax = tax_compute(lines=lines, reverse_charge=reverse_charge)
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
        buyer = Buyer(**{k: v for k, v in snap["buyer"].items() if k != "address_lines"})
        return _document_create(
            kind=Document.Kind.CREDIT_NOTE,
            buyer=buyer,
            currency=invoice.currency,
            lines=_lines_snapshot(tax),
            vat_breakdown=_breakdown_snapshot(tax),
            totals={"net": tax.total_net, "tax": tax.total_tax, "gross": tax.total_gross},
            issued_at=issued_at or timezone.now(),
            customer=invoice.customer,
            order=invoice.order,
            related_document=invoice,
            payment_reference=refund_reference,
            extra={"reason": reason, "reverse_charge": reverse_charge},
            extra_mentions=[
                f"This credit note reduces invoice {invoice.number}.",
                *([REVERSE_CHARGE_MENTION] if reverse_charge else []),
            ],
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
        document.pdf.save(document.pdf_filename, ContentFile(pdf), save=False)
        document.pdf_rendered_at = timezone.now()
        document.save(update_fields=["pdf", "pdf_rendered_at"])
    logger.info("document rendered: %s (%d bytes)", document.number, len(pdf))
    return document


def document_pdf_bytes(*, document: Document) -> bytes:
    with document.pdf.open("rb") as handle:
        return handle.read()


# ---------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------


def _site_url() -> str:
    return str(getattr(settings, "SITE_URL", "")).rstrip("/")


def order_status_url(order: Order | None) -> str:
    if order is None:
        return ""
    try:
        return _site_url() + order.get_absolute_url()
    except NoReverseMatch:
        return ""


def document_download_url(document: Document) -> str:
    """Absolute download link; a guest order's link carries its reference."""
    try:
        url = _site_url() + reverse("billing:document_pdf", args=[document.pk])
    except NoReverseMatch:
        return ""
    if document.order is not None and document.order.customer_id is None and document.customer_id is None:
        url += f"?ref={document.order.reference}"
    return url


def document_send_email(*, document_id: int) -> Document:
    """E-mail an invoice to its customer with its PDF and its receipt's PDF
    attached. Sent once: the row is locked and `emailed_at` checked and set in
    the same transaction as the send (a crash between the send and the commit
    can, rarely, send it again; never zero times once it returns).
    """
    document = Document.objects.select_related("order").get(pk=document_id)
    if document.kind not in (Document.Kind.INVOICE, Document.Kind.CREDIT_NOTE):
        raise BillingError(f"{document.number}: only invoices (with their receipt) and credit notes are e-mailed.")
    if document.emailed_at is not None:
        return document
    if not document.customer_email:
        logger.warning("document %s has no e-mail address; not sent", document.number)
        return document
    # PDFs first, outside the e-mail transaction (no-ops when already rendered).
    document = document_render_pdf(document_id=document.pk)
    receipt = Document.objects.filter(kind=Document.Kind.RECEIPT, related_document=document).first()
    if receipt is not None:
        receipt = document_render_pdf(document_id=receipt.pk)

    with transaction.atomic():
        document = Document.objects.select_for_update(of=("self",)).select_related("order").get(pk=document_id)
        if document.emailed_at is not None:
            return document
        if document.kind == Document.Kind.CREDIT_NOTE:
            from .credit_notes import credit_note_email

            message = credit_note_email(
                document=document, download_url=document_download_url(document),
                order_url=order_status_url(document.order),
            )
        else:
            message = _invoice_email(document=document, receipt=receipt)
        message.send(fail_silently=False)
        now = timezone.now()
        document.emailed_at = now
        document.save(update_fields=["emailed_at"])
        if receipt is not None and receipt.emailed_at is None:
            Document.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(emailed_at=now)
    logger.info("document e-mailed: %s to %s", document.number, document.customer_email)
    return document


def _invoice_email(*, document: Document, receipt: Document | None) -> EmailMultiAlternatives:
    snap = document.snapshot
    seller = snap.get("seller", {})
    context = {
        "doc": snap,
        "seller_name": seller.get("name", ""),
        "buyer_name": snap["buyer"].get("name", ""),
        "invoice_number": document.number,
        "receipt_number": receipt.number if receipt else "",
        "order_number": (snap.get("order") or {}).get("number", ""),
        "total": format_money(document.total_gross, document.currency),
        "order_url": order_status_url(document.order),
        "invoice_url": document_download_url(document),
        "receipt_url": document_download_url(receipt) if receipt else "",
    }
    subject = " ".join(render_to_string("billing/email/invoice_subject.txt", context).split())
    text = render_to_string("billing/email/invoice_message.txt", context)
    html = render_to_string("billing/email/invoice_message.html", context)
    reply_to = [seller["email"]] if seller.get("email") else None
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
        to=[document.customer_email],
        reply_to=reply_to,
    )
    message.attach_alternative(html, "text/html")
    message.attach(document.pdf_filename, document_pdf_bytes(document=document), "application/pdf")
    if receipt is not None and receipt.has_pdf:
        message.attach(receipt.pdf_filename, document_pdf_bytes(document=receipt), "application/pdf")
    return message
