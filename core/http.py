"""HTTP helpers every app's views share."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser follows with a GET (e.g. to Stripe's page)."""

    status_code = 303


def client_ip(request) -> str:
    """The client's address: the connecting one, or, behind `NUM_PROXIES`
    trusted proxies (the API's setting), the one they put in X-Forwarded-For
    (counted from the right, so a client cannot forge it by sending its own)."""

    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return remote


def safe_next_url(request, fallback: str) -> str:
    """The `next` the request carries (form or query), if it points back to
    this site; else `fallback` (no open redirect to another host)."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
