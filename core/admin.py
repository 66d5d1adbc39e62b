"""Admin helpers every app uses: read-only model admins and inlines, links;
and core's own admin: the e-mail outbox."""

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

from .email import email_send_again
from .models import OutgoingEmail
from .money import format_money


class ReadOnlyAdminMixin:
    """Records that change only through services (or Stripe): staff read them
    in admin and never add, change or delete them there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


def money_display(amount: str, *, description: str, currency: str = "currency", ordering: str | None = None):
    """An admin column or read-only field showing the integer minor units in
    `amount` as money ("€94.80", "12.50 USD"), with the object's `currency`:

        total_display = money_display("total", description="Total")
    """

    @admin.display(description=description, ordering=ordering if ordering is not None else amount)
    def show(self, obj):
        value = getattr(obj, amount)
        return "—" if value is None else format_money(value, getattr(obj, currency))

    return show


def admin_link(obj, label=None) -> str:
    """A link to the object's admin page (its label alone if it has none)."""
    text = label if label is not None else str(obj)
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)


# ---------------------------------------------------------------------------
# The e-mail outbox
# ---------------------------------------------------------------------------


class EmailSentFilter(admin.SimpleListFilter):
    title = "sent"
    parameter_name = "sent"

    def lookups(self, request, model_admin):
        return [("no", "Not sent"), ("yes", "Sent")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every e-mail the shop wrote: staff see the ones not sent, with the mail
    server's error, and send them again (they are also retried by the sweep)."""

    list_display = ("subject", "recipients", "created_at", "status", "attempts", "last_attempt_at", "error")
    list_filter = (EmailSentFilter, "template", "created_at")
    search_fields = ("subject", "key", "to")
    date_hierarchy = "created_at"
    actions = ["send_again"]
    fields = ("key", "template", "from_email", "to", "reply_to", "subject", "body", "attachment_names",
              "created_at", "sent_at", "attempts", "last_attempt_at", "next_attempt_at", "last_error")
    readonly_fields = fields

    @admin.display(description="To")
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description="Status", ordering="sent_at")
    def status(self, obj):
        if obj.sent_at:
            return f"sent {timezone.localtime(obj.sent_at):%Y-%m-%d %H:%M}"
        return "not sent"

    @admin.display(description="Last error")
    def error(self, obj):
        return obj.last_error[:120] if obj.last_error else "—"

    @admin.display(description="Attachments")
    def attachment_names(self, obj):
        return ", ".join(a["filename"] for a in obj.attachments) or "—"

    def has_send_permission(self, request):
        return request.user.has_perm("core.change_outgoingemail")

    @admin.action(description="Send the selected e-mails again", permissions=["send"])
    def send_again(self, request, queryset):
        unsent = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        for email_id in unsent:
            email_send_again(email_id=email_id)
        skipped = queryset.count() - len(unsent)
        self.message_user(
            request,
            f"{len(unsent)} e-mail(s) sent again in the background."
            + (f" {skipped} already sent, left alone." if skipped else ""),
            messages.SUCCESS if unsent else messages.WARNING,
        )
