from django.contrib import admin

from payments.models import Payment

from .models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("sku", "name", "unit_amount", "quantity", "vat_rate")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ("created_at", "status", "amount", "currency", "card_brand", "card_last4",
              "stripe_payment_intent_id", "failure_message")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("__str__", "created_at", "email", "status", "total", "currency", "needs_attention")
    list_filter = ("status", "currency", "created_at")
    search_fields = ("=id", "email", "billing_name", "stripe_checkout_session_id", "stripe_payment_intent_id")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline]
    # Orders change only through their services (payments, refunds); staff read them here.
    readonly_fields = (
        "reference", "customer", "email", "status", "currency", "total", "amount_paid",
        "created_at", "expires_at", "paid_at", "closed_at", "stripe_checkout_session_id",
        "stripe_payment_intent_id", "payment_error",
        "billing_name", "billing_company", "billing_line1", "billing_postal_code", "billing_city",
        "billing_country", "vat_id",
    )
    fieldsets = (
        (None, {"fields": ("reference", "status", "needs_attention", "customer", "email", "total", "currency",
                           "amount_paid", "payment_error")}),
        ("Billing address", {"fields": ("billing_name", "billing_company", "billing_line1", "billing_postal_code",
                                        "billing_city", "billing_country", "vat_id")}),
        ("Dates", {"fields": ("created_at", "expires_at", "paid_at", "closed_at")}),
        ("Stripe", {"fields": ("stripe_checkout_session_id", "stripe_payment_intent_id")}),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
