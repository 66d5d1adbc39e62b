"""Subscriptions against the emulator over HTTP, with the live shop as the
webhook endpoint (tests/conftest.py): plans synced, a signed-in subscriber."""

import contextlib
import time

import pytest
import stripe
from django.core.management import call_command

from tests.conftest import EMULATOR_KEY, emulator_control
from tests.factories import UserFactory
from tests.payments.helpers import pay_session, session_id_of
from tests.vies_server import REGISTERED

DAY = 86400
# A VAT id the local VIES knows as registered (the `vies` fixture).


@contextlib.contextmanager
def webhooks_held(emulator_url, ms=1500):
    """Hold the webhook deliveries of what the test thread does for a moment.

    The suite's SQLite test database lives in memory with a shared cache,
    where a write meeting another thread's write fails at once ("table is
    locked") instead of waiting as PostgreSQL or a SQLite file do. A test that
    writes (a service mirroring what it created, a session saved) while the
    live server handles the webhook of that same action would fail for that
    reason alone; holding the deliveries keeps the two apart.
    """
    emulator_control(emulator_url, "webhooks/faults", {"action": "delay", "count": 1000, "delay_ms": ms})
    try:
        yield
    finally:
        emulator_control(emulator_url, "webhooks/faults", method="DELETE")


@pytest.fixture
def plans(stripe_emulator, stripe_webhooks, settings):
    settings.BILLING_DUNNING_RETRY_DAYS = [3, 5, 7]
    with webhooks_held(stripe_emulator.url):
        call_command("stripe_sync_plans", verbosity=0)
    stripe_webhooks()
    from djstripe.models import Price

    return {p.lookup_key: p for p in Price.objects.all()}


@pytest.fixture
def api(stripe_emulator):
    return stripe.StripeClient(EMULATOR_KEY, base_addresses={"api": stripe_emulator.url})


@pytest.fixture
def subscriber(db):
    return UserFactory(username="ada@example.com", email="ada@example.com", first_name="Ada", last_name="Lovelace")


def billing_in(country="FR", **changes):
    """A buyer's billing details (orders.services.BillingDetails) in `country`."""
    from orders.services import BillingDetails

    addresses = {
        "FR": ("3 place du Marché", "69002", "Lyon"),
        "DE": ("Hauptstrasse 1", "10115", "Berlin"),
        "US": ("1 Navy Way", "10001", "New York"),
    }
    line1, postal_code, city = addresses[country]
    return BillingDetails(**{"name": "Ada Lovelace", "line1": line1, "postal_code": postal_code, "city": city,
                             "country": country, **changes})


def subscribe(emulator_url, wait, user, price, card="4242424242424242", fault=None, billing=None):
    """Sign up through Checkout as the customer does, and wait for the webhooks.
    `fault`: a webhook fault (emulator control payload) for the payment's events.
    `billing`: the billing details given on the subscribe page (a French consumer)."""
    from subscriptions.signup import subscription_checkout_start

    with webhooks_held(emulator_url):
        url = subscription_checkout_start(user=user, price_id=price.id, billing=billing or billing_in())
    wait()
    if fault:
        emulator_control(emulator_url, "webhooks/faults", fault)
    pay_session(emulator_url, session_id_of(url), card)
    wait()
    return url


def setup_card(emulator_url, wait, user, card):
    """Replace the card through Checkout in setup mode."""
    from subscriptions.cards import card_replace_start
    from subscriptions.selectors import subscription_for_user

    with webhooks_held(emulator_url):
        url = card_replace_start(subscription=subscription_for_user(user))
    pay_session(emulator_url, session_id_of(url), card)
    wait()


def clock_of(user):
    from subscriptions.selectors import customer_for_user

    return customer_for_user(user).stripe_data["test_clock"]


def advance(api, clock_id, to, wait, timeout=60):
    api.v1.test_helpers.test_clocks.advance(clock_id, params={"frozen_time": int(to)})
    deadline = time.monotonic() + timeout
    while api.v1.test_helpers.test_clocks.retrieve(clock_id).status != "ready":
        assert time.monotonic() < deadline, "test clock did not finish advancing"
        time.sleep(0.05)
    wait(30)


def period_end(subscription) -> int:
    return subscription.stripe_data["items"]["data"][0]["current_period_end"]


__all__ = ["webhooks_held", "DAY", "REGISTERED",
           "advance", "billing_in", "clock_of", "emulator_control", "period_end", "setup_card", "subscribe"]
