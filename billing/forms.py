"""The buyer's billing address and VAT id, as the shop's checkout and the
subscribe page ask for them: the address decides the VAT (place of supply,
billing.tax.vat_treatment) and goes on the invoice; an EU VAT id is checked
for format and check digits here (python-stdnum), and with VIES afterwards
(billing.vies, a network call the views make outside any transaction)."""

import re

from babel import Locale
from django import forms
from django.conf import settings
from django.utils.translation import get_language, to_locale

from core.countries import EU_MEMBER_STATES, vat_id_compact, vat_id_country, vat_id_error

# The EU member states first (python-stdnum's list), then the other countries
# we ship to; names in the shop's language from Babel (CLDR).
OTHER_COUNTRIES = ("CA", "IS", "LI", "MC", "NO", "CH", "GB", "US")
DEFAULT_COUNTRY = "FR"
# A VAT id's shape: 2 letters, then 2 to 13 letters or digits. An EU member
# state's id must also have the right format and check digits (python-stdnum);
# whether it is registered (VIES) is not checked here.
VAT_ID_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{2,13}$")
VAT_ID_SHAPE_ERROR = "Enter a VAT id as a 2-letter country code followed by 2 to 13 letters or digits."


def country_choices() -> list:
    names = Locale.parse(to_locale(get_language() or settings.LANGUAGE_CODE)).territories

    def named(codes):
        return sorted(((code, names.get(code, code)) for code in codes), key=lambda choice: choice[1])

    return [("European Union", named(EU_MEMBER_STATES)), ("Other countries", named(OTHER_COUNTRIES))]


class BillingAddressForm(forms.Form):
    billing_name = forms.CharField(
        label="Full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    billing_company = forms.CharField(
        label="Company", max_length=200, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    billing_line1 = forms.CharField(
        label="Address", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    billing_postal_code = forms.CharField(
        label="Postal code", max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    billing_city = forms.CharField(
        label="City", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    billing_country = forms.ChoiceField(
        label="Country", choices=country_choices, initial=DEFAULT_COUNTRY,
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )
    vat_id = forms.CharField(
        label="VAT id", max_length=20, required=False,
        help_text="Optional, for businesses: country code then number, e.g. FR40123456824.",
    )

    def clean_billing_postal_code(self):
        value = " ".join(self.cleaned_data["billing_postal_code"].split())
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 \-]{1,11}", value):
            raise forms.ValidationError("Enter a valid postal code.")
        return value.upper()

    def clean_vat_id(self):
        value = vat_id_compact(self.cleaned_data["vat_id"])
        if value and not VAT_ID_RE.fullmatch(value):
            raise forms.ValidationError(VAT_ID_SHAPE_ERROR)
        if value and vat_id_country(value) and vat_id_error(value):
            raise forms.ValidationError(
                f"This VAT id is not valid ({vat_id_error(value).rstrip('.').lower()}): check it, or leave the "
                "field empty to buy as a consumer."
            )
        return value
