"""Documents by e-mail: an invoice (its receipt attached) or a credit note,
sent once to the customer with its PDF.

The links in them are signed (core.signed_links): the order's page (the path
the caller gave billing at issue time: billing reads no order) and the
documents' downloads open without a session for SIGNED_LINK_MAX_AGE.
"""

import logging

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.email import templated_email
from core.money import format_money
from core.signed_links import signed_url

from .exceptions import BillingError
from .models import Document
from .services import document_pdf_bytes, document_render_pdf

logger = logging.getLogger(__name__)

EMAILED_KINDS = (Document.Kind.INVOICE, Document.Kind.CREDIT_NOTE)


def order_url(document: Document) -> str:
    """The page of the document's order (absolute, signed: it opens without a
    session for SIGNED_LINK_MAX_AGE), or "" for none."""
    return signed_url(document.order_path) if document.order_path else ""


def document_download_url(document: Document) -> str:
    """Absolute download link, signed: it opens this document without a
    session for SIGNED_LINK_MAX_AGE, and nothing else."""
    return signed_url(reverse("billing:document_pdf", args=[document.pk]))


def document_send_email(*, document_id: int) -> Document:
    """E-mail an invoice to its customer with its PDF and its receipt's PDF
    attached, or a credit note with its PDF. Sent once: the row is locked and
    `emailed_at` checked and set in the same transaction as the send (a crash
    between the send and the commit can, rarely, send it again; never zero
    times once it returns)."""
    document = Document.objects.get(pk=document_id)
    if document.kind not in EMAILED_KINDS:
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
        document = Document.objects.select_for_update().get(pk=document_id)
        if document.emailed_at is not None:
            return document
        if document.kind == Document.Kind.CREDIT_NOTE:
            message = _credit_note_email(document=document)
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


def _context(document: Document) -> dict:
    snap = document.snapshot
    return {
        "doc": snap,
        "seller_name": snap.get("seller", {}).get("name", ""),
        "buyer_name": snap["buyer"].get("name", ""),
        "order_number": (snap.get("order") or {}).get("number", ""),
        "total": format_money(document.total_gross, document.currency),
        "order_url": order_url(document),
    }


def _pdf(document: Document) -> tuple[str, bytes, str]:
    return document.pdf_filename, document_pdf_bytes(document=document), "application/pdf"


def _invoice_email(*, document: Document, receipt: Document | None) -> EmailMultiAlternatives:
    context = {
        **_context(document),
        "invoice_number": document.number,
        "receipt_number": receipt.number if receipt else "",
        "invoice_url": document_download_url(document),
        "receipt_url": document_download_url(receipt) if receipt else "",
    }
    attachments = [_pdf(document)]
    if receipt is not None and receipt.has_pdf:
        attachments.append(_pdf(receipt))
    return templated_email(template="billing/email/invoice", context=context, to=[document.customer_email],
                           attachments=attachments)


def _credit_note_email(*, document: Document) -> EmailMultiAlternatives:
    snap = document.snapshot
    context = {
        **_context(document),
        "credit_note_number": document.number,
        "invoice_number": (snap.get("related_document") or {}).get("number", ""),
        "reason": snap.get("reason", ""),
        "credit_note_url": document_download_url(document),
    }
    return templated_email(template="billing/email/credit_note", context=context, to=[document.customer_email],
                           attachments=[_pdf(document)])
