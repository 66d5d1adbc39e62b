"""Reads of the payments package: what is refundable on an order, its
payment, the disputes waiting for staff."""

from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum

from core.db import local_period
from orders.models import Order

from .models import Dispute, Payment, Refund, WebhookEvent


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


# -- the staff dashboard's figures (aggregated by the database) ---------------------

def refund_totals_by_period(*, start: datetime, end: datetime, unit: str, tzinfo) -> list[dict]:
    """Refunds that succeeded in [start, end) per local day or month and
    currency: [{"period", "currency", "count", "amount"}] (minor units)."""
    return list(
        Refund.objects.filter(status=Refund.Status.SUCCEEDED, succeeded_at__gte=start, succeeded_at__lt=end)
        .annotate(period=local_period("succeeded_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("period", "currency")
    )


def dispute_totals_by_period(*, start: datetime, end: datetime, unit: str, tzinfo) -> dict[str, list[dict]]:
    """Disputes opened in [start, end) per period and currency (count, amount
    disputed), and disputes lost in it (count, amount the bank took back):
    {"opened": [{"period", "currency", "count", "amount"}], "lost": [...]}."""
    opened = (
        Dispute.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(period=local_period("created_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("period", "currency")
    )
    lost = (
        Dispute.objects.filter(outcome="lost", closed_at__gte=start, closed_at__lt=end)
        .annotate(period=local_period("closed_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount_lost"))
        .order_by("period", "currency")
    )
    return {"opened": list(opened), "lost": list(lost)}


def refunds_pending_since(*, before: datetime) -> QuerySet[Refund]:
    """Refunds still pending that were recorded before `before`: Stripe
    normally confirms within seconds, so these wait for a retry or a look."""
    return Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=before)


def refunds_failed_since(*, since: datetime) -> QuerySet[Refund]:
    """Refunds Stripe refused since `since`: the customer has not been paid back."""
    return Refund.objects.filter(status=Refund.Status.FAILED, failed_at__gte=since)


def events_stuck() -> QuerySet[WebhookEvent]:
    """Webhook events that failed every attempt: staff look and run them again."""
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.STUCK)


def events_to_sweep(*, now: datetime, grace: timedelta) -> QuerySet[WebhookEvent]:
    """Events a lost message could leave behind: stored but never picked up
    (`grace` after arrival), a retry past due by `grace`, or a run whose
    worker died (its lease expired)."""
    return WebhookEvent.objects.filter(
        Q(status=WebhookEvent.Status.RECEIVED, received_at__lt=now - grace)
        | Q(status=WebhookEvent.Status.FAILED, next_attempt_at__lt=now - grace)
        | Q(status=WebhookEvent.Status.PROCESSING, locked_until__lt=now)
    ).order_by("received_at")
