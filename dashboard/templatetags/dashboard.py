"""`{% load dashboard %}`: the admin index's "What needs staff now" and the chart helpers."""

from datetime import date

from django import template

from core.money import format_money

from ..attention import attention_items
from ..figures import Money
from ..periods import MONTH_NAMES, month_title

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_attention(context):
    return attention_items(user=context["request"].user)


@register.filter
def cell(value, x_unit="day"):
    """A table cell: money formatted for people, a day as 14 Mar 2026, a month as March 2026."""
    if isinstance(value, Money):
        return format_money(value.amount, value.currency)
    if isinstance(value, date):
        return month_title(value) if x_unit == "month" else f"{value.day} {MONTH_NAMES[value.month - 1][:3]} {value.year}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
