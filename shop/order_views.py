"""The order's pages: the status page the customer comes back to from Stripe
(it updates itself by polling the API's order status,
/api/v1/orders/<reference>/status/), and Stripe's cancel return."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing.selectors import document_list_for_order
from orders.models import Order
from orders.selectors import order_get_for_viewer, order_status
from payments.exceptions import GatewayError
from payments.services import checkout_cancel
from payments.tasks import reconcile_order

from .cart import Cart


def _order_or_404(request, reference) -> Order:
    order = order_get_for_viewer(reference=reference, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return order


@require_GET
@never_cache
def order_detail(request, reference):
    """The page the customer comes back to from Stripe; it refreshes itself
    (through the API's order status) until the order is paid, failed or expired."""
    order = _order_or_404(request, reference)
    if request.GET.get("session_id") and order.status == Order.Status.AWAITING_PAYMENT:
        # Back from Stripe: the webhook normally settles the order within a
        # second; ask Stripe ourselves a little later in case it was lost.
        reconcile_order.apply_async((order.pk,), countdown=10)
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "payments": order.payments.all(),
            "documents": document_list_for_order(order_id=order.pk),
            "status": order_status(order),
        },
    )


@require_GET
@never_cache
def checkout_cancelled(request, reference):
    """Stripe's cancel_url: the customer chose to go back from the payment page."""
    order = _order_or_404(request, reference)
    try:
        order = checkout_cancel(order=order)
    except GatewayError as error:
        messages.error(request, f"We could not cancel the payment: {error}")
        return redirect(order.get_absolute_url())
    if order.status != Order.Status.CANCELLED:
        return redirect(order.get_absolute_url())
    Cart(request).restore_from_order(order)
    messages.info(request, "Payment cancelled; your cart is as you left it.")
    return redirect("shop:cart")
