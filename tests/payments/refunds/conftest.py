import pytest

from tests.payments.refunds.helpers import paid_order, products


@pytest.fixture
def catalogue(db):
    return products()


@pytest.fixture
def order(stripe_emulator, stripe_webhooks, catalogue):
    """A paid order: 1 coffee (39.00 at 5.5 %) + 2 mugs (2 x 16.00 at 20 %) = 71.00."""
    coffee, mug = catalogue
    order = paid_order(stripe_emulator.url, stripe_webhooks, [(coffee, 1), (mug, 2)])
    assert order.status == "paid" and order.amount_paid == 7100
    return order
