"""Reads on orders."""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum

from billing.models import Document
from core.db import local_period

from .documents import PAID_STATUSES
from .models import Order


def order_list_for_customer(*, user) -> QuerySet[Order]:
    """The signed-in customer's orders, newest first (the caller pages and
    prefetches what it shows)."""
    return Order.objects.filter(customer=user).order_by("-created_at", "-pk")


def order_last_billing_for_customer(*, user) -> dict:
    """The billing details of the customer's latest order, to prefill the next
    checkout ({} for a first order)."""
    if user is None or not user.is_authenticated:
        return {}
    fields = ("billing_name", "billing_company", "billing_line1", "billing_postal_code", "billing_city",
              "billing_country", "vat_id")
    return Order.objects.filter(customer=user).order_by("-created_at", "-pk").values(*fields).first() or {}


def order_get_for_viewer(*, reference, user) -> Order | None:
    """The order behind a status-page link, or None when this viewer may not see it.

    A guest order is reached by its unguessable reference (the link in the
    confirmation e-mail); an order placed while signed in is shown only to
    that customer and to staff.
    """
    order = Order.objects.filter(reference=reference).first()
    if order is None:
        return None
    if order.customer_id is None:
        return order
    if user.is_authenticated and (user.pk == order.customer_id or user.is_staff):
        return order
    return None


# "ORD-000123", "ord 123", "#123" or "123": the number the pages and e-mails show.
_ORDER_NUMBER_RE = re.compile(r"^\s*#?\s*(?:ORD[-\s]*)?0*(\d{1,12})\s*$", re.IGNORECASE)
# Orders listed in a "find my order" e-mail when no reference is given.
ORDER_FIND_MAX = 10


def order_find_for_email(*, email: str, reference: str = "") -> list[Order]:
    """The orders placed with `email` (any letter case) that match `reference`
    (an order number as shown, "ORD-000123", or the reference of its link),
    or, with no reference, the latest few. Only ever e-mailed to `email`."""
    orders = Order.objects.filter(email__iexact=email.strip()).order_by("-created_at", "-pk")
    reference = (reference or "").strip()
    if not reference:
        return list(orders[:ORDER_FIND_MAX])
    match = _ORDER_NUMBER_RE.match(reference)
    if match:
        return list(orders.filter(pk=int(match.group(1))))
    try:
        return list(orders.filter(reference=uuid.UUID(reference)))
    except ValueError:
        return []


def order_get_by_reference(*, reference) -> Order | None:
    """The order behind a link whose access was checked otherwise (a signed
    link, core.signed_links), or None."""
    return Order.objects.filter(reference=reference).first()


def order_list_for_viewer(*, user) -> QuerySet[Order]:
    """The orders a signed-in viewer may read, as the order page decides
    (order_get_for_viewer): every order for active staff, else their own.
    Guest orders are reached by their reference only, never listed."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Order.objects.none()
    if user.is_staff:
        return Order.objects.all()
    return Order.objects.filter(customer=user)


@dataclass(frozen=True)
class OrderStatus:
    """What the order page shows while it waits, and polls for."""

    number: str
    status: str
    status_display: str
    final: bool
    documents_ready: bool
    # Nothing more will change on the page: it stops polling.
    done: bool
    payment_error: str


def order_status(order: Order) -> OrderStatus:
    documents_ready = (
        order.status != Order.Status.AWAITING_PAYMENT and Document.objects.filter(order_id=order.pk).exists()
    )
    return OrderStatus(
        number=order.number,
        status=order.status,
        status_display=order.get_status_display(),
        final=order.is_final,
        documents_ready=documents_ready,
        done=order.is_final and (order.status != Order.Status.PAID or documents_ready),
        payment_error=order.payment_error,
    )


# -- the staff dashboard's figures (aggregated by the database) ---------------------

def order_sales_by_period(*, start: datetime, end: datetime, unit: str, tzinfo) -> list[dict]:
    """Orders paid in [start, end) per local day or month and currency:
    [{"period": date, "currency", "count", "amount"}] (amount: minor units
    received, VAT included, before refunds)."""
    return list(
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .annotate(period=local_period("paid_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount_paid"))
        .order_by("period", "currency")
    )


def order_counts_by_period(*, start: datetime, end: datetime, unit: str, tzinfo) -> list[dict]:
    """Orders placed in [start, end) per local day or month, and how many of
    them are paid (or were, before a refund): [{"period", "placed", "paid"}]."""
    return list(
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(period=local_period("created_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period")
        .annotate(placed=Count("pk"), paid=Count("pk", filter=Q(paid_at__isnull=False)))
        .order_by("period")
    )


def orders_awaiting_payment_past_expiry(*, now: datetime) -> QuerySet[Order]:
    """Orders still awaiting payment after their reservation ended: the
    reconciliation job settles them every few minutes, so any that stay here
    need a look (Stripe unreachable, a session that cannot be expired)."""
    return Order.objects.filter(status=Order.Status.AWAITING_PAYMENT, expires_at__lt=now)


def orders_paid_without_documents(*, paid_before: datetime) -> QuerySet[Order]:
    """Paid orders (refunded since or not) missing their invoice or receipt,
    paid before `paid_before`: the "issue documents" task was lost (a worker
    killed mid-task, a message dropped)."""
    complete = Order.objects.filter(
        documents__kind__in=(Document.Kind.INVOICE, Document.Kind.RECEIPT)
    ).annotate(kinds=Count("documents__kind", distinct=True)).filter(kinds=2).values("pk")
    # An order that cost nothing (100 % discount) gets no receipt: its invoice completes it.
    free = Order.objects.filter(total=0, documents__kind=Document.Kind.INVOICE).values("pk")
    return (
        Order.objects.filter(status__in=PAID_STATUSES, paid_at__lt=paid_before)
        .exclude(pk__in=complete)
        .exclude(pk__in=free)
        .order_by("paid_at")
    )
