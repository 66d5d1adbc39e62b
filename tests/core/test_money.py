from decimal import Decimal

import pytest
from django.template import Context, Template

from core.money import format_money, format_rate


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1250, "eur", "€12.50"),
        (1250, "EUR", "€12.50"),
        (1250, "usd", "12.50 USD"),
        (5, "gbp", "£0.05"),
        (123456789, "eur", "€1,234,567.89"),
        (-1250, "eur", "-€12.50"),
        (1250, "jpy", "1,250 JPY"),
        (1250, "kwd", "1.250 KWD"),
        (0, "chf", "0.00 CHF"),
        ("1250", "eur", "€12.50"),
        (Decimal("1250"), "eur", "€12.50"),
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


def test_format_money_refuses_floats():
    with pytest.raises(TypeError):
        format_money(12.5, "eur")


def test_format_rate():
    assert format_rate("20.00") == "20%"
    assert format_rate(Decimal("5.50")) == "5.5%"
    assert format_rate("0.00") == "0%"


def test_template_filters():
    template = Template("{% load money %}{{ a|money:c }}|{{ b|money:c }}|{{ r|percent }}|{{ f|money:c }}")
    out = template.render(Context({"a": 1250, "b": None, "c": "usd", "r": "5.50", "f": 1.5}))
    assert out == "12.50 USD||5.5%|"
