""""Find my order": a guest (or a customer who is not signed in) gives the
e-mail address of an order, and its number if they know it; the shop e-mails
that address signed links to the order pages (core.signed_links).

The page says the same thing whatever was found, and the e-mail is sent by a
task off the request, so neither the words nor the time of the answer tell
whether an address has orders. Requests are counted per address and per
client: past ORDER_FIND_EMAILS_PER_HOUR, the answer is the same and nothing
is sent."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from orders.tasks import send_order_links

from .forms import OrderFindForm

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


def _within_budget(*keys: str) -> bool:
    """Count one request against each key (for an hour); False once any key
    is over the budget."""
    allowed = True
    for key in keys:
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS)
            count = 1
        allowed = allowed and count <= settings.ORDER_FIND_EMAILS_PER_HOUR
    return allowed


@require_http_methods(["GET", "POST"])
def order_find(request):
    form = OrderFindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        reference = form.cleaned_data["reference"].strip()
        client = request.META.get("REMOTE_ADDR", "")
        if _within_budget(f"order-find:email:{email}", f"order-find:client:{client}"):
            send_order_links.delay(email, reference)
        else:
            logger.warning("find my order: over the hourly budget; nothing sent")
        return render(request, "orders/find_sent.html", {"email": email}, status=200)
    return render(request, "orders/find.html", {"form": form})
