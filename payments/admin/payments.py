"""Payments in admin: our record of each attempt, read-only."""

from django.contrib import admin

from core.admin import money_display

from ..models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "order", "status", "amount_display", "card_brand", "card_last4", "created_at")
    list_filter = ("status", "currency")
    search_fields = ("stripe_payment_intent_id", "stripe_charge_id", "order__email", "=order__id")
    amount_display = money_display("amount", description="Amount")
    readonly_fields = ["amount_display", *(f.name for f in Payment._meta.fields)]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
