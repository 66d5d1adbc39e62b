"""The subscription page: change plan (proration previewed, then applied),
cancel at period end, resume; each shown as pending until Stripe's webhook
confirms it. Someone else's subscription is a 404."""

import re

import pytest
from djstripe.models import Subscription

from audit.models import AuditEntry
from billing.models import Document
from subscriptions.selectors import subscription_for_user
from tests.factories import UserFactory

from .conftest import advance, clock_of, period_end, subscribe, webhooks_held

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
    # The subscription page links to a confirmation saying until when the plan is kept.
    page = client.get("/account/subscription/").content.decode()
    assert f'href="/account/subscription/{subscribed.id}/cancel/"' in page
    confirmation = client.get(f"/account/subscription/{subscribed.id}/cancel/").content.decode()
    assert "stays active until" in confirmation and "Yes, cancel at the end of the period" in confirmation
    assert Subscription.objects.get(id=subscribed.id).cancel_at_period_end is False  # a GET changes nothing

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
    # Both asks are in the audit trail, by the customer.
    trail = AuditEntry.objects.filter(object_id=str(subscribed.pk)).order_by("pk")
    assert [(e.action, e.actor_label) for e in trail] == [
        ("subscription.cancel_at_period_end", "ada@example.com"), ("subscription.resumed", "ada@example.com")]


def test_someone_elses_subscription_is_a_404(subscribed, client, stripe_emulator):
    other = UserFactory(username="mallory@example.com", email="mallory@example.com")
    client.force_login(other)
    for action in ("cancel", "resume", "card"):
        assert client.post(f"/account/subscription/{subscribed.id}/{action}/").status_code == 404
    assert client.get(f"/account/subscription/{subscribed.id}/change/", {"price": "x"}).status_code == 404
    assert Subscription.objects.get(id=subscribed.id).cancel_at_period_end is False


def test_a_plan_change_during_the_free_trial_charges_nothing_now(stripe_emulator, stripe_webhooks, plans,
                                                                   subscriber, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-monthly"])  # 14-day trial
    subscription = subscription_for_user(subscriber)
    assert subscription.status == "trialing"
    client.force_login(subscriber)
    page = client.get(f"/account/subscription/{subscription.id}/change/",
                      {"price": plans["coffee-club-plus-monthly"].id}).content.decode()
    assert "Nothing is charged now: your free trial goes on" in page
    assert "Charged now" not in page and "€29.00" in page  # the new price, from the trial's end


def test_a_downgrade_says_what_credit_the_customer_keeps(stripe_emulator, stripe_webhooks, plans, subscribed,
                                                        client):
    page = client.get(f"/account/subscription/{subscribed.id}/change/",
                      {"price": plans["coffee-club-monthly"].id}).content.decode()
    credit = re.search(r'data-role="credit-kept">You keep a credit of <strong>€([\d.]+)</strong>', page)
    assert credit and 0 < float(credit.group(1)) <= 10.00  # 29 - 19 for (at most) the whole month
    assert "Nothing to pay now." in page


def test_an_overdue_renewal_shows_what_is_due_and_is_paid_from_the_page(stripe_emulator, stripe_webhooks, plans,
                                                                       subscriber, api, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"],
              card="4000000000000341")  # pays on the page, fails off-session
    subscription = subscription_for_user(subscriber)
    advance(api, clock_of(subscriber), period_end(subscription) + 60, stripe_webhooks)
    client.force_login(subscriber)
    page = client.get("/account/subscription/").content.decode()
    assert "Payment overdue" in page and "Next renewal" not in page
    assert 'data-role="amount-due">€29.00' in page and "Pay €29.00 now" in page

    # The card on file is declined again: the customer is told, nothing changes.
    page = client.post(f"/account/subscription/{subscription.id}/pay/", follow=True).content.decode()
    assert "declined again" in page
    stripe_webhooks()
    assert subscription_for_user(subscriber).status == "past_due"

    # The bank now accepts the card on file (a working card of the customer's).
    card = api.v1.payment_methods.attach("pm_card_visa", {"customer": subscription.customer.id})
    api.v1.subscriptions.update(subscription.id, {"default_payment_method": card.id})
    stripe_webhooks()
    with webhooks_held(stripe_emulator.url):
        page = client.post(f"/account/subscription/{subscription.id}/pay/", follow=True).content.decode()
    assert "Payment received" in page
    stripe_webhooks()
    assert subscription_for_user(subscriber).status == "active"
    assert Document.objects.filter(kind="invoice").count() == 2  # the renewal, paid and invoiced
    assert AuditEntry.objects.filter(action="subscription.overdue_paid").count() == 1
