"""Staff see subscriptions in admin and cancel one through Stripe."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subscriptions.models import SubscriptionNotice
from subscriptions.selectors import subscription_for_user
from tests.factories import UserFactory

from .conftest import subscribe, webhooks_held

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_list_and_cancel_a_subscription(stripe_emulator, stripe_webhooks, plans, subscriber, client):
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    subscription = subscription_for_user(subscriber)
    admin = UserFactory(username="boss", email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)

    page = client.get("/admin/subscriptions/shopsubscription/").content.decode()
    assert subscription.id in page and "ada@example.com" in page and "Coffee club Plus · Monthly" in page
    assert "&lt;id=" not in page and "<id=" not in page  # a readable title, not the mirror's repr
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", page)  # dates as dates, not ISO timestamps
    detail = client.get(f"/admin/subscriptions/shopsubscription/{subscription.pk}/change/").content.decode()
    assert f"ada@example.com · {subscription.id}" in detail

    mail.outbox.clear()
    with webhooks_held(stripe_emulator.url):
        response = client.post("/admin/subscriptions/shopsubscription/",
                               {"action": "cancel_now", "_selected_action": [subscription.pk]}, follow=True)
    assert "cancelled at Stripe" in response.content.decode()
    stripe_webhooks()

    assert subscription_for_user(subscriber).status == "canceled"
    assert SubscriptionNotice.objects.get().kind == "ended"
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    from django.apps import apps

    if apps.is_installed("audit"):
        from audit.models import AuditEntry

        entry = AuditEntry.objects.get(action="subscription.cancelled")
        assert entry.actor == admin and subscription.id in entry.message


def test_support_staff_without_the_permission_cannot_cancel(stripe_emulator, stripe_webhooks, plans, subscriber,
                                                            client):
    from django.contrib.auth.models import Permission

    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    subscription = subscription_for_user(subscriber)
    support = UserFactory(username="support", email="support@example.com", is_staff=True)
    support.user_permissions.add(Permission.objects.get(codename="view_shopsubscription"))
    client.force_login(support)

    response = client.post("/admin/subscriptions/shopsubscription/",
                           {"action": "cancel_now", "_selected_action": [subscription.pk]}, follow=True)
    assert response.status_code == 200
    stripe_webhooks()
    assert subscription_for_user(subscriber).status == "active"


def test_the_list_costs_the_same_queries_for_one_subscription_or_several(stripe_emulator, stripe_webhooks, plans,
                                                                           subscriber, client):
    admin = UserFactory(username="boss", email="boss@example.com", is_staff=True, is_superuser=True)
    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    client.force_login(admin)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/admin/subscriptions/shopsubscription/").status_code == 200
    for n in range(2):
        other = UserFactory(username=f"sub{n}@example.com", email=f"sub{n}@example.com")
        subscribe(stripe_emulator.url, stripe_webhooks, other, plans["coffee-club-monthly"])
    with CaptureQueriesContext(connection) as three:
        page = client.get("/admin/subscriptions/shopsubscription/").content.decode()
    assert page.count("Coffee club · Monthly") == 2
    assert len(three) == len(one)


def test_staff_cancel_at_period_end_is_audited(stripe_emulator, stripe_webhooks, plans, subscriber, client):
    from audit.models import AuditEntry

    subscribe(stripe_emulator.url, stripe_webhooks, subscriber, plans["coffee-club-plus-monthly"])
    subscription = subscription_for_user(subscriber)
    admin = UserFactory(username="boss", email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    with webhooks_held(stripe_emulator.url):
        response = client.post("/admin/subscriptions/shopsubscription/",
                               {"action": "cancel_at_period_end", "_selected_action": [subscription.pk]}, follow=True)
    assert "set to cancel at period end at Stripe" in response.content.decode()
    stripe_webhooks()
    assert subscription_for_user(subscriber).cancel_at_period_end is True
    entry = AuditEntry.objects.get(action="subscription.cancel_at_period_end")
    assert entry.actor == admin and entry.reason == "admin action"
    detail = client.get(f"/admin/subscriptions/shopsubscription/{subscription.pk}/change/").content.decode()
    assert "cancellation at the end of the period" in detail  # the trail on the subscription's page
