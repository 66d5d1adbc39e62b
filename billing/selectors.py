"""Reads on documents, and who may download which."""

import uuid

from django.db.models import QuerySet
from django.db.models.fields.json import KT

from core.roles import user_is_accountant

from .models import Document


def document_list_for_customer(*, user) -> QuerySet[Document]:
    """The signed-in customer's documents (their orders' and subscriptions'),
    newest first, for a list: each one's whole snapshot is left in the
    database; its order's number comes out of it (`order_number`)."""
    if user is None or not user.is_authenticated:
        return Document.objects.none()
    return (
        Document.objects.filter(customer=user)
        .defer("snapshot")
        .annotate(order_number=KT("snapshot__order__number"))
        .order_by("-issued_at", "-pk")
    )


def document_list_for_order(*, order_id: int) -> QuerySet[Document]:
    """An order's documents in the order they were issued (invoice, receipt,
    credit notes)."""
    return Document.objects.filter(order_id=order_id).select_related("related_document").order_by("issued_at", "pk")


def _same_reference(given, reference) -> bool:
    if not given or reference is None:
        return False
    try:
        return uuid.UUID(str(given)) == reference
    except (TypeError, ValueError, AttributeError):
        return False


def document_can_download(*, document: Document, user, order_reference=None) -> bool:
    """Its customer, active staff, members of the Accountants group, or, for a
    guest's document, whoever presents its access reference (the guest
    order's unguessable reference, in the link of the confirmation e-mail).

    As on the order status page, the reference opens guests' documents only:
    a document of a signed-in customer is shown to that customer only.
    """
    if user is not None and user.is_authenticated and user.is_active:
        if user.is_staff or user_is_accountant(user):
            return True
        if document.customer_id is not None and document.customer_id == user.pk:
            return True
    if document.customer_id is None:
        return _same_reference(order_reference, document.access_reference)
    return False


def document_get(*, pk: int) -> Document | None:
    """The document behind a link whose access was checked otherwise (a signed
    link, core.signed_links), or None."""
    return Document.objects.filter(pk=pk).first()


def document_get_for_download(*, pk: int, user, order_reference=None) -> Document | None:
    """The document if this viewer may download it, else None (the caller
    answers 404 either way: nobody learns that a document exists)."""
    document = Document.objects.filter(pk=pk).first()
    if document is None or not document_can_download(document=document, user=user, order_reference=order_reference):
        return None
    return document


def document_list_for_viewer(*, user) -> QuerySet[Document]:
    """The documents a signed-in viewer may read, as the download page decides
    (document_can_download): every one for active staff and accountants, else
    their own. Guests' documents open with their order's reference only."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Document.objects.none()
    if user.is_staff or user_is_accountant(user):
        return Document.objects.all()
    return Document.objects.filter(customer=user)


def documents_without_pdf(*, issued_before) -> QuerySet[Document]:
    """Invoices and credit notes issued before `issued_before` whose PDF is
    still not rendered (the render sweep retries them). Not receipts: theirs
    is rendered on their first download, so none is no fault."""
    return Document.objects.filter(kind__in=Document.RENDERED_AT_ISSUE, pdf_rendered_at__isnull=True,
                                   issued_at__lt=issued_before)
