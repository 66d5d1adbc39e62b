"""Documents in admin: read-only (issued documents never change), no add, no
delete; a download link for each PDF. Issuing happens through the services."""

import json
import re

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.money import format_money

from .models import ClosedPeriod, Document, ExchangeRate

ORDER_NUMBER = re.compile(r"^ORD-0*(\d+)$", re.IGNORECASE)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "kind", "issued_at", "customer_email", "order_link", "gross", "pdf_link", "emailed_at")
    list_filter = ("kind", ("issued_at", admin.DateFieldListFilter), "currency")
    search_fields = ("number", "customer_email", "order__id__exact", "stripe_invoice_id")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at", "-pk")
    fields = (
        "number", "kind", "issued_at", "order_link", "stripe_invoice_id", "customer", "customer_email",
        "currency", "net", "tax", "gross", "tax_in_euros", "related_document", "payment_reference", "pdf_link",
        "pdf_rendered_at", "pdf_sha256", "emailed_at", "snapshot_pretty",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        match = ORDER_NUMBER.match(search_term.strip())
        if match:  # "ORD-000042" finds order 42's documents
            return queryset.filter(order_id=int(match.group(1))), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="Net")
    def net(self, obj):
        return format_money(obj.total_net, obj.currency)

    @admin.display(description="VAT")
    def tax(self, obj):
        return format_money(obj.total_tax, obj.currency)

    @admin.display(description="VAT in euros (exchange rate used)")
    def tax_in_euros(self, obj):
        eur = obj.snapshot.get("accounting_currency")
        if not eur:
            return "—"
        return (f"{format_money(eur['vat_total'], eur['currency'])} at the {eur['source']} rate of {eur['rate_date']}: "
                f"1 {eur['currency'].upper()} = {eur['rate']} {obj.currency.upper()}")

    @admin.display(description="Total", ordering="total_gross")
    def gross(self, obj):
        return format_money(obj.total_gross, obj.currency)

    @admin.display(description="Order", ordering="order")
    def order_link(self, obj):
        if obj.order_id is None:
            return "—"
        number = (obj.snapshot.get("order") or {}).get("number") or f"#{obj.order_id}"
        try:
            url = reverse("admin:orders_order_change", args=[obj.order_id])
        except NoReverseMatch:
            return number
        return format_html('<a href="{}">{}</a>', url, number)

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        url = reverse("billing:document_pdf", args=[obj.pk])
        label = "Download" if obj.pdf_rendered_at else "Render and download"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Snapshot (what the document shows)")
    def snapshot_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.snapshot, indent=2, ensure_ascii=False))



@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Periods are closed from the accounting pages (billing.periods.period_close);
    reopening one is not a click in admin."""

    list_display = ("label", "start", "end", "document_count", "closed_at", "closed_by")
    readonly_fields = [f.name for f in ClosedPeriod._meta.fields]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ECB rates stored by the periodic job (billing.tasks.fetch_exchange_rates)."""

    list_display = ("date", "currency", "rate", "source", "fetched_at")
    list_filter = ("currency", "source")
    date_hierarchy = "date"
    readonly_fields = [f.name for f in ExchangeRate._meta.fields]
