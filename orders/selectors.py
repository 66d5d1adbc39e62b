"""Reads on orders."""

from django.db.models import Prefetch, QuerySet

from .models import Order, OrderLine


def order_list_for_customer(*, user) -> QuerySet[Order]:
    """The signed-in customer's orders, newest first, with their lines."""
    return (
        Order.objects.filter(customer=user)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))
        .order_by("-created_at")
    )


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
