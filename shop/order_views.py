"""The order's pages: the status page the customer comes back to from Stripe
(it learns the result from a stream of server-sent events, and polls the
API's order status, /api/v1/orders/<reference>/status/, when the stream is
not there), "Pay now" and "Cancel order" for an unpaid order, and Stripe's
cancel return (which changes nothing: it shows the order page with both
choices)."""

import json
import threading
import time
from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.selectors import document_list_for_order
from core.http import HttpResponseSeeOther
from core.signed_links import LINK_PARAMETER, LinkState, link_error_response, request_link_state, signed_path
from orders.models import Order
from orders.selectors import order_get_by_reference, order_get_for_viewer, order_status
from payments.exceptions import GatewayError
from payments.services import checkout_cancel, checkout_resume
from payments.tasks import reconcile_order

from .cart import Cart

# Orders this browser opened with a signed link (session key): their "Pay now"
# and "Cancel order" work without signing in, like the page the link opened.
LINKED_ORDERS_KEY = "orders_opened_by_link"


def _order_or_404(request, reference) -> Order:
    order = order_get_for_viewer(reference=reference, user=request.user)
    if order is None and str(reference) in request.session.get(LINKED_ORDERS_KEY, []):
        order = order_get_by_reference(reference=reference)
    if order is None:
        raise Http404("No such order.")
    return order


def _payable(order: Order) -> bool:
    return order.status == Order.Status.AWAITING_PAYMENT and order.expires_at > timezone.now()


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
        linked = request.session.get(LINKED_ORDERS_KEY, [])
        if str(order.reference) not in linked:
            request.session[LINKED_ORDERS_KEY] = [*linked[-19:], str(order.reference)]
        return order, True
    try:
        order = _order_or_404(request, reference)
    except Http404:
        order = None
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
        # second; ask Stripe ourselves a little later in case it was lost. Once
        # per interval per order, however often the page is loaded (by anyone).
        if cache.add(f"order-reconcile-asked:{order.reference}", True, timeout=settings.ORDER_STATUS_RECONCILE_INTERVAL):
            reconcile_order.apply_async((order.pk,), countdown=10)
    documents = list(document_list_for_order(order_id=order.pk))
    for document in documents:
        # Whoever sees the order page may download its documents: signed
        # links, so they open without a session too.
        document.download_url = signed_path(reverse("billing:document_pdf", args=[document.pk]))
    status_url = reverse("api:order-status", args=[order.reference])
    stream_url = reverse("orders:status_stream", args=[order.reference])
    if by_link:
        # The page asks for its status with the link that opened it.
        status_url = f"{status_url}?{LINK_PARAMETER}={request.GET[LINK_PARAMETER]}"
        stream_url = f"{stream_url}?{LINK_PARAMETER}={request.GET[LINK_PARAMETER]}"
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "payments": order.payments.all(),
            "documents": documents,
            "status": order_status(order),
            "payable": _payable(order),
            "status_url": status_url,
            "stream_url": stream_url,
            "opened_by_link": by_link,
        },
    )


@require_POST
def order_pay(request, reference):
    """"Pay now": to the order's open Checkout Session, or a new one."""
    order = _order_or_404(request, reference)
    try:
        url = checkout_resume(order=order)
    except GatewayError as error:
        messages.error(request, str(error))
        return redirect(order.get_absolute_url())
    if url:
        return HttpResponseSeeOther(url)
    messages.info(request, "This order can no longer be paid: its status is shown below.")
    return redirect(order.get_absolute_url())


@require_http_methods(["GET", "POST"])
@never_cache
def order_cancel(request, reference):
    """"Cancel order": a confirmation page, then the POST that cancels (the
    session expires at Stripe first so it cannot be paid later; a payment made
    meanwhile wins). The items go back to the cart."""
    order = _order_or_404(request, reference)
    if order.status != Order.Status.AWAITING_PAYMENT:
        messages.info(request, "This order can no longer be cancelled: its status is shown below.")
        return redirect(order.get_absolute_url())
    if request.method == "GET":
        return render(request, "orders/cancel.html", {"order": order, "lines": order.lines.all()})
    try:
        order = checkout_cancel(order=order)
    except GatewayError as error:
        messages.error(request, f"We could not cancel the order: {error}")
        return redirect(order.get_absolute_url())
    if order.status != Order.Status.CANCELLED:
        return redirect(order.get_absolute_url())
    Cart(request).restore_from_order(order)
    messages.info(request, f"Order {order.number} is cancelled; nothing was charged. Your cart is as you left it.")
    return redirect("shop:cart")


@require_GET
@never_cache
def checkout_cancelled(request, reference):
    """Stripe's cancel_url: the customer left the payment page. Nothing changes
    on a GET (a link prefetched or shared must not cancel anything): the order
    page offers "Pay now" and "Cancel order"."""
    order = _order_or_404(request, reference)
    if _payable(order):
        messages.info(
            request,
            "You left the payment page; nothing was charged. Your items stay reserved until "
            f"{timezone.localtime(order.expires_at):%H:%M}: pay now, or cancel the order.",
        )
    return redirect(order.get_absolute_url())


# -- the status page's stream of server-sent events ------------------------------

# Streams open at once in this process: each holds one of gunicorn's threads
# for up to ORDER_STATUS_STREAM_SECONDS, so only a few may; the others get a
# 503 and their page polls the API's status instead, as without the stream.
_stream_slots = threading.BoundedSemaphore(max(settings.ORDER_STATUS_STREAMS_PER_PROCESS, 1))


class _StatusEvents:
    """The order's status (the API's fields) as an event each time it
    changes, read every ORDER_STATUS_STREAM_POLL_SECONDS from the database (no
    Redis needed), until nothing more will change or the stream's time is up
    (the browser's EventSource then opens a new one). Gives its slot back when
    the response is closed, however it ends."""

    def __init__(self, order_pk: int):
        self.order_pk = order_pk
        self._released = False

    def __iter__(self):
        deadline = time.monotonic() + settings.ORDER_STATUS_STREAM_SECONDS
        beat = time.monotonic()
        sent = None
        yield "retry: 3000\n\n"  # the browser's wait before it opens a new stream
        while True:
            order = Order.objects.filter(pk=self.order_pk).first()
            if order is None:
                return
            status = asdict(order_status(order))
            if status != sent:
                yield f"event: status\ndata: {json.dumps(status)}\n\n"
                sent, beat = status, time.monotonic()
            if status["done"] or time.monotonic() >= deadline:
                return
            if time.monotonic() - beat >= 15:  # a comment: proxies keep the connection open
                yield ": still waiting\n\n"
                beat = time.monotonic()
            time.sleep(settings.ORDER_STATUS_STREAM_POLL_SECONDS)

    def close(self) -> None:
        if not self._released:
            self._released = True
            _stream_slots.release()


@require_GET
@never_cache
def order_status_stream(request, reference):
    """Server-sent events for the status page: it learns the payment's
    result within a fraction of a second rather than at its next poll. Opens
    for whoever may see the order page (its owner, the order this browser
    opened, or the page's signed link)."""
    try:
        order = _order_or_404(request, reference)
    except Http404:
        order = order_get_by_reference(reference=reference)
        if order is None or request_link_state(request, order.get_absolute_url()) != LinkState.VALID:
            raise
    if not _stream_slots.acquire(blocking=False):
        response = HttpResponse("Too many streams open: ask the order's status instead.", status=503,
                                content_type="text/plain")
        response["Retry-After"] = "10"
        return response
    response = StreamingHttpResponse(_StatusEvents(order.pk), content_type="text/event-stream")
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
