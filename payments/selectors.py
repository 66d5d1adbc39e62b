"""Reads of the payments package: what is refundable on an order, its
payment, the disputes waiting for staff."""

from django.db.models import F, QuerySet, Sum

from orders.models import Order

from .models import Dispute, Payment, Refund


def refund_totals(order: Order) -> dict[str, int]:
    """Minor units: paid, succeeded, pending, refundable."""
    sums = {
        row["status"]: row["total"]
        for row in Refund.objects.filter(order=order).values("status").annotate(total=Sum("amount"))
    }
    succeeded = sums.get(Refund.Status.SUCCEEDED, 0) or 0
    pending = sums.get(Refund.Status.PENDING, 0) or 0
    return {
        "paid": order.amount_paid,
        "succeeded": succeeded,
        "pending": pending,
        "refundable": max(order.amount_paid - succeeded - pending, 0),
    }


def refundable_amount(order: Order) -> int:
    return refund_totals(order)["refundable"]


def refunded_quantities(order: Order) -> dict[int, int]:
    """Per order line id, the quantity already in succeeded or pending refunds."""
    taken: dict[int, int] = {}
    for lines in Refund.objects.filter(order=order, status__in=Refund.OPEN).values_list("lines", flat=True):
        for line in lines or []:
            taken[int(line["line_id"])] = taken.get(int(line["line_id"]), 0) + int(line["quantity"])
    return taken


def refund_state_marker(order: Order) -> str:
    """Changes whenever a refund is recorded on the order: a confirmation
    page carries it, so a second tab (or a colleague) cannot refund the same
    money on a stale view."""
    last = Refund.objects.filter(order=order).order_by("-pk").values_list("pk", flat=True).first()
    return f"{Refund.objects.filter(order=order).count()}:{last or 0}"


def succeeded_payment(order: Order) -> Payment | None:
    return (
        Payment.objects.filter(order=order, status=Payment.Status.SUCCEEDED).order_by("-created_at", "-pk").first()
    )


def disputes_needing_response() -> QuerySet[Dispute]:
    """Disputes waiting for staff's evidence, nearest deadline first."""
    return (
        Dispute.objects.filter(status__in=Dispute.NEEDS_RESPONSE)
        .select_related("order")
        .order_by(F("evidence_due_by").asc(nulls_last=True), "created_at")
    )
