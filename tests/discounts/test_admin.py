"""Staff create discount codes in admin: a plain form, created at Stripe and
mirrored; bad input is a form error, never a 500; codes are deactivated by
an action (at Stripe, and mirrored)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Coupon, PromotionCode

from payments import gateway
from tests.factories import UserFactory
from tests.shop.conftest import messages_of

pytestmark = pytest.mark.django_db

ADD = "admin:payments_discountcode_add"


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def form(**changes):
    data = {"code": "SUMMER-15", "name": "Summer sale", "kind": "percent", "percent_off": "15", "amount_off": "",
            "currency": "eur", "duration": "once", "duration_in_months": "", "max_redemptions": "100",
            "expires_at": "", "minimum_amount": "", "token": "form-token-1"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_create_a_percent_code_at_stripe_and_it_is_mirrored(staff, stripe_emulator):
    page = staff.get(reverse(ADD))
    assert page.status_code == 200 and "Percent off" in page.content.decode()
    response = staff.post(reverse(ADD), form(first_order_only="on", minimum_amount="30.00"), follow=True)
    assert response.status_code == 200
    assert "Code “SUMMER-15” created at Stripe." in messages_of(response)
    promo = PromotionCode.objects.get()
    at_stripe = gateway.client().v1.promotion_codes.retrieve(promo.id)
    assert at_stripe["code"] == "SUMMER-15" and at_stripe["max_redemptions"] == 100
    assert at_stripe["restrictions"]["first_time_transaction"] is True
    assert (at_stripe["restrictions"]["minimum_amount"], at_stripe["restrictions"]["minimum_amount_currency"]) == (
        3000, "eur")
    coupon = Coupon.objects.get()
    assert (coupon.stripe_data["percent_off"], coupon.stripe_data["duration"]) == (15, "once")
    # The list shows what staff need.
    listing = staff.get(reverse("admin:payments_discountcode_changelist")).content.decode()
    for text in ("SUMMER-15", "15% off, once", "0 / 100", "first order only, minimum €30.00"):
        assert text in listing


def test_an_amount_off_repeating_code(staff, stripe_emulator):
    response = staff.post(reverse(ADD), form(kind="amount", percent_off="", amount_off="5.50", duration="repeating",
                                             duration_in_months="3", max_redemptions=""), follow=True)
    assert "Code “SUMMER-15” created at Stripe." in messages_of(response)
    coupon = Coupon.objects.get().stripe_data
    assert (coupon["amount_off"], coupon["currency"], coupon["duration"], coupon["duration_in_months"]) == (
        550, "eur", "repeating", 3)


@pytest.mark.parametrize("changes, field, message", [
    ({"percent_off": "0"}, "percent_off", "A percentage is more than 0 and at most 100."),
    ({"percent_off": "120"}, "percent_off", "A percentage is more than 0 and at most 100."),
    ({"percent_off": "ten"}, "percent_off", "Enter the percentage as a number, e.g. 10."),
    ({"percent_off": "12.555"}, "percent_off", "At most two decimals, e.g. 12.5."),
    ({"amount_off": "5"}, "amount_off", "Leave this empty for a percent off"),
    ({"kind": "amount", "percent_off": "", "amount_off": ""}, "amount_off", "Enter the amount off."),
    ({"kind": "amount", "percent_off": "", "amount_off": "5.555"}, "amount_off",
     "The amount has more decimals than the currency allows."),
    ({"kind": "amount", "percent_off": "", "amount_off": "-3"}, "amount_off", "Enter an amount greater than zero."),
    ({"duration": "repeating"}, "duration_in_months", "Say for how many months a repeating discount lasts."),
    ({"duration_in_months": "3"}, "duration_in_months", "Months apply to a repeating discount only."),
    ({"code": "two words"}, "code", "Use 3 to 40 letters, digits, dashes (-) or underscores (_), no spaces."),
    ({"max_redemptions": "0"}, "max_redemptions", "Ensure this value is greater than or equal to 1."),
    ({"expires_at": "2001-01-01 10:00"}, "expires_at", "The expiry must be in the future."),
    ({"minimum_amount": "abc"}, "minimum_amount", "Enter the amount as a number, e.g. 12.50."),
])
def test_bad_input_is_a_form_error_and_creates_nothing(staff, stripe_emulator, changes, field, message):
    response = staff.post(reverse(ADD), form(**changes))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert not PromotionCode.objects.exists() and not Coupon.objects.exists()


def test_an_active_code_of_the_same_spelling_is_refused(staff, stripe_emulator):
    staff.post(reverse(ADD), form())
    response = staff.post(reverse(ADD), form(code="summer-15", token="form-token-2"))
    assert "An active code “SUMMER-15” already exists: deactivate it first." in response.context[
        "adminform"].form.errors["code"]
    assert PromotionCode.objects.count() == 1


def test_deactivating_a_code_at_stripe_from_the_list(staff, stripe_emulator):
    staff.post(reverse(ADD), form(expires_at=(timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")))
    promo = PromotionCode.objects.get()
    response = staff.post(reverse("admin:payments_discountcode_changelist"),
                          {"action": "deactivate", "_selected_action": [promo.pk]}, follow=True)
    assert "Deactivated: SUMMER-15." in messages_of(response)
    promo.refresh_from_db()
    assert promo.stripe_data["active"] is False
    assert gateway.client().v1.promotion_codes.retrieve(promo.id)["active"] is False
    # The change page is read-only and there is no delete.
    page = staff.get(reverse("admin:payments_discountcode_change", args=[promo.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert staff.get(reverse("admin:payments_discountcode_delete", args=[promo.pk])).status_code == 403
