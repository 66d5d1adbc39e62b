"""The order's pages: the status page the customer comes back to from Stripe
(it updates itself by polling the API's order status,
/api/v1/orders/<reference>/status/), and Stripe's cancel return."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billing.selectors import document_list_for_order
from core.signed_links import LINK_PARAMETER, LinkState, link_error_response, request_link_state, signed_path
from orders.models import Order
from orders.selectors import order_get_by_reference, order_get_for_viewer, order_status
from payments.exceptions import GatewayError
from payments.services import checkout_cancel
from payments.tasks import reconcile_order

from .cart import Cart


def _order_or_404(request, reference) -> Order:
    order = order_get_for_viewer(reference=reference, user=request.user)
    if order is None:
        raise Http404("No such order.")
    return order


class _BrokenLink(Exception):
    def __init__(self, state: LinkState):
        self.state = state


def _order_for_page(request, reference) -> tuple[Order, bool]:
    """The order of the page, and whether it was opened by a signed link
    (core.signed_links: the link in an e-mail opens this one page, without a
    session, whoever owns the order). An altered or expired link that the
    viewer does not need gets its clear page (_BrokenLink)."""
    state = request_link_state(request)
    if state == LinkState.VALID:
        order = order_get_by_reference(reference=reference)
        if order is None:
            raise Http404("No such order.")
        return order, True
    order = order_get_for_viewer(reference=reference, user=request.user)
    if order is None:
        if state != LinkState.MISSING:
            raise _BrokenLink(state)
        raise Http404("No such order.")
    return order, False


@require_GET
@never_cache
def order_detail(request, reference):
    """The page the customer comes back to from Stripe; it refreshes itself
    (through the API's order status) until the order is paid, failed or expired."""
    try:
        order, by_link = _order_for_page(request, reference)
    except _BrokenLink as broken:
        return link_error_response(request, broken.state)
    if request.GET.get("session_id") and order.status == Order.Status.AWAITING_PAYMENT:
        # Back from Stripe: the webhook normally settles the order within a
        # second; ask Stripe ourselves a little later in case it was lost.
        reconcile_order.apply_async((order.pk,), countdown=10)
    documents = list(document_list_for_order(order_id=order.pk))
    for document in documents:
        # Whoever sees the order page may download its documents: signed
        # links, so they open without a session too.
        document.download_url = signed_path(reverse("billing:document_pdf", args=[document.pk]))
    status_url = reverse("api:order-status", args=[order.reference])
    if by_link:
        # The page polls its status with the link that opened it.
        status_url = f"{status_url}?{LINK_PARAMETER}={request.GET[LINK_PARAMETER]}"
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "payments": order.payments.all(),
            "documents": documents,
            "status": order_status(order),
            "status_url": status_url,
            "opened_by_link": by_link,
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
