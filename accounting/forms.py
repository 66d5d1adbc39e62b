from django import forms

from billing.models import Document
from billing.periods import PeriodError, period_parse

from .selectors import DocumentFilters

STATUS_CHOICES = [
    ("", "Any status"),
    ("pdf_rendered", "PDF rendered"),
    ("pdf_missing", "PDF not rendered yet"),
    ("emailed", "E-mailed"),
    ("not_emailed", "Not e-mailed"),
]


class PeriodField(forms.CharField):
    default_error_messages = {"invalid": "Write a period as 2026-03 (month), 2026-Q1 (quarter) or 2026 (year)."}

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return period_parse(value)
        except PeriodError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class DocumentFilterForm(forms.Form):
    period = PeriodField(
        required=False, label="Period",
        help_text="Month 2026-03, quarter 2026-Q1 or year 2026.",
        widget=forms.TextInput(attrs={"placeholder": "2026-03", "size": 9}),
    )
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(required=False, label="Type", choices=[("", "All types"), *Document.Kind.choices])
    customer = forms.CharField(required=False, label="Customer e-mail", max_length=254)
    currency = forms.ChoiceField(required=False, label="Currency", choices=[("", "All currencies")])
    status = forms.ChoiceField(required=False, label="Status", choices=STATUS_CHOICES)
    number = forms.CharField(required=False, label="Number", max_length=32,
                             widget=forms.TextInput(attrs={"placeholder": "INV-2026-0000…", "size": 16}))

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [("", "All currencies"), *((c, c.upper()) for c in currencies)]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def filters(self) -> DocumentFilters:
        if not self.is_valid():
            return DocumentFilters()
        data = self.cleaned_data
        return DocumentFilters(
            period=data.get("period"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            kind=data.get("kind") or "",
            customer=data.get("customer") or "",
            currency=data.get("currency") or "",
            status=data.get("status") or "",
            number=data.get("number") or "",
        )


class PeriodChoiceForm(forms.Form):
    """Pick a month, a quarter or a year for an export or a period close."""

    period = PeriodField(label="Period", widget=forms.TextInput(attrs={"placeholder": "2026-03", "size": 9}))
