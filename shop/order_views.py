"""The order's pages: the status page the customer comes back to from Stripe
(it updates itself through a JSON status), and Stripe's cancel return."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing.selectors import document_list_for_order
from orders.models import Order
from orders.selectors import order_get_for_viewer
from payments.exceptions import GatewayError
from payments.services import checkout_cancel
from payments.tasks import reconcile_order

from .cart import Cart


def _order_or_404(request, reference) -> Order:
    order = order_get_for_viewer(reference=reference, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return order


def _status_payload(order: Order) -> dict:
    documents_ready = (
        order.status != Order.Status.AWAITING_PAYMENT and document_list_for_order(order_id=order.pk).exists()
    )
    return {
        "number": order.number,
        "status": order.status,
        "status_display": order.get_status_display(),
        "final": order.is_final,
        "documents_ready": documents_ready,
        # Nothing more will change on the page: stop polling.
        "done": order.is_final and (order.status != Order.Status.PAID or documents_ready),
        "payment_error": order.payment_error,
    }


@require_GET
@never_cache
def order_detail(request, reference):
    """The page the customer comes back to from Stripe; it refreshes itself
    (through `order_status`) until the order is paid, failed or expired."""
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
            "status": _status_payload(order),
        },
    )


@require_GET
@never_cache
def order_status(request, reference):
    order = _order_or_404(request, reference)
    return JsonResponse(_status_payload(order))


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
