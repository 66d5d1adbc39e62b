"""Refunds in admin: read-only records (they change only through
payments.refunds). Refunding itself starts from the order (the Refund button,
payments/admin/orders.py)."""

from django.contrib import admin

from core.admin import ReadOnlyAdminMixin, money_display

from ..models import Refund


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "order", "status", "amount_display", "reason", "source", "requested_by",
                    "created_at", "credit_note")
    list_filter = ("status", "source", "reason")
    search_fields = ("stripe_refund_id", "=order__id", "order__email", "note")
    list_select_related = ("order", "credit_note", "requested_by")
    readonly_fields = [f.name for f in Refund._meta.fields]

    amount_display = money_display("amount", description="Amount")
