"""The audit trail in admin: read-only, no add, change or delete, for anyone."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "actor_type", "action", "order_link", "message")
    list_filter = ("actor_type", "action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("message", "reason", "actor_label", "action", "=order__id", "object_id")
    date_hierarchy = "created_at"
    list_select_related = ("order",)
    fields = ("created_at", "actor_type", "actor_label", "actor", "action", "order_link", "object_type",
              "object_id", "message", "reason", "data")
    readonly_fields = fields

    @admin.display(description="Order", ordering="order")
    def order_link(self, obj):
        if obj.order_id is None:
            return "—"
        try:
            url = reverse("admin:orders_order_change", args=[obj.order_id])
        except NoReverseMatch:
            return str(obj.order)
        return format_html('<a href="{}">{}</a>', url, obj.order)


class AuditEntryInline(ReadOnlyTabularInline):
    """An order's trail on its admin page, oldest first; read-only."""

    model = AuditEntry
    fk_name = "order"
    ordering = ("created_at", "pk")
    fields = ("created_at", "actor_label", "action", "message", "reason")
    readonly_fields = fields
    verbose_name_plural = "Audit trail"

    def has_view_permission(self, request, obj=None):
        # Whoever may see the order sees how it got where it is.
        return request.user.has_perm("orders.view_order") or super().has_view_permission(request, obj)
