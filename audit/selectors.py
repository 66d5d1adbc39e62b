from django.db.models import QuerySet

from .models import AuditEntry


def audit_entries_for_order(*, order) -> QuerySet[AuditEntry]:
    """An order's trail, oldest first (how it happened)."""
    return AuditEntry.objects.filter(order=order).select_related("actor").order_by("created_at", "pk")
