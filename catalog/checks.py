"""`manage.py check` refuses a shop whose currencies Babel does not know, or
whose own currency (SHOP_CURRENCY) is not one it sells in."""

from babel import Locale
from django.conf import settings
from django.core.checks import Error, register

from core.money import currency_exponent


@register()
def shop_currencies(app_configs, **kwargs):
    known = Locale.parse("en").currencies
    errors = [
        Error(f"SHOP_CURRENCIES: {code!r} is not an ISO 4217 currency code.", id="catalog.E001")
        for code in settings.SHOP_CURRENCIES if code.upper() not in known
    ]
    errors += [
        Error(f"SHOP_CURRENCIES: {code.upper()} has three decimals; documents are issued in currencies with two "
              "or no decimals.", id="catalog.E003")
        for code in settings.SHOP_CURRENCIES if currency_exponent(code) == 3
    ]
    if settings.SHOP_CURRENCY not in settings.SHOP_CURRENCIES:
        errors.append(Error(f"SHOP_CURRENCY ({settings.SHOP_CURRENCY}) is not one of SHOP_CURRENCIES "
                            f"({', '.join(settings.SHOP_CURRENCIES)}).", id="catalog.E002"))
    return errors
