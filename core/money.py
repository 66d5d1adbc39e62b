"""Money: integer minor units with an ISO 4217 currency, everywhere.

Amounts are whole minor units (Stripe's convention: most currencies have two
decimals, a few none, a few three). Arithmetic stays in integers and Decimal;
text is made only for people, here, with Babel (grouping, decimal sign and
symbols of the shop's language). Nothing in this module ever takes a float.
"""

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from babel.numbers import format_currency
from django.conf import settings
from django.utils.translation import get_language, to_locale

# Stripe's minor units (its own lists): the wire format and our models use them.
ZERO_DECIMAL = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
# Currencies written with their symbol before the amount ("€12.50"); every
# other one with its ISO code after it ("12.50 USD": "$" alone would not say
# which dollar).
PREFIX_SYMBOL_CURRENCIES = frozenset({"eur", "gbp"})


def currency_exponent(currency: str) -> int:
    code = (currency or "").lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_major_units(amount: int, currency: str) -> Decimal:
    """12345 EUR minor units -> Decimal('123.45')."""
    return Decimal(int(amount)).scaleb(-currency_exponent(currency))


def to_minor_units(text, currency: str) -> int:
    """"12.50" (major units, as people type them; "12,50" too) -> 1250.

    Raises ValueError with a message for people: not a number, or more
    decimals than the currency has."""
    if isinstance(text, float):
        raise TypeError("money amounts are never floats")
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise ValueError("Enter the amount as a number, e.g. 12.50.") from None
    if not value.is_finite():
        raise ValueError("Enter the amount as a number, e.g. 12.50.")
    minor = value.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError("The amount has more decimals than the currency allows.")
    return int(minor)


def _minor_units(amount) -> int:
    if isinstance(amount, (bool, float)):
        raise TypeError("money amounts are integer minor units, not floats")
    if isinstance(amount, Decimal):
        if amount != amount.to_integral_value():
            raise ValueError(f"{amount} is not a whole number of minor units")
    return int(amount)


def _locale() -> str:
    return to_locale(get_language() or settings.LANGUAGE_CODE)


def format_money(amount, currency: str) -> str:
    """Integer minor units as text: (1250, "eur") -> "€12.50", (1250, "usd") ->
    "12.50 USD", (1250, "jpy") -> "1,250 JPY", (-1250, "eur") -> "-€12.50".
    Floats are refused: money is never a float in this project."""
    amount = _minor_units(amount)
    code = (currency or "").lower()
    exponent = currency_exponent(code)
    number = "#,##0" + ("." + "0" * exponent if exponent else "")
    pattern = f"¤{number}" if code in PREFIX_SYMBOL_CURRENCIES else f"{number} ¤¤"
    if not code:
        pattern = number
    return format_currency(
        to_major_units(amount, code), code.upper() or "XXX", format=pattern, locale=_locale(),
        currency_digits=False,
    )


def format_rate(rate) -> str:
    """A VAT rate in percent: Decimal('20.00') -> '20%', '5.50' -> '5.5%'."""
    text = f"{Decimal(str(rate)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` minor units in proportion to `weights` (largest
    remainder): the parts are whole units and add up to `amount` exactly.

    allocate(100, [1, 1, 1]) -> [34, 33, 33]. Ties go to the first weights."""
    amount = _minor_units(amount)
    total = sum(weights)
    if total <= 0:
        raise ValueError("the weights must add up to more than zero")
    shares = [Decimal(amount) * Decimal(weight) / Decimal(total) for weight in weights]
    parts = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in shares]
    by_remainder = sorted(range(len(parts)), key=lambda i: shares[i] - parts[i], reverse=True)
    for index in by_remainder[: amount - sum(parts)]:
        parts[index] += 1
    return parts
