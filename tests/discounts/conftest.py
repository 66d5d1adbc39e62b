"""Discount codes made the way staff make them (payments.discount_codes, at
the emulator, mirrored by dj-stripe), and the cart's products."""

from datetime import datetime
from decimal import Decimal

import pytest

from payments.discount_codes import DiscountCodeSpec, discount_code_create
from tests.factories import ProductFactory, TaxRateFactory


@pytest.fixture
def make_code(stripe_emulator, db):
    made = []

    def make(code="SPRING10", *, percent_off=None, amount_off=None, currency="eur", duration="once",
             duration_in_months=None, max_redemptions=None, expires_at: datetime | None = None,
             first_order_only=False, minimum_amount=None):
        if percent_off is None and amount_off is None:
            percent_off = "10"
        spec = DiscountCodeSpec(
            code=code, name="", percent_off=Decimal(percent_off) if percent_off is not None else None,
            amount_off=amount_off, currency=currency, duration=duration, duration_in_months=duration_in_months,
            max_redemptions=max_redemptions, expires_at=expires_at, first_order_only=first_order_only,
            minimum_amount=minimum_amount,
        )
        promo = discount_code_create(spec=spec, idempotency_key=f"test-{code}-{len(made)}")
        made.append(promo)
        return promo

    return make


@pytest.fixture
def mug(db):
    return ProductFactory(name="Stoneware mug", slug="mug", sku="MUG-1", unit_amount=1600, stock=5,
                          tax_rate=TaxRateFactory(name="Standard rate", rate="20.00"))


@pytest.fixture
def coffee(db):
    return ProductFactory(name="Coffee beans", slug="coffee", sku="COF-1", unit_amount=1290, stock=40,
                          tax_rate=TaxRateFactory(name="Reduced rate", rate="5.50"))


# Subscriptions: the plans synced at the emulator, a subscriber, an SDK client.
from tests.subscriptions.conftest import api, plans, subscriber  # noqa: E402, F401
