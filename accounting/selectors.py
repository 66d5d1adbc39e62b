"""Reads of the accounting pages: every issued document, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

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
    """Every issued document matching the filters, newest first.

    A row carries what the list shows, not the whole snapshot: the buyer's
    name (or company), VAT id and the reverse-charge mention are read out of
    the snapshot by the database (`buyer_label`, `buyer_vat_id`,
    `reverse_charge`); the snapshot itself, and the related document's, are
    deferred."""
    qs = (
        Document.objects.select_related("related_document")
        .defer("snapshot", "related_document__snapshot")
        .annotate(
            buyer_label=Coalesce(NullIf(KT("snapshot__buyer__company"), Value("")), KT("snapshot__buyer__name"),
                                 output_field=TextField()),
            buyer_vat_id=KT("snapshot__buyer__vat_id"),
            reverse_charge=ExpressionWrapper(Q(snapshot__reverse_charge=True), output_field=BooleanField()),
        )
    )
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
    """The currencies documents were issued in, in alphabetical order.

    A loose index scan (billing_doc_currency_issued): the smallest currency,
    then the smallest one above it, and so on, each one probe of the index,
    so a shop with 10,000 documents in two currencies reads three index
    entries rather than every document (a plain DISTINCT reads them all)."""
    table = connection.ops.quote_name(Document._meta.db_table)
    column = connection.ops.quote_name(Document._meta.get_field("currency").column)
    sql = f"""
        WITH RECURSIVE found(currency) AS (
            SELECT MIN({column}) FROM {table}
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.currency)
            FROM found WHERE found.currency IS NOT NULL
        )
        SELECT currency FROM found WHERE currency IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]
