"""Documents by e-mail: an invoice (with a link to its receipt) or a credit
note, sent once to the customer with its PDF, through the e-mail outbox
(core.email). The receipt is a link, not an attachment: its PDF is rendered on
its first download (billing.models.Document.RENDERED_AT_ISSUE), so the e-mail
waits for no second render and says the same whenever it is written.

The links in them are signed (core.signed_links): the order's page (the path
the caller gave billing at issue time: billing reads no order) and the
documents' downloads open without a session for SIGNED_LINK_MAX_AGE.
"""

import logging

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse

from core.email import email_queue, templated_email
from core.models import OutgoingEmail
from core.money import format_money
from core.signed_links import signed_url

from .exceptions import BillingError
from .models import Document
from .services import document_pdf_bytes, document_render_pdf

logger = logging.getLogger(__name__)

EMAILED_KINDS = (Document.Kind.INVOICE, Document.Kind.CREDIT_NOTE)
EMAIL_KEY_PREFIX = "billing.document:"


def order_url(document: Document) -> str:
    """The page of the document's order (absolute, signed: it opens without a
    session for SIGNED_LINK_MAX_AGE), or "" for none."""
    return signed_url(document.order_path) if document.order_path else ""


def document_download_url(document: Document) -> str:
    """Absolute download link, signed: it opens this document without a
    session for SIGNED_LINK_MAX_AGE, and nothing else."""
    return signed_url(reverse("billing:document_pdf", args=[document.pk]))


def document_email_key(document_id: int) -> str:
    """The outbox key of a document's e-mail: one e-mail per document."""
    return f"{EMAIL_KEY_PREFIX}{document_id}"


def document_send_email(*, document_id: int) -> Document:
    """E-mail an invoice to its customer with its PDF attached and a link to
    its receipt, or a credit note with its PDF: written once to the outbox
    (core.email), sent after commit; `emailed_at` is set when the mail server
    took it (on_email_sent). The PDF is rendered first, outside any
    transaction; the outbox row is written in a short one holding no lock
    while anything slow runs."""
    document = Document.objects.get(pk=document_id)
    if document.kind not in EMAILED_KINDS:
        raise BillingError(f"{document.number}: only invoices (with their receipt) and credit notes are e-mailed.")
    if document.emailed_at is not None or OutgoingEmail.objects.filter(key=document_email_key(document.pk)).exists():
        return document
    if not document.customer_email:
        logger.warning("document %s has no e-mail address; not sent", document.number)
        return document
    # The PDF first, outside the e-mail transaction (a no-op when rendered).
    document = document_render_pdf(document_id=document.pk)
    receipt = Document.objects.filter(kind=Document.Kind.RECEIPT, related_document=document).first()

    if document.kind == Document.Kind.CREDIT_NOTE:
        message = _credit_note_email(document=document)
    else:
        message = _invoice_email(document=document, receipt=receipt)
    with transaction.atomic():
        if email_queue(message, key=document_email_key(document.pk)) is not None:
            logger.info("document e-mail queued: %s to %s", document.number, document.customer_email)
    return document


def documents_without_email(*, issued_before) -> QuerySet[Document]:
    """Invoices and credit notes with a PDF and an address, issued before
    `issued_before`, whose e-mail was never written to the outbox (the task
    that writes it was lost)."""
    email_key = Concat(Value(EMAIL_KEY_PREFIX), Cast(OuterRef("pk"), output_field=CharField()))
    return (
        Document.objects.filter(kind__in=EMAILED_KINDS, emailed_at__isnull=True, pdf_rendered_at__isnull=False,
                                issued_at__lte=issued_before)
        .exclude(customer_email="")
        .exclude(Exists(OutgoingEmail.objects.filter(key=email_key)))
        .order_by("issued_at", "pk")
    )


def on_email_sent(sender, *, email, **kwargs) -> None:
    """core.signals.email_sent: a document's e-mail left; the invoice and its
    receipt (linked) are marked e-mailed."""
    if not (email.key or "").startswith(EMAIL_KEY_PREFIX):
        return
    document_id = int(email.key[len(EMAIL_KEY_PREFIX):])
    Document.objects.filter(pk=document_id, emailed_at__isnull=True).update(emailed_at=email.sent_at)
    Document.objects.filter(kind=Document.Kind.RECEIPT, related_document_id=document_id,
                            emailed_at__isnull=True).update(emailed_at=email.sent_at)


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
    # The invoice only: the receipt is linked (rendered on its first download).
    return templated_email(template="billing/email/invoice", context=context, to=[document.customer_email],
                           attachments=[_pdf(document)])


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
