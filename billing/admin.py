"""Documents in admin: read-only (issued documents never change), no add, no
delete; a download link for each PDF. Issuing happens through the services."""

import json
import re

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from .models import Document
from .money import format_money

ORDER_NUMBER = re.compile(r"^ORD-0*(\d+)$", re.IGNORECASE)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("number", "kind", "issued_at", "customer_email", "order_link", "gross", "pdf_link", "emailed_at")
    list_filter = ("kind", ("issued_at", admin.DateFieldListFilter), "currency")
    search_fields = ("number", "customer_email", "order__id__exact", "stripe_invoice_id")
    date_hierarchy = "issued_at"
    list_select_related = ("order",)
    ordering = ("-issued_at", "-pk")
    fields = (
        "number", "kind", "issued_at", "order_link", "stripe_invoice_id", "customer", "customer_email",
        "currency", "net", "tax", "gross", "related_document", "payment_reference", "pdf_link",
        "pdf_rendered_at", "emailed_at", "snapshot_pretty",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # View only: a user with the view permission sees every field as text.
        return False

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

    @admin.display(description="Total", ordering="total_gross")
    def gross(self, obj):
        return format_money(obj.total_gross, obj.currency)

    @admin.display(description="Order", ordering="order")
    def order_link(self, obj):
        if obj.order_id is None:
            return "—"
        try:
            url = reverse("admin:orders_order_change", args=[obj.order_id])
        except NoReverseMatch:
            return obj.order.number
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        url = reverse("billing:document_pdf", args=[obj.pk])
        label = "Download" if obj.pdf_rendered_at else "Render and download"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Snapshot (what the document shows)")
    def snapshot_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.snapshot, indent=2, ensure_ascii=False))


from . import subscription_admin  # noqa: E402,F401  (subscriptions and their notices)
