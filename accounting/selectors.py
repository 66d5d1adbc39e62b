"""Reads of the accounting pages: every issued document, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet

from billing.dates import seller_midnight
from billing.models import Document
from billing.periods import Period
from core.roles import user_is_accountant

STATUS_FILTERS = {
    "pdf_rendered": Q(pdf_rendered_at__isnull=False),
    "pdf_missing": Q(pdf_rendered_at__isnull=True),
    "emailed": Q(emailed_at__isnull=False),
    "not_emailed": Q(emailed_at__isnull=True),
}


def user_is_accounting_reader(user) -> bool:
    """Who may open the accounting pages: the Accountants group (and superusers)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user_is_accountant(user)


@dataclass(frozen=True)
class DocumentFilters:
    period: Period | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    kind: str = ""
    customer: str = ""
    currency: str = ""
    status: str = ""
    number: str = ""


def _local_midnight(day: date) -> datetime:
    return seller_midnight(day)


def document_list_for_accountant(*, filters: DocumentFilters) -> QuerySet[Document]:
    """Every issued document matching the filters, newest first."""
    qs = Document.objects.select_related("related_document")
    if filters.period is not None:
        start, end = filters.period.bounds()
        qs = qs.filter(issued_at__gte=start, issued_at__lt=end)
    if filters.date_from:
        qs = qs.filter(issued_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        qs = qs.filter(issued_at__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.customer:
        qs = qs.filter(customer_email__icontains=filters.customer.strip())
    if filters.currency:
        qs = qs.filter(currency=filters.currency.lower())
    if filters.status in STATUS_FILTERS:
        qs = qs.filter(STATUS_FILTERS[filters.status])
    if filters.number:
        qs = qs.filter(number__icontains=filters.number.strip())
    return qs.order_by("-issued_at", "-pk")


def document_currencies() -> list[str]:
    # order_by() drops the model's default ordering, which DISTINCT would
    # otherwise apply to (one row per document instead of one per currency).
    return list(Document.objects.order_by("currency").values_list("currency", flat=True).distinct())
