"""The audit trail: written by the services, never changed, read-only in admin."""

import pytest
from django.urls import reverse

from audit.exceptions import AuditImmutable
from audit.models import AuditEntry
from audit.services import audit_record
from orders.services import BillingDetails, CartItem, order_cancel, order_expire, order_place
from tests.factories import OrderFactory, ProductFactory, UserFactory

BILLING = BillingDetails(name="Ada", line1="1 rue", postal_code="75001", city="Paris", country="FR")


@pytest.mark.django_db
def test_order_state_changes_are_recorded_with_who():
    customer = UserFactory(username="ada@example.com")
    product = ProductFactory(stock=5)
    order = order_place(items=[CartItem(product.pk, 1)], email="ada@example.com", billing=BILLING, customer=customer)
    order_cancel(order_id=order.pk, reason="Payment cancelled by the customer.")
    other = order_place(items=[CartItem(product.pk, 1)], email="guest@example.com", billing=BILLING)
    order_expire(order_id=other.pk)

    placed, cancelled = AuditEntry.objects.filter(order=order).order_by("pk")
    assert (placed.action, placed.actor, placed.actor_type) == ("order.placed", customer, "customer")
    assert (cancelled.action, cancelled.actor_label, cancelled.reason) == (
        "order.cancelled", "system", "Payment cancelled by the customer.")
    guest_placed, expired = AuditEntry.objects.filter(order=other).order_by("pk")
    assert guest_placed.actor is None and guest_placed.actor_label == "guest@example.com"
    assert expired.action == "order.expired" and expired.actor_type == "system"


@pytest.mark.django_db
def test_entries_can_never_change_or_disappear():
    staff = UserFactory(username="boss", is_staff=True)
    entry = audit_record(action="subscription.cancelled", actor=staff, message="Subscription cancelled by staff",
                         reason="Customer asked by phone")
    assert (entry.actor_type, entry.actor_label) == ("user", "boss")
    entry.message = "nothing happened"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(message="x")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == "Subscription cancelled by staff"


@pytest.mark.django_db
def test_admin_shows_the_trail_read_only(admin_client):
    order = OrderFactory()
    audit_record(action="order.paid", actor="stripe", order=order, message="Paid: €12.50")
    entry = AuditEntry.objects.get()
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Audit trail" in page and "Paid: €12.50" in page
    assert admin_client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
    change = admin_client.get(reverse("admin:audit_auditentry_change", args=[entry.pk])).content.decode()
    assert 'name="message"' not in change  # read-only, even for a superuser
    assert admin_client.post(reverse("admin:audit_auditentry_change", args=[entry.pk]),
                             {"message": "x"}).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditentry_delete", args=[entry.pk])).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
