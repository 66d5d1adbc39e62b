"""Discount codes in admin: staff create a code (a Stripe coupon and its
promotion code, payments.discount_codes) with a plain form, see how often
each was used, and deactivate codes. A code is never edited: Stripe does not
allow changing a coupon's terms; make a new code instead."""

import hashlib
import re
import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.utils import timezone
from djstripe.models import Coupon

from core.money import format_money, format_rate, to_minor_units
from orders.discounts import redemptions_held

from ..discount_codes import DURATIONS, DiscountCodeSpec, discount_code_create, discount_code_deactivate
from ..exceptions import GatewayError
from ..models import DiscountCode

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,40}$")


class DiscountCodeForm(forms.ModelForm):
    code = forms.CharField(max_length=40, help_text="What customers type (any case): letters, digits, - and _.")
    name = forms.CharField(max_length=100, required=False, help_text="For staff and the customer's receipt at "
                                                                       "Stripe; the code if left empty.")
    kind = forms.ChoiceField(label="Discount", choices=[("percent", "Percent off"), ("amount", "Amount off")],
                             widget=forms.RadioSelect, initial="percent")
    percent_off = forms.CharField(required=False, label="Percent off", help_text="e.g. 10 or 12.5 (up to 100).")
    amount_off = forms.CharField(required=False, label="Amount off", help_text="VAT included, in the currency "
                                                                               "below, e.g. 5.00.")
    currency = forms.ChoiceField(choices=[], help_text="An amount off, and a minimum amount, are in this currency.")
    duration = forms.ChoiceField(choices=DURATIONS, initial="once",
                                 help_text="For subscriptions: how many invoices it reduces. An order is one "
                                           "payment whatever the duration.")
    duration_in_months = forms.IntegerField(required=False, min_value=1, max_value=36, label="Months",
                                            help_text="With a repeating duration only.")
    max_redemptions = forms.IntegerField(required=False, min_value=1, label="Redemption limit",
                                         help_text="How many times it can be used in all; empty: no limit.")
    expires_at = forms.DateTimeField(required=False, label="Expires at",
                                     help_text="YYYY-MM-DD HH:MM (the shop's time zone); empty: never.")
    first_order_only = forms.BooleanField(required=False, label="First order only",
                                          help_text="Only for customers who have never paid an order.")
    minimum_amount = forms.CharField(required=False, label="Minimum order",
                                     help_text="VAT included, before the discount, e.g. 50.00; empty: none.")
    token = forms.CharField(widget=forms.HiddenInput)

    class Meta:
        model = DiscountCode
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c.upper()) for c in settings.SHOP_CURRENCIES]
        self.fields["currency"].initial = settings.SHOP_CURRENCY
        # One key per form shown: submitting it twice creates one code at Stripe.
        self.fields["token"].initial = uuid.uuid4().hex

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if not CODE_PATTERN.match(code):
            raise forms.ValidationError("Use 3 to 40 letters, digits, dashes (-) or underscores (_), no spaces.")
        active = [p for p in DiscountCode.objects.filter(stripe_data__code__iexact=code)
                  if p.stripe_data.get("active")]
        if active:
            raise forms.ValidationError(f"An active code “{active[0].code}” already exists: deactivate it first.")
        return code

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value

    def _money(self, name: str, currency: str):
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            amount = to_minor_units(raw, currency)
        except ValueError as error:
            self.add_error(name, str(error))
            return None
        if amount <= 0:
            self.add_error(name, "Enter an amount greater than zero.")
            return None
        return amount

    def clean(self):
        data = super().clean()
        currency = data.get("currency") or settings.SHOP_CURRENCY
        percent = amount = None
        if data.get("kind") == "percent":
            raw = (data.get("percent_off") or "").strip().replace(",", ".").rstrip("%").strip()
            if data.get("amount_off"):
                self.add_error("amount_off", "Leave this empty for a percent off (or choose “Amount off”).")
            try:
                percent = Decimal(raw)
            except (InvalidOperation, ValueError):
                self.add_error("percent_off", "Enter the percentage as a number, e.g. 10.")
            else:
                if not percent.is_finite() or not 0 < percent <= 100:
                    self.add_error("percent_off", "A percentage is more than 0 and at most 100.")
                    percent = None
                elif percent != percent.quantize(Decimal("0.01")):
                    self.add_error("percent_off", "At most two decimals, e.g. 12.5.")
                    percent = None
        elif data.get("kind") == "amount":
            if data.get("percent_off"):
                self.add_error("percent_off", "Leave this empty for an amount off (or choose “Percent off”).")
            if not (data.get("amount_off") or "").strip():
                self.add_error("amount_off", "Enter the amount off.")
            else:
                amount = self._money("amount_off", currency)
        duration, months = data.get("duration"), data.get("duration_in_months")
        if duration == "repeating" and not months:
            self.add_error("duration_in_months", "Say for how many months a repeating discount lasts.")
        if duration != "repeating" and months:
            self.add_error("duration_in_months", "Months apply to a repeating discount only.")
        minimum = self._money("minimum_amount", currency)
        if amount is not None and minimum is not None and amount > minimum:
            # Not refused by Stripe, but the line can never go negative anyway;
            # say it since it is most likely a typo.
            self.add_error("minimum_amount", "The minimum order is below the amount off: check both amounts.")
        if self.errors:
            return data
        self.spec = DiscountCodeSpec(
            code=data["code"], name=data.get("name", "").strip(), percent_off=percent, amount_off=amount,
            currency=currency, duration=duration, duration_in_months=months if duration == "repeating" else None,
            max_redemptions=data.get("max_redemptions"), expires_at=data.get("expires_at"),
            first_order_only=bool(data.get("first_order_only")), minimum_amount=minimum,
        )
        # Stripe is asked here so that a refusal (a code taken meanwhile,
        # terms it does not accept) is shown on the form, with Stripe's words.
        try:
            # The same form sent twice is one code; changed terms are another request.
            terms = hashlib.sha256(repr(self.spec).encode()).hexdigest()[:16]
            created = discount_code_create(spec=self.spec, idempotency_key=f"discount-{data['token']}-{terms}")
        except GatewayError as error:
            raise forms.ValidationError(f"Stripe refused the code: {error}") from error
        self.instance = DiscountCode.objects.get(pk=created.pk)
        return data


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = ("code_display", "terms", "active_display", "used", "expires", "restrictions_display",
                    "djstripe_created")
    search_fields = ("id", "stripe_data__code")
    ordering = ("-djstripe_created",)
    actions = ["deactivate"]
    fieldsets_add = (
        (None, {"fields": ("code", "name")}),
        ("Discount", {"fields": ("kind", "percent_off", "amount_off", "currency")}),
        ("Duration (subscriptions)", {"fields": ("duration", "duration_in_months")}),
        ("Limits", {"fields": ("max_redemptions", "expires_at", "first_order_only", "minimum_amount", "token")}),
    )
    readonly_view_fields = ("id", "code_display", "terms", "active_display", "used", "expires",
                            "restrictions_display", "djstripe_created", "djstripe_updated")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DiscountCodeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets_add
        return ((None, {"fields": self.readonly_view_fields}),)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_view_fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: orders keep naming the code

    def has_change_permission(self, request, obj=None):
        return False  # Stripe does not change a coupon's terms: make a new code

    def has_deactivate_permission(self, request):
        return request.user.has_perm("payments.add_discountcode")

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Without ModelAdmin's transaction around the form: its clean() creates
        # the code at Stripe (no call to Stripe is made inside a transaction),
        # then mirrors it; the view itself writes nothing (save_model below).
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        # Created (at Stripe, then mirrored) by the form's clean(); nothing to save.
        if not change:
            messages.success(request, f"Code “{obj.code}” created at Stripe.")

    def save_related(self, request, form, formsets, change):
        pass

    # -- columns -------------------------------------------------------------

    @admin.display(description="Code", ordering="stripe_data__code")
    def code_display(self, obj):
        return obj.stripe_data.get("code", "")

    @admin.display(description="Discount")
    def terms(self, obj):
        coupon = _coupon(obj)
        if coupon is None:
            return "—"
        data = coupon.stripe_data
        if data.get("percent_off") is not None:
            off = f"{format_rate(Decimal(str(data['percent_off'])))} off"
        else:
            off = f"{format_money(int(data.get('amount_off') or 0), data.get('currency') or '')} off"
        duration = data.get("duration")
        if duration == "repeating":
            return f"{off}, {data.get('duration_in_months')} months"
        return f"{off}, {duration}"

    @admin.display(description="Active", boolean=True)
    def active_display(self, obj):
        coupon = _coupon(obj)
        return bool(obj.stripe_data.get("active")) and (coupon is None or coupon.stripe_data.get("valid", True))

    @admin.display(description="Used")
    def used(self, obj):
        count = max(int(obj.stripe_data.get("times_redeemed") or 0), redemptions_held(promotion_code_id=obj.id))
        limit = obj.stripe_data.get("max_redemptions")
        return f"{count} / {limit}" if limit else str(count)

    @admin.display(description="Expires")
    def expires(self, obj):
        value = obj.stripe_data.get("expires_at")
        if not value:
            return "—"
        return timezone.localtime(datetime.fromtimestamp(int(value), tz=dt_timezone.utc)).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Restrictions")
    def restrictions_display(self, obj):
        restrictions = obj.stripe_data.get("restrictions") or {}
        parts = []
        if restrictions.get("first_time_transaction"):
            parts.append("first order only")
        if restrictions.get("minimum_amount"):
            minimum = format_money(int(restrictions["minimum_amount"]), restrictions.get("minimum_amount_currency") or "")
            parts.append(f"minimum {minimum}")
        return ", ".join(parts) or "—"

    # -- actions ---------------------------------------------------------------

    @admin.action(description="Deactivate the selected codes (at Stripe)", permissions=["deactivate"])
    def deactivate(self, request, queryset):
        done = []
        for promo in queryset:
            if not promo.stripe_data.get("active"):
                continue
            try:
                discount_code_deactivate(promotion_code_id=promo.id)
            except GatewayError as error:
                messages.error(request, f"“{promo.stripe_data.get('code')}”: {error}")
                continue
            done.append(promo.stripe_data.get("code"))
        if done:
            messages.success(request, f"Deactivated: {', '.join(done)}.")
        else:
            messages.info(request, "No active code was selected.")


def _coupon(promo):
    promotion = promo.stripe_data.get("promotion") or {}
    coupon_id = promotion.get("coupon") or promo.stripe_data.get("coupon")
    if isinstance(coupon_id, dict):
        coupon_id = coupon_id.get("id")
    return Coupon.objects.filter(id=coupon_id).first() if coupon_id else None
