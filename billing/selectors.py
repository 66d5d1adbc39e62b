"""Reads on documents, and who may download which."""

import uuid

from django.conf import settings
from django.db.models import Q, QuerySet

from .models import Document


def accountants_group_name() -> str:
    return getattr(settings, "BILLING_ACCOUNTANTS_GROUP", "Accountants")


def document_list_for_customer(*, user) -> QuerySet[Document]:
    """The signed-in customer's documents (their own, or those of their orders),
    newest first."""
    if user is None or not user.is_authenticated:
        return Document.objects.none()
    return (
        Document.objects.filter(Q(customer=user) | Q(order__customer=user))
        .select_related("order", "related_document")
        .order_by("-issued_at", "-pk")
    )


def document_list_for_order(*, order) -> QuerySet[Document]:
    """An order's documents in the order they were issued (invoice, receipt,
    credit notes)."""
    return Document.objects.filter(order=order).select_related("related_document").order_by("issued_at", "pk")


def user_is_accountant(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name=accountants_group_name()).exists()


def _same_reference(order_reference, reference) -> bool:
    if not order_reference:
        return False
    try:
        return uuid.UUID(str(order_reference)) == reference
    except (TypeError, ValueError, AttributeError):
        return False


def document_can_download(*, document: Document, user, order_reference=None) -> bool:
    """Owner (the document's customer or its order's customer), active staff,
    members of the Accountants group, or, for a guest order, whoever presents
    the order's unguessable reference (the link in the confirmation e-mail).

    As on the order status page, the reference opens guest orders only: an
    order placed while signed in is shown to that customer only.
    """
    order = document.order
    if user is not None and user.is_authenticated and user.is_active:
        if user.is_staff:
            return True
        if document.customer_id is not None and document.customer_id == user.pk:
            return True
        if order is not None and order.customer_id is not None and order.customer_id == user.pk:
            return True
        if user_is_accountant(user):
            return True
    if order is not None and order.customer_id is None and document.customer_id is None:
        return _same_reference(order_reference, order.reference)
    return False


def document_get_for_download(*, pk: int, user, order_reference=None) -> Document | None:
    """The document if this viewer may download it, else None (the caller
    answers 404 either way: nobody learns that a document exists)."""
    document = Document.objects.select_related("order").filter(pk=pk).first()
    if document is None or not document_can_download(document=document, user=user, order_reference=order_reference):
        return None
    return document
