"""Template helpers of the storefront: money, VAT rates and availability.

Amounts are integer minor units (as in the database and at Stripe); they are
turned into text here only, with Decimal arithmetic, never a float.
"""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"eur": "€", "usd": "$", "gbp": "£"}
# ISO 4217 currencies without a minor unit (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL_CURRENCIES = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}


def format_money(amount, currency: str = "eur") -> str:
    """12345, "eur" -> "€123.45"; -500, "usd" -> "-$5.00"; 1000, "chf" -> "10.00 CHF"."""
    if amount is None or amount == "":
        return ""
    try:
        minor = int(amount)
    except (TypeError, ValueError):
        return ""
    currency = (currency or "eur").lower()
    exponent = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    value = Decimal(abs(minor)).scaleb(-exponent)
    number = f"{value:,.{exponent}f}"
    sign = "-" if minor < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency.upper()}"


@register.filter
def money(amount, currency="eur"):
    """{{ product.unit_amount|money:product.currency }} -> "€12.50"."""
    return format_money(amount, currency)


@register.filter
def percent(rate):
    """Decimal("20.00") -> "20", Decimal("5.50") -> "5.5" (no exponent notation)."""
    try:
        value = Decimal(str(rate)).normalize()
    except (InvalidOperation, ValueError, TypeError):
        return ""
    return format(value, "f")


@register.filter
def availability(product) -> str:
    """What a customer reads about stock: "In stock", "Only 2 left", "Out of stock"."""
    if product.stock <= 0:
        return "Out of stock"
    if product.low_stock:
        return f"Only {product.stock} left"
    return "In stock"


@register.filter
def availability_class(product) -> str:
    if product.stock <= 0:
        return "stock-out"
    if product.low_stock:
        return "stock-low"
    return "stock-in"


@register.simple_tag(takes_context=True)
def query_replace(context, **kwargs) -> str:
    """The current query string with some parameters replaced (paging links keep the filter)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()
