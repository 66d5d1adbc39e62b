"""Formatting amounts held as integer minor units with an ISO 4217 currency.

Stripe's convention: most currencies have 2 decimals, a few have none (JPY)
and a few have 3 (KWD). Formatting is the only place an amount becomes text;
arithmetic never leaves integers / Decimal.
"""

from decimal import Decimal

# Currencies whose minor unit is the unit itself (Stripe's zero-decimal list).
ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
THREE_DECIMAL = frozenset("bhd jod kwd omr tnd".split())
# Unambiguous symbols written before the amount; every other currency is
# written as "12.50 USD" ("$" alone would not say which dollar).
PREFIX_SYMBOLS = {"eur": "€", "gbp": "£"}


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


def format_money(amount, currency: str) -> str:
    """Format integer minor units: (1250, "eur") -> "€12.50", (1250, "usd") -> "12.50 USD",
    (1250, "jpy") -> "1,250 JPY", (-1250, "eur") -> "-€12.50".

    Floats are refused: money is never a float in this project.
    """
    if isinstance(amount, bool) or isinstance(amount, float):
        raise TypeError("money amounts are integer minor units, not floats")
    if isinstance(amount, Decimal):
        if amount != amount.to_integral_value():
            raise ValueError(f"{amount} is not a whole number of minor units")
        amount = int(amount)
    amount = int(amount)
    exponent = currency_exponent(currency)
    major = to_major_units(abs(amount), currency)
    number = f"{major:,.{exponent}f}"
    sign = "-" if amount < 0 else ""
    code = (currency or "").lower()
    if code in PREFIX_SYMBOLS:
        return f"{sign}{PREFIX_SYMBOLS[code]}{number}"
    return f"{sign}{number} {code.upper()}".rstrip()


def format_rate(rate) -> str:
    """A VAT rate in percent: Decimal('20.00') -> '20%', '5.50' -> '5.5%'."""
    value = Decimal(str(rate))
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"
