"""The audit trail: who did what to money and orders, when, and why.

An entry is written once, in the same transaction as the change it records,
and never changed or deleted: `save()` refuses updates, `delete()` and the
queryset's `update()`/`delete()` refuse too, and admin shows entries read-only.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .exceptions import AuditImmutable


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("audit entries cannot be changed")

    update.queryset_only = True

    def delete(self):
        raise AuditImmutable("audit entries cannot be deleted")

    delete.queryset_only = True

    def for_order(self, order):
        return self.filter(order=order)


class AuditEntry(models.Model):
    class ActorType(models.TextChoices):
        USER = "user", "Staff user"
        CUSTOMER = "customer", "Customer"
        SYSTEM = "system", "System"
        STRIPE = "stripe", "Stripe"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    # The user, if any; `actor_label` keeps who it was even if the user is deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    # What happened, as a dotted code: "order.paid", "refund.requested", ...
    action = models.CharField(max_length=64, db_index=True)
    # What it happened to: an order (most entries) and/or any object by label.
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # For people: what happened and why.
    message = models.CharField(max_length=500)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label}: {self.message}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutable("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("audit entries cannot be deleted")
