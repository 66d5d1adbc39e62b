"""`{% load money %}` then `{{ amount|money:currency }}` ("€12.50", "12.50 USD")
and `{{ rate|percent }}` ("20%", "5.5%"). Usable by any app's templates."""

from django import template

from core.money import format_money, format_rate

register = template.Library()


@register.filter(name="money")
def money(amount, currency="eur"):
    """Integer minor units -> text with the currency. Empty for a missing amount."""
    if amount is None or amount == "":
        return ""
    try:
        return format_money(amount, currency)
    except (TypeError, ValueError, ArithmeticError):
        return ""


@register.filter(name="percent")
def percent(rate):
    if rate is None or rate == "":
        return ""
    try:
        return format_rate(rate)
    except (TypeError, ValueError, ArithmeticError):
        return ""
