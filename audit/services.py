"""Writing the audit trail. Call `audit_record` inside the transaction that
makes the change, so the entry exists exactly when the change does.

    audit_record(action="refund.requested", actor=request.user, order=order,
                 target=refund, message="Refund of €16.00 requested", reason="Broken mug")
    audit_record(action="subscription.cancelled", actor=request.user, target=subscription,
                 message="Subscription cancelled by staff", reason=form.cleaned_data["reason"])

`actor` is a user, or one of the strings "system", "stripe" (or "customer"
with `actor_label` naming them, e.g. a guest's e-mail).
"""

from django.db import models

from .models import AuditEntry

SYSTEM = AuditEntry.ActorType.SYSTEM
STRIPE = AuditEntry.ActorType.STRIPE
CUSTOMER = AuditEntry.ActorType.CUSTOMER


def _actor(actor, actor_label: str) -> tuple[str, object, str]:
    if actor is None:
        return SYSTEM, None, actor_label or "system"
    if isinstance(actor, str):
        actor_type = AuditEntry.ActorType(actor)
        return actor_type, None, actor_label or actor_type.value
    if getattr(actor, "is_authenticated", False):
        actor_type = AuditEntry.ActorType.USER if actor.is_staff else CUSTOMER
        return actor_type, actor, actor_label or actor.get_username()
    return CUSTOMER, None, actor_label or "anonymous"


def audit_record(
    *,
    action: str,
    message: str,
    actor=None,
    actor_label: str = "",
    order=None,
    target: models.Model | None = None,
    reason: str = "",
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry to the audit trail and return it."""
    actor_type, user, label = _actor(actor, actor_label)
    object_type = object_id = ""
    if target is not None:
        # A proxy (e.g. the admin's view of a model) is recorded as its model.
        object_type = target._meta.concrete_model._meta.label_lower
        object_id = str(target.pk)
    if order is None and target is not None and target._meta.label_lower == "orders.order":
        order = target
    return AuditEntry.objects.create(
        actor_type=actor_type,
        actor=user,
        actor_label=label[:200],
        action=action,
        order=order,
        object_type=object_type,
        object_id=object_id,
        message=message[:500],
        reason=reason or "",
        data=data or {},
    )
