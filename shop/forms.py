"""Forms of the storefront: checkout details and signup."""

import re

from babel import Locale
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm
from django.utils.translation import get_language, to_locale

from core.countries import EU_MEMBER_STATES, vat_id_compact, vat_id_country, vat_id_error
from orders.services import BillingDetails

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


class CheckoutForm(forms.Form):
    email = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
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

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.is_authenticated and user.email:
            # Signed in: the order goes to the account's address; a disabled
            # field ignores whatever the browser posts.
            self.fields["email"].initial = user.email
            self.fields["email"].disabled = True
            self.fields["email"].widget.attrs["readonly"] = True
            self.fields["email"].help_text = "The e-mail address of your account."
            if not self.is_bound and not self.initial.get("billing_name"):
                full_name = user.get_full_name()
                if full_name:
                    self.initial["billing_name"] = full_name

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

    def billing_details(self) -> BillingDetails:
        data = self.cleaned_data
        return BillingDetails(
            name=data["billing_name"].strip(),
            company=data["billing_company"].strip(),
            line1=data["billing_line1"].strip(),
            postal_code=data["billing_postal_code"],
            city=data["billing_city"].strip(),
            country=data["billing_country"],
            vat_id=data["vat_id"],
        )


class SignupForm(BaseUserCreationForm):
    """Sign up with an e-mail address and a password; the e-mail is also the
    username, so the standard login form takes it as it is."""

    email = forms.EmailField(
        label="E-mail", max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )

    class Meta(BaseUserCreationForm.Meta):
        model = get_user_model()
        fields = ("email",)

    def clean_email(self):
        # Whether an account already uses the address is never said here (that
        # would tell anyone which e-mails have accounts): the signup view
        # answers the same and tells the mailbox's owner by e-mail.
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self):
        pass  # see clean_email: an existing address is handled by the view, silently

    def _post_clean(self):
        # The username must be set before the password validators compare the
        # password with the user's attributes.
        if self.cleaned_data.get("email"):
            self.instance.username = self.cleaned_data["email"]
        super()._post_clean()

    def save(self, commit=True):
        user = super().save(commit=False)
        user.username = user.email = self.cleaned_data["email"]
        if commit:
            user.save()
        return user


class OrderFindForm(forms.Form):
    """"Find my order": the address the order was placed with and, if known,
    its number; the answer is the same whether or not anything matches."""

    email = forms.EmailField(label="E-mail", help_text="The address you gave when you ordered.",
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    reference = forms.CharField(
        label="Order number", max_length=64, required=False,
        help_text="As in your e-mails or on the order page, e.g. ORD-000123. Leave it empty to get your latest orders.",
    )
