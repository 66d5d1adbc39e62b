"""Legal documents: invoices, receipts and credit notes.

A document is an immutable snapshot. Everything printed on it (seller, buyer,
lines, VAT breakdown, totals, payment reference, legal mentions) is copied into
`snapshot` when it is issued, and the PDF is rendered from that snapshot only,
so a later change to a product, an order or a customer never changes an
issued document. After issuing, only the rendering/sending bookkeeping
(`pdf`, `pdf_rendered_at`, `emailed_at`) may change; `save()` and the
queryset refuse anything else.

The `order` foreign key ties a shop order's documents to it in the database;
billing's code never reads the order: callers hand it plain data
(billing.services.OrderRef) and it keeps what it needs in the document.
"""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q

from .exceptions import DocumentImmutable


def document_pdf_path(document: "Document", filename: str) -> str:
    # Private storage: served only through billing:document_pdf, which checks
    # who asks. Never under a public MEDIA_URL.
    return f"documents/{document.year}/{document.number}.pdf"


class DocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        forbidden = set(kwargs) - Document.MUTABLE_FIELDS
        if forbidden:
            raise DocumentImmutable(f"issued documents cannot change: {', '.join(sorted(forbidden))}")
        return super().update(**kwargs)

    update.queryset_only = True

    def delete(self):
        raise DocumentImmutable("issued documents cannot be deleted")

    delete.queryset_only = True

    def invoices(self):
        return self.filter(kind=Document.Kind.INVOICE)


class Document(models.Model):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        RECEIPT = "receipt", "Receipt"
        CREDIT_NOTE = "credit_note", "Credit note"

    # Only these may change once a document exists (the PDF once: when its
    # SHA-256 is stored it is never replaced); `customer` only to None (the
    # account was deleted: the snapshot keeps the buyer).
    MUTABLE_FIELDS = frozenset({"pdf", "pdf_rendered_at", "emailed_at", "pdf_sha256", "customer"})
    PDF_FIELDS = frozenset({"pdf", "pdf_rendered_at", "pdf_sha256"})
    # Rendered by a worker as soon as they are issued (then e-mailed). A
    # receipt's PDF is rendered on its first download (the customer's, a
    # signed link's, staff's, the API's) or by the accountants' export:
    # the same bytes whenever that is, since it comes from the snapshot only.
    RENDERED_AT_ISSUE = (Kind.INVOICE, Kind.CREDIT_NOTE)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Gapless numbering: series + year + sequence, e.g. INV-2026-000001.
    number = models.CharField(max_length=32, unique=True)
    series = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField(db_index=True)

    # A shop order's documents point at it; subscription invoices come from a
    # Stripe invoice instead (and the order is empty).
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    stripe_invoice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    customer_email = models.EmailField(blank=True)

    currency = models.CharField(max_length=3)
    # Integer minor units. A credit note holds positive amounts: its kind says
    # they are credited.
    total_net = models.BigIntegerField()
    total_tax = models.BigIntegerField()
    total_gross = models.BigIntegerField()

    # Credit note -> the invoice it credits; receipt -> the invoice it settles.
    related_document = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="related_documents"
    )
    payment_reference = models.CharField(max_length=255, blank=True)
    snapshot = models.JSONField(encoder=DjangoJSONEncoder)
    # Given by the caller at issue time (billing knows no order): the page
    # where the customer sees what the document is for (a path under
    # SITE_URL, linked from the e-mail), and for a guest, who has no account,
    # the reference that opens the document (the guest order's reference).
    order_path = models.CharField(max_length=255, blank=True)
    access_reference = models.UUIDField(null=True, blank=True)

    pdf = models.FileField(upload_to=document_pdf_path, blank=True, max_length=255)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 (hex) of the stored PDF, written with it; the number audit
    # checks every stored file against it.
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(kind__in=["invoice", "receipt"]),
                name="billing_document_one_invoice_one_receipt_per_order",
            ),
            models.UniqueConstraint(
                fields=["series", "year", "sequence"], name="billing_document_unique_series_year_sequence"
            ),
            models.CheckConstraint(
                condition=Q(total_gross=F("total_net") + F("total_tax")),
                name="billing_document_gross_is_net_plus_tax",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "issued_at"]),
            models.Index(fields=["pdf_rendered_at", "issued_at"]),
            # The currencies documents are in (accounting's currency filter)
            # read as a few probes of this index, not a scan of every document;
            # documents of one currency, newest first, read from it too.
            models.Index(fields=["currency", "issued_at"], name="billing_doc_currency_issued"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_invoice(self) -> bool:
        return self.kind == self.Kind.INVOICE

    @property
    def has_pdf(self) -> bool:
        return bool(self.pdf) and self.pdf_rendered_at is not None

    @property
    def pdf_rendered_on_download(self) -> bool:
        """A receipt: no PDF until someone downloads it (not a fault)."""
        return self.kind not in self.RENDERED_AT_ISSUE

    @classmethod
    def sign_of(cls, kind: str) -> int:
        """-1 for a credit note: its amounts are stored positive and reduce
        revenue and VAT, so they read negative in lists and journals."""
        return -1 if kind == cls.Kind.CREDIT_NOTE else 1

    @property
    def sign(self) -> int:
        return self.sign_of(self.kind)

    @property
    def signed_net(self) -> int:
        return self.sign * self.total_net

    @property
    def signed_tax(self) -> int:
        return self.sign * self.total_tax

    @property
    def signed_gross(self) -> int:
        return self.sign * self.total_gross

    @property
    def pdf_filename(self) -> str:
        return f"{self.number}.pdf"

    def save(self, *args, **kwargs):
        if not self._state.adding and self.pk is not None:
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                forbidden = set(update_fields) - self.MUTABLE_FIELDS
                if self.PDF_FIELDS & set(update_fields) and type(self)._base_manager.filter(
                    pk=self.pk
                ).exclude(pdf_sha256="").exists():
                    forbidden |= self.PDF_FIELDS & set(update_fields)
                if "customer" in update_fields and self.customer_id is not None:
                    forbidden.add("customer")
                if forbidden:
                    raise DocumentImmutable(
                        f"{self.number}: issued documents cannot change ({', '.join(sorted(forbidden))})"
                    )
            else:
                self._refuse_changes_to_issued_fields()
        super().save(*args, **kwargs)

    def _refuse_changes_to_issued_fields(self) -> None:
        fields = [
            f for f in self._meta.concrete_fields if f.name not in self.MUTABLE_FIELDS and not f.primary_key
        ]
        stored = type(self)._base_manager.filter(pk=self.pk).values(*(f.attname for f in fields)).first()
        if stored is None:
            return
        changed = []
        for field in fields:
            current = getattr(self, field.attname)
            if isinstance(field, models.JSONField):
                # Compare as the database holds it (Decimal -> str, dates -> ISO).
                current = json.loads(json.dumps(current, cls=DjangoJSONEncoder))
            if current != stored[field.attname]:
                changed.append(field.name)
        if changed:
            raise DocumentImmutable(f"{self.number}: issued documents cannot change ({', '.join(changed)})")

    def delete(self, *args, **kwargs):
        raise DocumentImmutable(f"{self.number}: issued documents cannot be deleted")


class ClosedPeriod(models.Model):
    """A closed accounting period: nothing may be issued with a date inside
    [start, end) any more, and its export is built once and served again.
    Closing is the accountant's act (accounting app); refusing to issue inside
    a closed period is billing's rule (billing.periods). The table keeps the
    name it was created with in the accounting app."""

    label = models.CharField(max_length=8, unique=True)  # 2026-03, 2026-Q1, 2026
    kind = models.CharField(max_length=8)  # month, quarter, year
    start = models.DateField()
    end = models.DateField()  # exclusive
    closed_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the period held when it was closed (read by the export and the audit).
    document_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "accounting_closedperiod"
        ordering = ["-start", "end"]
        indexes = [models.Index(fields=["start", "end"], name="accounting__start_b9f5dd_idx")]

    def __str__(self):
        return self.label


class ExchangeRate(models.Model):
    """A euro foreign exchange reference rate of the European Central Bank:
    1 EUR = `rate` units of `currency` on `date`. Stored by a periodic job
    (billing.tasks.fetch_exchange_rates); a document in another currency
    states its VAT total in euros at the rate of the day before its issue
    date (billing.exchange_rates)."""

    currency = models.CharField(max_length=3)  # lower case, like the documents'
    date = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=6)
    source = models.CharField(max_length=16, default="ECB")
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="billing_exchangerate_one_per_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="billing_exchangerate_positive"),
        ]

    def __str__(self):
        return f"1 EUR = {self.rate} {self.currency.upper()} ({self.source}, {self.date})"


class DocumentLine(models.Model):
    """A document's line as a row beside its snapshot (exports sum in SQL).
    Written once at issue; never changed (on PostgreSQL a trigger refuses)."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="line_rows")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=500)
    sku = models.CharField(max_length=64, blank=True)
    supply = models.CharField(max_length=8, blank=True)
    quantity = models.IntegerField()
    unit_gross = models.BigIntegerField()
    unit_net = models.BigIntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    vat_category = models.CharField(max_length=3)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="billing_documentline_unique_position"),
            models.CheckConstraint(condition=Q(gross=F("net") + F("tax")), name="billing_documentline_gross"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name}"


class DocumentVatTotal(models.Model):
    """A document's VAT breakdown row (category and rate) beside its snapshot."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="vat_rows")
    vat_category = models.CharField(max_length=3)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    net = models.BigIntegerField()
    tax = models.BigIntegerField()
    gross = models.BigIntegerField()

    class Meta:
        ordering = ["document", "-vat_rate", "vat_category"]
        constraints = [
            models.UniqueConstraint(fields=["document", "vat_category", "vat_rate"],
                                    name="billing_documentvattotal_unique_rate"),
            models.CheckConstraint(condition=Q(gross=F("net") + F("tax")), name="billing_documentvattotal_gross"),
        ]

    def __str__(self):
        return f"VAT {self.vat_rate}% ({self.vat_category})"
