"""Admin helpers every app uses: read-only model admins and inlines, links."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

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
