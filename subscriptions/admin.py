"""Subscriptions in admin, the shop's way: status, customer, plan, renewal
date; staff cancel one through Stripe (the webhook brings the result into
dj-stripe's mirror). Read-only otherwise: Stripe holds the truth.

dj-stripe keeps its own raw admin too.
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from payments.exceptions import GatewayError

from . import selectors, services
from .exceptions import SubscriptionError
from .models import ShopSubscription, SubscriptionNotice


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return list(selectors.STATUS_LABELS.items())

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(stripe_data__status=self.value())
        return queryset


@admin.register(ShopSubscription)
class ShopSubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "status_badge", "customer_email", "plan", "renews_on", "cancelling", "created")
    list_filter = (StatusFilter,)
    search_fields = ("id", "customer__id", "customer__email", "customer__subscriber__email")
    list_select_related = ("customer", "customer__subscriber")
    ordering = ("-created",)
    actions = ("cancel_now",)
    fields = ("id", "status_badge", "customer_email", "plan", "renews_on", "cancelling", "created", "stripe_link")
    readonly_fields = fields

    @admin.display(description="Status")
    def status_badge(self, obj):
        return selectors.STATUS_LABELS.get(obj.status, obj.status)

    @admin.display(description="Customer", ordering="customer__email")
    def customer_email(self, obj):
        customer = obj.customer
        if customer.subscriber_id:
            return customer.subscriber.email or customer.subscriber.get_username()
        return customer.email or customer.id

    @admin.display(description="Plan")
    def plan(self, obj):
        summary = selectors.subscription_summary(obj)
        if summary.price is None:
            return summary.plan_name
        return f"{summary.plan_name} · {summary.price.interval_label}"

    @admin.display(description="Renewal / end")
    def renews_on(self, obj):
        return selectors.subscription_period_end(obj)

    @admin.display(description="Cancels at period end", boolean=True)
    def cancelling(self, obj):
        return bool(obj.cancel_at_period_end)

    @admin.display(description="At Stripe")
    def stripe_link(self, obj):
        return format_html('<a href="{}" rel="noopener" target="_blank">{}</a>', obj.get_stripe_dashboard_url(), obj.id)

    def has_cancel_permission(self, request):
        # Staff who may change subscriptions (superusers, or given the permission).
        return request.user.is_staff and request.user.has_perm("subscriptions.change_shopsubscription")

    @admin.action(description="Cancel now (at Stripe)", permissions=["cancel"])
    def cancel_now(self, request, queryset):
        done = 0
        for subscription in queryset:
            try:
                services.subscription_cancel_now(subscription=subscription, staff=request.user, reason="admin action")
            except (SubscriptionError, GatewayError) as error:
                self.message_user(request, f"{subscription.id}: {error}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                f"{done} subscription(s) cancelled at Stripe; the list shows it once Stripe's webhook confirms.",
                messages.SUCCESS,
            )


@admin.register(SubscriptionNotice)
class SubscriptionNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "kind", "email", "attempt", "created_at", "sent_at")
    list_filter = ("kind",)
    search_fields = ("key", "email", "stripe_subscription_id", "stripe_invoice_id")
    readonly_fields = [f.name for f in SubscriptionNotice._meta.fields]
