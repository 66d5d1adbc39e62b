"""Renewals on the customer's test clock, and dunning: a card failing
off-session (0341) makes the renewal fail, the customer is e-mailed once per
attempt, Stripe retries on the configured schedule and then cancels; a new card
brings an overdue subscription back."""

import pytest
from django.core import mail

from billing.models import Document
from subscriptions.models import SubscriptionNotice
from subscriptions.selectors import subscription_for_user

from .conftest import DAY, advance, clock_of, period_end, setup_card, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_renewal_issues_an_invoice_numbered_with_the_shop_orders(stripe_emulator, stripe_webhooks, plans,
                                                                  subscriber, api):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    first = Document.objects.get(kind="invoice")
    end = period_end(subscription_for_user(subscriber))

    advance(api, clock_of(subscriber), end + 3600, stripe_webhooks)

    renewal = Document.objects.filter(kind="invoice").exclude(pk=first.pk).get()
    assert renewal.sequence == first.sequence + 1 and renewal.total_gross == 2900
    assert "renewal" in " ".join(renewal.snapshot["legal_mentions"])
    assert renewal.has_pdf and renewal.emailed_at is not None
    assert subscription_for_user(subscriber).status == "active"


def test_failed_renewals_email_retry_then_cancel(stripe_emulator, stripe_webhooks, plans, subscriber, api):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"],
              card="4000000000000341")  # pays on the page, fails off-session
    end = period_end(subscription_for_user(subscriber))
    clock = clock_of(subscriber)
    mail.outbox.clear()

    advance(api, clock, end + 60, stripe_webhooks)
    assert subscription_for_user(subscriber).status == "past_due"
    [notice] = SubscriptionNotice.objects.all()
    assert (notice.kind, notice.attempt, notice.sent_at is not None) == ("payment_failed", 1, True)
    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and "/account/subscription/" in message.body
    assert "try again" in message.body

    advance(api, clock, end + 3 * DAY + 60, stripe_webhooks)
    advance(api, clock, end + 8 * DAY + 60, stripe_webhooks)
    assert subscription_for_user(subscriber).status == "past_due"
    advance(api, clock, end + 15 * DAY + 60, stripe_webhooks)

    subscription = subscription_for_user(subscriber)
    assert subscription.status == "canceled"
    kinds = sorted(SubscriptionNotice.objects.values_list("kind", "attempt"))
    assert kinds == [("ended", 0), ("payment_failed", 1), ("payment_failed", 2), ("payment_failed", 3),
                     ("payment_failed", 4)]
    assert len(mail.outbox) == 5  # one per attempt, and the end
    # The last failure and the end arrive as two events, processed in either order.
    last_two = mail.outbox[-2:]
    assert any("last attempt" in m.body for m in last_two) and any("has ended" in m.subject for m in last_two)
    assert Document.objects.filter(kind="invoice").count() == 1  # nothing more was paid


def test_a_new_card_pays_the_overdue_invoice_and_the_subscription_is_back(stripe_emulator, stripe_webhooks, plans,
                                                                         subscriber, api, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    setup_card(stripe_emulator.url, stripe_webhooks, subscriber, "4000000000000341")
    end = period_end(subscription_for_user(subscriber))
    advance(api, clock_of(subscriber), end + 60, stripe_webhooks)
    assert subscription_for_user(subscriber).status == "past_due"

    setup_card(stripe_emulator.url, stripe_webhooks, subscriber, "4242424242424242")

    subscription = subscription_for_user(subscriber)
    assert subscription.status == "active"
    assert Document.objects.filter(kind="invoice").count() == 2  # the overdue renewal, now paid
    client.force_login(subscriber)
    page = client.get("/account/subscription/").content.decode()
    assert "Active" in page and "•••• 4242" in page
