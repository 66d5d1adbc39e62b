"""Plans, sign-up through Checkout, the first invoice, and what is refused."""

import pytest
from django.core import mail
from django.core.management import call_command
from djstripe.models import Price, Subscription

from billing.models import Document
from subscriptions.exceptions import AlreadySubscribed
from subscriptions.selectors import plan_list, subscription_for_user
from subscriptions.signup import subscription_checkout_start

from .conftest import billing_in, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_plans_are_created_once_and_listed_with_their_trial(plans, client):
    call_command("stripe_sync_plans", verbosity=0)  # again: nothing new
    assert sorted(plans) == ["coffee-club-monthly", "coffee-club-plus-monthly", "coffee-club-plus-yearly",
                             "coffee-club-yearly"]
    assert Price.objects.count() == 4
    [club, plus] = plan_list()
    assert (club.name, club.trial_days, [(p.interval, p.amount) for p in club.prices]) == (
        "Coffee club", 14, [("month", 1900), ("year", 19000)])
    assert (plus.name, plus.trial_days, [p.amount for p in plus.prices]) == ("Coffee club Plus", None, [2900, 29000])

    page = client.get("/plans/").content.decode()
    assert "Coffee club Plus" in page and "€19.00" in page and "€290.00" in page and "14-day free trial" in page


def test_subscribing_needs_a_login(plans, client):
    response = client.post("/plans/subscribe/", {"price": plans["coffee-club-monthly"].id})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sign_up_mirrors_the_subscription_and_issues_the_first_invoice(stripe_emulator, stripe_webhooks, plans,
                                                                       subscriber, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])

    subscription = subscription_for_user(subscriber)
    assert subscription.status == "active" and subscription.customer.subscriber == subscriber
    assert subscription.customer.stripe_data["test_clock"]  # its own clock, for renewals
    invoice = Document.objects.get(kind="invoice", customer=subscriber)
    assert invoice.stripe_invoice_id == subscription.stripe_data["latest_invoice"]
    assert invoice.total_gross == 2900 and invoice.total_tax == 483  # 20 % VAT included
    assert invoice.number.startswith("INV-") and "Card Visa •••• 4242" in invoice.payment_reference
    assert Document.objects.filter(kind="receipt", related_document=invoice).count() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]

    client.force_login(subscriber)
    page = client.get("/account/subscription/").content.decode()
    assert "Coffee club Plus" in page and "Active" in page and "4242" in page and invoice.number in page
    assert "/account/subscription/" in client.get("/account/").content.decode()


def test_a_free_trial_starts_without_a_document(stripe_emulator, stripe_webhooks, plans, subscriber, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-monthly"])

    subscription = subscription_for_user(subscriber)
    assert subscription.status == "trialing"
    assert not Document.objects.exists()  # a €0 invoice: nothing sold yet
    client.force_login(subscriber)
    page = client.get("/account/subscription/").content.decode()
    assert "Free trial" in page and "Free trial until" in page


def test_subscribing_twice_is_refused_with_a_clear_message(stripe_emulator, stripe_webhooks, plans, subscriber,
                                                           client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])

    with pytest.raises(AlreadySubscribed, match="already subscribe to Coffee club Plus"):
        subscription_checkout_start(user=subscriber, price_id=plans["coffee-club-plus-yearly"].id,
                                    billing=billing_in())
    client.force_login(subscriber)
    response = client.post("/plans/subscribe/", {"price": plans["coffee-club-plus-monthly"].id}, follow=True)
    assert "You already subscribe to Coffee club Plus." in response.content.decode()
    response = client.post("/plans/subscribe/", {"price": plans["coffee-club-monthly"].id}, follow=True)
    assert "Change plan" in response.content.decode()
    assert Subscription.objects.count() == 1


def test_events_out_of_order_end_in_the_right_state(stripe_emulator, stripe_webhooks, plans, subscriber):
    from tests.conftest import emulator_control

    # Every event of the sign-up delivered in reverse: invoice.paid before
    # the subscription's creation, subscription.updated before .created, ...
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"],
              fault={"action": "reorder", "count": 12})
    emulator_control(stripe_emulator.url, "webhooks/faults", method="DELETE")
    stripe_webhooks()
    types = [d["event_type"] for d in emulator_control(stripe_emulator.url, "deliveries", method="GET")["data"]]
    assert types.index("invoice.paid") < types.index("customer.subscription.created")
    assert types.index("customer.subscription.updated") < types.index("customer.subscription.created")

    subscription = subscription_for_user(subscriber)
    assert subscription.status == "active"
    assert Document.objects.filter(kind="invoice", customer=subscriber).count() == 1


def test_a_duplicated_invoice_paid_issues_one_invoice(stripe_emulator, stripe_webhooks, plans, subscriber):
    from tests.conftest import emulator_control

    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"],
              fault={"action": "duplicate", "count": 40})

    deliveries = emulator_control(stripe_emulator.url, "deliveries?event_type=invoice.paid", method="GET")["data"]
    assert len([d for d in deliveries if d.get("status_code") == 200]) >= 2
    assert Document.objects.filter(kind="invoice").count() == 1
    assert Document.objects.filter(kind="receipt").count() == 1
    assert len(mail.outbox) == 1
