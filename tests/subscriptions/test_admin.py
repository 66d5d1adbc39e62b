"""Staff see subscriptions in admin and cancel one through Stripe."""

import pytest
from django.core import mail

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
