from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries_for_order(*, order) -> QuerySet[AuditEntry]:
    """An order's trail, oldest first (how it happened)."""
    return AuditEntry.objects.filter(order=order).select_related("actor").order_by("created_at", "pk")


def audit_entries_for(*, target) -> QuerySet[AuditEntry]:
    """The trail of any object (a subscription, a refund...), oldest first."""
    return (
        AuditEntry.objects.filter(object_type=target._meta.concrete_model._meta.label_lower, object_id=str(target.pk))
        .select_related("actor")
        .order_by("created_at", "pk")
    )
