"""Forms of the storefront: checkout details and signup."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm

from billing.forms import (  # noqa: F401 (the checkout's names, kept here)
    DEFAULT_COUNTRY,
    OTHER_COUNTRIES,
    VAT_ID_RE,
    VAT_ID_SHAPE_ERROR,
    BillingAddressForm,
    country_choices,
)
from orders.services import BillingDetails


class CheckoutForm(BillingAddressForm):
    """The order's e-mail, then the billing address and VAT id (billing.forms)."""

    email = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    field_order = ["email"]

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

    def billing_details(self) -> BillingDetails:
        return BillingDetails.from_form(self.cleaned_data)


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
