"""The subscription page: change plan (proration previewed, then applied),
cancel at period end, resume; each shown as pending until Stripe's webhook
confirms it. Someone else's subscription is a 404."""

import re

import pytest
from djstripe.models import Subscription

from billing.models import Document
from subscriptions.selectors import subscription_for_user
from tests.factories import UserFactory

from .conftest import subscribe, webhooks_held

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribed(stripe_emulator, stripe_webhooks, plans, subscriber, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    client.force_login(subscriber)
    return subscription_for_user(subscriber)


def test_change_plan_shows_the_proration_then_applies_it(stripe_emulator, stripe_webhooks, plans, subscribed,
                                                         client, api):
    url = f"/account/subscription/{subscribed.id}/change/"
    yearly = plans["coffee-club-plus-yearly"]
    page = client.get(url, {"price": yearly.id}).content.decode()
    assert "Unused time on Coffee club Plus" in page  # the proration credit
    proration_date = re.search(r'name="proration_date" value="(\d+)"', page).group(1)

    with webhooks_held(stripe_emulator.url):
        response = client.post(url, {"price": yearly.id, "proration_date": proration_date}, follow=True)
    assert "Your plan change is pending confirmation." in response.content.decode()
    stripe_webhooks()

    page = client.get("/account/subscription/").content.decode()
    assert "pending confirmation" not in page and "Coffee club Plus · Yearly" in page
    change = Document.objects.filter(kind="invoice").order_by("-pk").first()
    amounts = [line["gross"] for line in change.snapshot["lines"]]
    assert any(a < 0 for a in amounts) and 29000 in amounts  # the credit is its own negative line
    assert change.total_gross == sum(amounts)
    assert change.total_gross == api.v1.invoices.retrieve(change.stripe_invoice_id).amount_paid


def test_changing_to_the_same_plan_does_nothing(plans, subscribed, client, stripe_emulator):
    same = plans["coffee-club-plus-monthly"]
    response = client.get(f"/account/subscription/{subscribed.id}/change/", {"price": same.id}, follow=True)
    assert "already on this plan" in response.content.decode()
    response = client.post(f"/account/subscription/{subscribed.id}/change/",
                           {"price": same.id, "proration_date": "1"}, follow=True)
    assert "already on this plan" in response.content.decode()
    assert Document.objects.filter(kind="invoice").count() == 1


def test_cancel_at_period_end_then_resume(stripe_emulator, stripe_webhooks, subscribed, client):
    with webhooks_held(stripe_emulator.url):
        page = client.post(f"/account/subscription/{subscribed.id}/cancel/", follow=True).content.decode()
    assert "Your cancellation is pending confirmation." in page and "Cancels on" not in page
    stripe_webhooks()
    page = client.get("/account/subscription/").content.decode()
    assert "Cancels on" in page and "Resume subscription" in page
    assert Subscription.objects.get(id=subscribed.id).cancel_at_period_end is True

    with webhooks_held(stripe_emulator.url):
        page = client.post(f"/account/subscription/{subscribed.id}/resume/", follow=True).content.decode()
    assert "pending confirmation" in page
    stripe_webhooks()
    page = client.get("/account/subscription/").content.decode()
    assert "Cancels on" not in page and "Next renewal" in page
    assert Subscription.objects.get(id=subscribed.id).cancel_at_period_end is False


def test_someone_elses_subscription_is_a_404(subscribed, client, stripe_emulator):
    other = UserFactory(username="mallory@example.com", email="mallory@example.com")
    client.force_login(other)
    for action in ("cancel", "resume", "card"):
        assert client.post(f"/account/subscription/{subscribed.id}/{action}/").status_code == 404
    assert client.get(f"/account/subscription/{subscribed.id}/change/", {"price": "x"}).status_code == 404
    assert Subscription.objects.get(id=subscribed.id).cancel_at_period_end is False
