"""Query filters of the list endpoints (django-filter: each is documented in
the schema, and a value that cannot be used is a 400 naming the parameter)."""

import re
from datetime import datetime, time, timedelta

import django_filters as filters
from django import forms
from django.utils import timezone
from djstripe.models import Subscription
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from billing.models import Document
from billing.periods import period_parse
from catalog.models import Product
from orders.models import Order

ORDER_NUMBER = re.compile(r"^ORD-(\d{1,12})$", re.IGNORECASE)


def _local_midnight(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class LocalDateRangeFilter(filters.DateFilter):
    """A local date bound on a datetime: `_from` includes the whole day,
    `_to` too (up to the next local midnight)."""

    def __init__(self, *args, upper: bool = False, **kwargs):
        self.upper = upper
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        # Dates before 1900 or in the year 9999 bound nothing the shop holds
        # (and would not survive a conversion to UTC).
        if value is None or (value.year < 1900 and not self.upper) or (value.year > 9998 and self.upper):
            return qs
        if value.year < 1900 or value.year > 9998:
            return qs.none()
        if self.upper:
            return qs.filter(**{f"{self.field_name}__lt": _local_midnight(value + timedelta(days=1))})
        return qs.filter(**{f"{self.field_name}__gte": _local_midnight(value)})


# No NUL character: Django's form fields refuse it (a 400), so the schema says so.
@extend_schema_field({"type": "string", "minLength": 1, "pattern": r"^[^\x00]+$"})
class TextFilter(filters.CharFilter):
    """A text parameter: given, it must say something."""


class StrictBooleanField(forms.Field):
    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Write true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(filters.Filter):
    field_class = StrictBooleanField


class PeriodField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return period_parse(value)
        except ValueError:  # PeriodError, or a year past what a date holds
            raise forms.ValidationError(
                "Write a period as 2026-03 (a month), 2026-Q1 (a quarter) or 2026 (a year).", code="invalid"
            ) from None


@extend_schema_field({"type": "string", "pattern": r"^(19|2\d)\d{2}(-(0[1-9]|1[0-2]|Q[1-4]))?$", "example": "2026-03"})
class PeriodFilter(filters.Filter):
    field_class = PeriodField

    def filter(self, qs, value):
        if value is None:
            return qs
        start, end = value.bounds()
        return qs.filter(**{f"{self.field_name}__gte": start, f"{self.field_name}__lt": end})


class StrictFilterSet(filters.FilterSet):
    """A parameter given empty (`?paid_to=`) is refused like any value that
    cannot be used, rather than silently ignored: a program that sent it
    meant something."""

    def is_valid(self):
        valid = super().is_valid()
        for name in self.filters:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data.get(name)]
            if name in self.data and any(value in ("", None) for value in values):
                self.form.add_error(name if name in self.form.fields else None,
                                    "This parameter is empty: give it a value or leave it out.")
                valid = False
        return valid


class OrderFilter(StrictFilterSet):
    status = filters.MultipleChoiceFilter(choices=Order.Status.choices,
                                          help_text="One or more statuses (repeat the parameter).")
    currency = TextFilter(method="filter_currency", help_text="ISO code, e.g. eur.")
    number = TextFilter(method="filter_number", help_text="The order number, e.g. ORD-000042.")
    created_from = LocalDateRangeFilter(field_name="created_at", help_text="Placed on or after this local date.")
    created_to = LocalDateRangeFilter(field_name="created_at", upper=True,
                                      help_text="Placed on or before this local date.")
    paid_from = LocalDateRangeFilter(field_name="paid_at", help_text="Paid on or after this local date.")
    paid_to = LocalDateRangeFilter(field_name="paid_at", upper=True, help_text="Paid on or before this local date.")

    class Meta:
        model = Order
        fields = []

    def filter_currency(self, qs, name, value):
        return qs.filter(currency=value.strip().lower())

    def filter_number(self, qs, name, value):
        match = ORDER_NUMBER.match(value.strip())
        return qs.filter(pk=int(match.group(1))) if match else qs.none()


class DocumentFilter(StrictFilterSet):
    period = PeriodFilter(field_name="issued_at",
                          help_text="Issued in this period (local dates): 2026-03, 2026-Q1 or 2026.")
    issued_from = LocalDateRangeFilter(field_name="issued_at", help_text="Issued on or after this local date.")
    issued_to = LocalDateRangeFilter(field_name="issued_at", upper=True,
                                     help_text="Issued on or before this local date.")
    kind = filters.MultipleChoiceFilter(choices=Document.Kind.choices,
                                        help_text="One or more kinds (repeat the parameter).")
    number = TextFilter(method="filter_number",
                                help_text="The whole number (INV-2026-000042) or a part of it (2026-0000).")
    currency = TextFilter(method="filter_currency", help_text="ISO code, e.g. eur.")

    class Meta:
        model = Document
        fields = []

    def filter_number(self, qs, name, value):
        return qs.filter(number__icontains=value.strip())

    def filter_currency(self, qs, name, value):
        return qs.filter(currency=value.strip().lower())


SUBSCRIPTION_STATUSES = ["active", "trialing", "past_due", "unpaid", "paused", "incomplete", "incomplete_expired",
                         "canceled"]


class SubscriptionFilter(StrictFilterSet):
    status = filters.MultipleChoiceFilter(choices=[(s, s) for s in SUBSCRIPTION_STATUSES],
                                          method="filter_status", help_text="Stripe's status (repeat the parameter).")

    class Meta:
        model = Subscription
        fields = []

    def filter_status(self, qs, name, value):
        return qs.filter(stripe_data__status__in=list(value)) if value else qs


class ProductFilter(StrictFilterSet):
    category = TextFilter(field_name="category__slug", help_text="The category's slug, e.g. coffee.")
    in_stock = BooleanFilter(method="filter_in_stock",
                                     help_text="true: only products that can be bought now; false: sold out.")

    class Meta:
        model = Product
        fields = []

    def filter_in_stock(self, qs, name, value):
        return qs.filter(stock__gt=0) if value else qs.filter(stock=0)
