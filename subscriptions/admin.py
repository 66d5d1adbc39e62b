"""Subscriptions in admin, the shop's way: status, customer, plan, renewal
date; staff cancel one through Stripe (the webhook brings the result into
dj-stripe's mirror). Read-only otherwise: Stripe holds the truth.

dj-stripe keeps its own raw admin too.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.selectors import audit_entries_for
from core.admin import ReadOnlyAdminMixin
from core.money import format_money
from payments.exceptions import GatewayError

from . import cancellation, selectors, tasks
from .documents import invoice_refusals_handle
from .exceptions import SubscriptionError
from .models import InvoiceRefusal, ShopSubscription, SubscriptionNotice
from .plans import INTERVAL_LABELS


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
    """One query for the list: the customer and its user are joined, and each
    row's plan is read from the mirrored prices in the same query."""

    list_display = ("title", "status_badge", "customer_email", "plan", "renews_on", "cancelling", "started")
    list_filter = (StatusFilter,)
    search_fields = ("id", "customer__id", "customer__email", "customer__subscriber__email")
    list_select_related = ("customer", "customer__subscriber")
    ordering = ("-created",)
    actions = ("cancel_at_period_end", "cancel_now")
    fields = ("title", "status_badge", "customer_email", "plan", "renews_on", "cancelling", "started",
              "stripe_link", "audit_trail")
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.subscriptions_with_plan(super().get_queryset(request))

    @admin.display(description="Subscription", ordering="created")
    def title(self, obj):
        return str(obj)

    @admin.display(description="Status")
    def status_badge(self, obj):
        return selectors.STATUS_LABELS.get(obj.status, obj.status)

    @admin.display(description="Customer", ordering="customer__email")
    def customer_email(self, obj):
        return selectors.subscriber_label(obj)

    @admin.display(description="Plan", ordering="plan_name")
    def plan(self, obj):
        if not obj.plan_name:
            return "—"
        interval = INTERVAL_LABELS.get(obj.plan_interval or "", obj.plan_interval or "")
        return f"{obj.plan_name} · {interval}" if interval else obj.plan_name

    @admin.display(description="Renewal / end")
    def renews_on(self, obj):
        end = selectors.subscription_period_end(obj)
        return date_format(timezone.localtime(end), "DATE_FORMAT") if end else "—"

    @admin.display(description="Started", ordering="created")
    def started(self, obj):
        return date_format(timezone.localtime(obj.created), "DATE_FORMAT") if obj.created else "—"

    @admin.display(description="Cancels at period end", boolean=True)
    def cancelling(self, obj):
        return bool(obj.cancel_at_period_end)

    @admin.display(description="At Stripe")
    def stripe_link(self, obj):
        return format_html('<a href="{}" rel="noopener" target="_blank">{}</a>', obj.get_stripe_dashboard_url(), obj.id)

    @admin.display(description="Audit trail")
    def audit_trail(self, obj):
        entries = audit_entries_for(target=obj)
        if not entries:
            return "—"
        return format_html_join(
            mark_safe("<br>"), "{} · {} · {}{}",
            ((date_format(timezone.localtime(e.created_at), "DATETIME_FORMAT"), e.actor_label, e.message,
              f" ({e.reason})" if e.reason else "") for e in entries),
        )

    def has_cancel_permission(self, request):
        # Staff who may change subscriptions (superusers, or given the permission).
        return request.user.is_staff and request.user.has_perm("subscriptions.change_shopsubscription")

    def _act(self, request, queryset, service, done: str):
        count = 0
        for subscription in queryset.select_related("customer"):
            try:
                service(subscription=subscription, actor=request.user, reason="admin action")
            except (SubscriptionError, GatewayError) as error:
                self.message_user(request, f"{subscription}: {error}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} subscription(s) {done} at Stripe; the list shows it once Stripe's "
                                       "webhook confirms.", messages.SUCCESS)

    @admin.action(description="Cancel at the end of the period (at Stripe)", permissions=["cancel"])
    def cancel_at_period_end(self, request, queryset):
        self._act(request, queryset, cancellation.subscription_cancel_at_period_end, "set to cancel at period end")

    @admin.action(description="Cancel now (at Stripe)", permissions=["cancel"])
    def cancel_now(self, request, queryset):
        self._act(request, queryset, cancellation.subscription_cancel_now, "cancelled")


@admin.register(SubscriptionNotice)
class SubscriptionNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("key", "kind", "email", "attempt", "created_at", "sent_at")
    list_filter = ("kind",)
    search_fields = ("key", "email", "stripe_subscription_id", "stripe_invoice_id")
    readonly_fields = [f.name for f in SubscriptionNotice._meta.fields]


@admin.register(InvoiceRefusal)
class InvoiceRefusalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Paid Stripe invoices that got no documents, with the reason. Staff fix
    the cause (the customer's address at Stripe, a refund) from the
    subscription or customer, then issue the documents again from here."""

    list_display = ("stripe_invoice_id", "customer_email", "amount", "subscription_link", "customer_link",
                    "reason", "attempts", "last_refused_at", "resolved_at", "resolution")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("stripe_invoice_id", "stripe_subscription_id", "stripe_customer_id", "customer_email")
    readonly_fields = [f.name for f in InvoiceRefusal._meta.fields]
    actions = ("issue_again", "mark_handled")

    def get_queryset(self, request):
        return selectors.invoice_refusals()

    @admin.display(description="Amount paid", ordering="amount_paid")
    def amount(self, obj):
        return format_money(obj.amount_paid, obj.currency) if obj.currency else obj.amount_paid

    @admin.display(description="Subscription")
    def subscription_link(self, obj):
        if not obj.subscription_pk:
            return obj.stripe_subscription_id or "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:subscriptions_shopsubscription_change",
                                                         args=[obj.subscription_pk]), obj.stripe_subscription_id)

    @admin.display(description="Customer")
    def customer_link(self, obj):
        if not obj.customer_pk:
            return obj.stripe_customer_id or "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:djstripe_customer_change", args=[obj.customer_pk]),
                           obj.stripe_customer_id)

    def has_issue_permission(self, request):
        return request.user.is_staff and request.user.has_perm("subscriptions.change_shopsubscription")

    @admin.action(description="Issue the documents again (once the cause is fixed)", permissions=["issue"])
    def issue_again(self, request, queryset):
        for refusal in queryset:
            tasks.issue_subscription_invoice_documents.delay(refusal.stripe_invoice_id)
        self.message_user(request, f"{queryset.count()} invoice(s) sent to issuing again: an invoice issued leaves "
                                   "this list; one refused again shows its reason here.", messages.SUCCESS)

    @admin.action(description="Mark as handled (refunded or invoiced outside the shop)", permissions=["issue"])
    def mark_handled(self, request, queryset):
        handled = invoice_refusals_handle(refusals=queryset, actor=request.user)
        self.message_user(request, f"{handled} invoice(s) marked handled: they leave the dashboard.",
                          messages.SUCCESS)
