"""Accounting test helpers: users of each role and documents issued on given
dates through billing's real issuing services."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from billing.models import ExchangeRate
from billing.services import credit_note_issue, invoice_issue, receipt_issue
from billing.tax import LineInput
from core.types import Buyer
from tests.factories import UserFactory

FRENCH_CONSUMER = dict(name="Ada Lovelace", email="ada@example.com", address_line1="1 Analytical Street",
                       postal_code="75001", city="Paris", country="FR")
GERMAN_BUSINESS = dict(name="Max Muster", company="Muster GmbH", email="einkauf@muster.example",
                       address_line1="Hauptstrasse 1", postal_code="10115", city="Berlin", country="DE",
                       vat_id="DE136695976")
US_CONSUMER = dict(name="Grace Hopper", email="grace@example.com", address_line1="1 Navy Way",
                   postal_code="10001", city="New York", country="US")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://shop.example.com"


def at(day, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=dt_timezone.utc)


def issue_invoice(*, day, buyer=FRENCH_CONSUMER, lines=None, currency="eur", receipt=True):
    """An invoice (and its receipt) issued on `day` through the services."""
    lines = lines or [
        LineInput(name="Stoneware mug", quantity=2, unit_amount=1600, vat_rate=Decimal("20")),
        LineInput(name="Colombia Huila 1 kg", quantity=1, unit_amount=3900, vat_rate=Decimal("5.5")),
    ]
    if buyer.get("vat_id") and buyer["country"] != "FR":
        # A business of another member state whose id VIES verified, buying
        # services: reverse charged (the checkout decides; billing.tax.vat_treatment).
        lines = [LineInput(name=line.name, quantity=line.quantity, unit_amount=line.unit_amount,
                           vat_rate=Decimal("0"), vat_category="AE") for line in lines]
    if currency != "eur":
        # The ECB rate of the day before, as the periodic job stores it.
        ExchangeRate.objects.get_or_create(currency=currency, date=day - timedelta(days=1),
                                           defaults={"rate": Decimal("1.0812")})
    invoice = invoice_issue(
        buyer=Buyer(**buyer), lines=lines, currency=currency, issued_at=at(day), paid_at=at(day),
        payment_reference="Card Visa •••• 4242, Stripe pi_test",
    )
    if receipt:
        receipt_issue(invoice=invoice, issued_at=at(day, 13), paid_at=at(day))
    return invoice


def issue_credit_note(*, invoice, day, amount):
    return credit_note_issue(invoice_id=invoice.pk, amount=amount, reason="Damaged", issued_at=at(day, 15),
                             refund_reference="Stripe re_test")


@pytest.fixture
def accountant(db):
    user = UserFactory(username="accountant", email="accountant@example.com")
    user.groups.add(Group.objects.get_or_create(name="Accountants")[0])
    return user


@pytest.fixture
def customer(db):
    return UserFactory(username="customer@example.com")


@pytest.fixture
def support(db):
    user = UserFactory(username="support", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Support")[0])
    return user
