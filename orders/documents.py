"""An order's documents: what billing needs to know of a paid order, handed
to it as plain data (the buyer, the lines, the order's reference), and the
issuing of its invoice and receipt."""

from django.db import transaction

from billing.exceptions import DocumentNotIssuable
from billing.models import Document
from billing.services import OrderRef, invoice_issue, receipt_issue
from billing.tax import LineInput
from core.types import Buyer

from .models import Order

# Orders that have been paid (and possibly refunded since): they get documents.
PAID_STATUSES = frozenset({Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED})


def order_buyer(order: Order) -> Buyer:
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


def order_ref(order: Order) -> OrderRef:
    return OrderRef(
        id=order.pk,
        number=order.number,
        placed_at=order.created_at,
        paid_at=order.paid_at,
        path=order.get_absolute_url(),
        # A guest has no account: the order's reference opens its documents.
        guest_reference=order.reference if order.customer_id is None else None,
    )


def order_payment_reference(order: Order) -> str:
    if order.payment_reference:
        return order.payment_reference
    return f"Stripe {order.stripe_payment_intent_id}" if order.stripe_payment_intent_id else ""


def order_documents_issue(*, order_id: int) -> tuple[Document, Document | None]:
    """Issue the invoice and the receipt of a paid order, in one transaction.

    Idempotent: a second call returns the pair already issued. An order
    that cost nothing (a 100 % discount) gets its invoice and no receipt. Raises
    DocumentNotIssuable for an order that has not been paid.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        existing = {
            d.kind: d
            for d in Document.objects.filter(order_id=order.pk, kind__in=[Document.Kind.INVOICE,
                                                                           Document.Kind.RECEIPT])
        }
        if Document.Kind.INVOICE in existing and (Document.Kind.RECEIPT in existing or not order.total):
            return existing[Document.Kind.INVOICE], existing.get(Document.Kind.RECEIPT)
        if order.status not in PAID_STATUSES:
            raise DocumentNotIssuable(
                f"Order {order.number} is {order.get_status_display().lower()}; "
                "invoices are issued for paid orders only."
            )
        payment_reference = order_payment_reference(order)
        invoice = existing.get(Document.Kind.INVOICE)
        if invoice is None:
            lines = [
                LineInput(name=line.name, sku=line.sku, quantity=line.quantity, unit_amount=line.unit_amount,
                          vat_rate=line.vat_rate, vat_category=line.vat_category,
                          supply=line.product.supply if line.product_id else "", discount=line.discount)
                for line in order.lines.select_related("product").order_by("pk")
            ]
            if sum(line.gross for line in lines) != order.total:
                raise DocumentNotIssuable(
                    f"Order {order.number}: its lines do not add up to its total; staff must look."
                )
            invoice = invoice_issue(
                buyer=order_buyer(order),
                lines=lines,
                currency=order.currency,
                customer=order.customer,
                order=order_ref(order),
                payment_reference=payment_reference,
                paid_at=order.paid_at,
                discount_label=order.discount_label,
            )
        if not order.total:
            # Nothing was paid (a 100 % discount): a receipt acknowledges a
            # payment received, so there is none; the invoice says "paid" at zero.
            return invoice, None
        receipt = existing.get(Document.Kind.RECEIPT) or receipt_issue(
            invoice=invoice, payment_reference=payment_reference, paid_at=order.paid_at
        )
    return invoice, receipt
