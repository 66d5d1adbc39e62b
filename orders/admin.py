"""Orders in admin: read-only (orders change only through their services),
with their lines, documents and audit trail. The payments app extends this
admin with payments, refunds, disputes and the Refund button
(payments/admin/orders.py)."""

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.admin import AuditEntryInline
from billing.models import Document
from core.admin import ReadOnlyTabularInline, money_display
from core.money import format_money, format_rate

from .models import Order, OrderLine


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = ("sku", "name", "unit_price", "quantity", "line_discount", "line_total", "vat")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    @admin.display(description="Unit price (VAT incl.)")
    def unit_price(self, obj):
        return format_money(obj.unit_amount, obj.order.currency)

    @admin.display(description="Discount")
    def line_discount(self, obj):
        return format_money(obj.discount, obj.order.currency) if obj.discount else "—"

    @admin.display(description="Total")
    def line_total(self, obj):
        return format_money(obj.total, obj.order.currency)

    @admin.display(description="VAT")
    def vat(self, obj):
        return f"{format_rate(obj.vat_rate)} ({obj.vat_category})"


class DocumentInline(ReadOnlyTabularInline):
    model = Document
    fk_name = "order"
    ordering = ("issued_at", "pk")
    fields = ("number", "kind", "issued_at", "total_display", "pdf_link")
    readonly_fields = fields
    verbose_name_plural = "Documents"

    @admin.display(description="Total")
    def total_display(self, obj):
        return format_money(obj.total_gross, obj.currency)

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        url = reverse("billing:document_pdf", args=[obj.pk])
        return format_html('<a href="{}">Download {}</a>', url, obj.number)


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies the shop sells in (SHOP_CURRENCIES), not a DISTINCT over
    every order on each page of the list."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        return [(code, code.upper()) for code in settings.SHOP_CURRENCIES]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at", "email", "status", "total_display", "needs_attention")
    list_filter = ("status", CurrencyFilter, "created_at")
    # One COUNT per page (the filtered one), not a second over every order.
    show_full_result_count = False
    search_fields = ("=id", "email", "billing_name", "stripe_checkout_session_id", "stripe_payment_intent_id")
    # No date_hierarchy: its year links read the first and last date and every
    # distinct year of all orders on each page (a scan of the table on SQLite,
    # 0.6x at 10,000 orders, bench/bench_pages.py); the "created at" filter
    # above gives today, the past 7 days, this month and this year.
    inlines = [OrderLineInline, DocumentInline, AuditEntryInline]
    # Orders change only through their services (payments, refunds); staff read them here.
    total_display = money_display("total", description="Total")
    paid_display = money_display("amount_paid", description="Amount paid")
    readonly_fields = (
        "reference", "customer", "email", "status", "total_display", "paid_display",
        "created_at", "expires_at", "paid_at", "closed_at", "stripe_checkout_session_id",
        "stripe_payment_intent_id", "payment_error",
        "billing_name", "billing_company", "billing_line1", "billing_postal_code", "billing_city",
        "billing_country", "vat_id", "vat_id_status", "vat_id_checked_at", "vat_id_check_detail",
        "discount_label", "discount_display", "stripe_promotion_code_id",
    )
    discount_display = money_display("discount_total", description="Discount (VAT incl.)")
    fieldsets = (
        (None, {"fields": ("reference", "status", "needs_attention", "customer", "email", "total_display",
                           "paid_display", "payment_error")}),
        ("Billing address", {"fields": ("billing_name", "billing_company", "billing_line1", "billing_postal_code",
                                        "billing_city", "billing_country", "vat_id", "vat_id_status",
                                        "vat_id_checked_at", "vat_id_check_detail")}),
        ("Discount", {"fields": ("discount_label", "discount_display", "stripe_promotion_code_id")}),
        ("Dates", {"fields": ("created_at", "expires_at", "paid_at", "closed_at")}),
        ("Stripe", {"fields": ("stripe_checkout_session_id", "stripe_payment_intent_id")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
