from decimal import Decimal

from shop.templatetags.shop_tags import format_money, percent


def test_money_formats_minor_units_with_symbol():
    assert format_money(1250, "eur") == "€12.50"
    assert format_money(5, "eur") == "€0.05"
    assert format_money(123456789, "EUR") == "€1,234,567.89"
    assert format_money(-500, "usd") == "-$5.00"
    assert format_money(1000, "gbp") == "£10.00"
    assert format_money(1000, "chf") == "10.00 CHF"
    assert format_money(500, "jpy") == "500 JPY"  # no minor unit


def test_money_blank_for_missing_amount():
    assert format_money(None, "eur") == ""


def test_percent_has_no_exponent():
    assert percent(Decimal("20.00")) == "20"
    assert percent(Decimal("5.50")) == "5.5"
    assert percent(Decimal("2.10")) == "2.1"
    assert percent(Decimal("0.00")) == "0"
