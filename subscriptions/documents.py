"""The documents of paid Stripe invoices.

Every paid Stripe invoice with a positive total becomes one of our invoices
plus its receipt, numbered in the same INV/RCT series as shop orders
(billing.services.invoice_issue, idempotent per Stripe invoice). A €0 invoice
(the start of a free trial) gets no document: nothing was sold or paid, and no
VAT is due; the trial shows on the account page instead. An invoice whose total
is negative (a downgrade's credit larger than the new charge) gets none either:
Stripe keeps the credit on the customer's balance and takes it off the next
invoice, where our document shows it as a negative "account credit" line.

Each line is issued with the VAT of the price Stripe charged for it (the
buyer's price says its rate and EN 16931 category: subscriptions.plans), so
the invoice states what was charged; the buyer's company and VAT id come from
the subscription's metadata, the address from the Stripe customer.
"""

import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from djstripe.models import Customer, Price, Product

from audit.services import audit_record
from billing.exceptions import BillingError, DocumentNotIssuable
from billing.models import Document
from billing.services import invoice_issue, receipt_issue
from billing.tax import SERVICES, LineInput
from core.cards import card_label
from core.types import Buyer
from payments import gateway
from payments.gateway import Invoice, InvoiceLine

from .models import InvoiceRefusal
from .plans import PriceVat, plan_supply, price_vat
from .pricing import BUYER_COMPANY_KEY, BUYER_COUNTRY_KEY, VAT_ID_KEY

logger = logging.getLogger(__name__)


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=dt_timezone.utc) if value else None


def _line_vat(line: InvoiceLine, known: dict[str, tuple[PriceVat, str]]) -> tuple[PriceVat, str]:
    """The VAT of what Stripe charged for a line, and whether it is goods or
    services: its price's metadata (a buyer's price says its rate, category
    and country), else the seller's VAT of the plan (a plan price, or one made
    before VAT by place of supply). A price the mirror does not have yet is
    asked of Stripe (outside any transaction: the caller issues afterwards)."""
    key = f"{line.price_id}:{line.product_id}"
    if key not in known:
        metadata: dict = {}
        product = Product.objects.filter(id=line.product_id).first() if line.product_id else None
        if line.price_id:
            price = Price.objects.filter(id=line.price_id).select_related("product").first()
            if price is not None:
                metadata, product = price.metadata or {}, product or price.product
            else:
                remote = gateway.price_retrieve(line.price_id)
                metadata = (remote.raw.get("metadata") or {}) if remote is not None else {}
        known[key] = (price_vat(metadata, product=product), plan_supply(product))
    return known[key]


def _date_label(ts) -> str:
    return timezone.localdate(_ts(ts)).strftime("%-d %b %Y") if ts else ""


def invoice_lines_for_document(invoice: Invoice, lines: list[InvoiceLine]) -> list[LineInput]:
    """Our document lines for a Stripe invoice: one per Stripe line (a proration
    credit stays its own negative line), each with its service period; plus a
    negative line for any credit taken from the customer's balance."""
    result = []
    known: dict[str, tuple[PriceVat, str]] = {}
    for line in lines:
        name = line.description or "Subscription"
        if line.period_start and line.period_end and line.period_end > line.period_start:
            name = f"{name} — {_date_label(line.period_start)} to {_date_label(line.period_end)}"
        vat, supply = _line_vat(line, known)
        result.append(
            LineInput(
                name=name,
                sku=line.price_id,
                quantity=1,  # the Stripe amount is for the line's whole quantity
                unit_amount=line.amount,
                vat_rate=vat.rate,
                vat_category=vat.category,
                supply=supply,
                # A coupon's share of the line, as Stripe computed it (its amount is before it).
                discount=line.discount if line.amount > 0 else 0,
            )
        )
    if invoice.amount_due < invoice.total:
        # The credit came from this subscription's earlier charges: the VAT of its lines.
        first = result[0] if result else None
        result.append(
            LineInput(
                name="Account credit applied (from an earlier plan change)",
                quantity=1,
                unit_amount=invoice.amount_due - invoice.total,
                vat_rate=first.vat_rate if first else price_vat({}, product=None).rate,
                vat_category=first.vat_category if first else "",
                supply=first.supply if first else SERVICES,
            )
        )
    return result


def _payment_reference(invoice: Invoice) -> str:
    parts = []
    for payment in invoice.payments:
        if payment.card_brand and payment.status in ("paid", ""):
            parts.append(card_label(payment.card_brand, payment.card_last4))
            break
    parts.append(f"Stripe {invoice.id}")
    return ", ".join(parts)


def _buyer(invoice: Invoice) -> Buyer:
    """The buyer as Stripe knows them: the invoice's customer address (the
    subscribe page sets it), else the card's billing address. Without an address nothing
    is guessed: issuing refuses the invoice (billing checks what the law asks)."""
    billing = next((p.billing_details for p in invoice.payments if p.billing_details), {})
    address = invoice.customer_address
    if not address.get("country"):
        address = billing.get("address") or address
    email = invoice.customer_email or billing.get("email") or ""
    country = address.get("country") or ""
    # The company and VAT id given at sign-up, kept on the subscription.
    metadata = invoice.subscription_metadata
    return Buyer(
        name=invoice.customer_name or billing.get("name") or email,
        email=email,
        company=metadata.get(BUYER_COMPANY_KEY) or "",
        address_line1=address.get("line1") or "",
        postal_code=address.get("postal_code") or "",
        city=address.get("city") or "",
        country=country,
        vat_id=metadata.get(VAT_ID_KEY) or "",
    )


def _assert_vat_country(invoice: Invoice, buyer: Buyer) -> None:
    """The VAT charged was worked out for the country the subscription was
    signed up from; an invoice addressed to another country (the customer's
    address changed at Stripe before the subscription's VAT was switched) is
    not issued with the wrong VAT: the refusal is recorded, and staff see it
    on the dashboard (InvoiceRefusal)."""
    signed_up_in = invoice.subscription_metadata.get(BUYER_COUNTRY_KEY)
    if signed_up_in and buyer.country and buyer.country.upper() != signed_up_in.upper():
        raise DocumentNotIssuable(
            f"Stripe invoice {invoice.id} is addressed to {buyer.country}, but the subscription's VAT was worked "
            f"out for a buyer in {signed_up_in}: the VAT charged may be wrong; staff must look (refund or "
            "correct the customer's address) before an invoice is issued."
        )


def _user_of_customer(customer_id: str | None):
    if not customer_id:
        return None
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first()
    return customer.subscriber if customer is not None else None


BILLING_REASONS = {
    "subscription_create": "first payment",
    "subscription_cycle": "renewal",
    "subscription_update": "plan change",
}


def subscription_invoice_documents_issue(*, stripe_invoice_id: str) -> tuple[Document, Document] | None:
    """Issue our invoice and receipt for a paid Stripe invoice, in one
    transaction, in the shop's INV/RCT series. Idempotent: a second call (a
    repeated webhook, the reconciliation) returns the documents already issued.
    None when the invoice gets no document (see the module docstring)."""
    existing = Document.objects.filter(stripe_invoice_id=stripe_invoice_id, kind=Document.Kind.INVOICE).first()
    if existing is not None:
        receipt = Document.objects.filter(kind=Document.Kind.RECEIPT, related_document=existing).first()
        if receipt is not None:
            _refusal_resolve(stripe_invoice_id)
            return existing, receipt
    invoice = gateway.invoice_retrieve(stripe_invoice_id)  # Stripe's current state, not the event's
    if invoice.status != "paid":
        raise DocumentNotIssuable(f"Stripe invoice {stripe_invoice_id} is {invoice.status}, not paid.")
    if invoice.total <= 0:
        logger.info("stripe invoice %s totals %s: no document", stripe_invoice_id, invoice.total)
        return None
    try:
        issued = _documents_issue(invoice)
    except BillingError as error:
        _refusal_record(invoice, error)
        raise
    _refusal_resolve(stripe_invoice_id)
    return issued


def _refusal_resolve(stripe_invoice_id: str) -> None:
    InvoiceRefusal.objects.filter(stripe_invoice_id=stripe_invoice_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution="documents issued")


def _refusal_record(invoice: Invoice, error: BillingError) -> None:
    """Keep why a paid invoice got no documents, for staff (the dashboard)."""
    now = timezone.now()
    refusal, created = InvoiceRefusal.objects.get_or_create(
        stripe_invoice_id=invoice.id,
        defaults={"reason": str(error), "last_refused_at": now, "stripe_subscription_id": invoice.subscription_id,
                  "stripe_customer_id": invoice.customer_id or "", "customer_email": invoice.customer_email,
                  "amount_paid": invoice.amount_paid, "currency": invoice.currency},
    )
    if not created:
        # One that staff marked handled stays so (the sweeper meets it again
        # for as long as Stripe lists it among the recently paid).
        InvoiceRefusal.objects.filter(pk=refusal.pk).update(
            reason=str(error), last_refused_at=now, attempts=F("attempts") + 1)
    logger.warning("documents refused for paid Stripe invoice %s: %s", invoice.id, error)


def _documents_issue(invoice: Invoice) -> tuple[Document, Document] | None:
    stripe_invoice_id = invoice.id
    lines = list(invoice.lines) if invoice.lines_complete else gateway.invoice_lines_all(stripe_invoice_id)
    document_lines = invoice_lines_for_document(invoice, lines)
    if sum(line.gross for line in document_lines) != invoice.amount_paid:
        raise DocumentNotIssuable(
            f"Stripe invoice {stripe_invoice_id}: its lines do not add up to the {invoice.amount_paid} paid; "
            "staff must look."
        )
    paid_at = _ts(invoice.paid_at)
    reason = BILLING_REASONS.get(invoice.billing_reason, "")
    mentions = [f"Subscription invoice{f' ({reason})' if reason else ''}, "
                f"Stripe reference {invoice.number or invoice.id}."]
    payment_reference = _payment_reference(invoice)
    customer = _user_of_customer(invoice.customer_id)
    buyer = _buyer(invoice)
    _assert_vat_country(invoice, buyer)
    try:
        with transaction.atomic():
            document = invoice_issue(
                buyer=buyer,
                lines=document_lines,
                currency=invoice.currency,
                customer=customer,
                stripe_invoice_id=stripe_invoice_id,
                payment_reference=payment_reference,
                paid_at=paid_at,
                extra_mentions=mentions,
            )
            receipt = receipt_issue(invoice=document, payment_reference=payment_reference, paid_at=paid_at)
    except IntegrityError:
        # Issued concurrently by another delivery: that transaction won (and
        # took the numbers); ours rolled back whole, so no number was burnt.
        document = Document.objects.get(stripe_invoice_id=stripe_invoice_id)
        receipt = Document.objects.get(kind=Document.Kind.RECEIPT, related_document=document)
    return document, receipt


def paid_invoices_without_documents(*, days: int = 3) -> list[str]:
    """Stripe invoices paid in the last days (positive total) that have no
    document yet: a webhook lost for good. Asked of Stripe, not the mirror."""
    since = int((timezone.now() - timedelta(days=days)).timestamp())
    invoices = [i for i in gateway.invoice_list(status="paid", created_gte=since) if i.total > 0]
    issued = set(
        Document.objects.filter(stripe_invoice_id__in=[i.id for i in invoices]).values_list(
            "stripe_invoice_id", flat=True
        )
    )
    return [i.id for i in invoices if i.id not in issued]


def invoice_refusals_handle(*, refusals, actor) -> int:
    """Staff handled these paid invoices without documents outside the shop
    (a refund, an invoice made by hand): they leave the dashboard, each with
    an audit entry."""
    handled = 0
    for refusal in refusals.filter(resolved_at__isnull=True):
        with transaction.atomic():
            updated = InvoiceRefusal.objects.filter(pk=refusal.pk, resolved_at__isnull=True).update(
                resolved_at=timezone.now(), resolution=f"handled by {actor.get_username()}")
            if updated:
                audit_record(action="subscription.invoice_refusal_handled", actor=actor, target=refusal,
                             message=f"Stripe invoice {refusal.stripe_invoice_id} paid without documents marked "
                                     f"handled ({refusal.reason})",
                             data={"invoice": refusal.stripe_invoice_id,
                                   "subscription": refusal.stripe_subscription_id})
                handled += 1
    return handled
