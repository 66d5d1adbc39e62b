"""Signed, expiring links: a page's path with `?link=<token>`, the token a
timestamped signature (django.core.signing, keyed by SECRET_KEY) of that path
and nothing else.

A link opens the one page it was made for, without a session: an order's page
in the e-mail that confirms it, a document's download in the e-mail that
carries it. It grants nothing beyond that path (no sign-in, no other order),
and stops working SIGNED_LINK_MAX_AGE seconds after it was made. Any app may
make one for a path it knows (billing signs the order page's path it was
given, without knowing orders); the view of that path checks it.
"""

import enum

from django.conf import settings
from django.core import signing
from django.shortcuts import render

LINK_PARAMETER = "link"
_SALT = "core.signed_links"


class LinkState(enum.Enum):
    MISSING = "missing"
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def link_token(path: str) -> str:
    """The token that opens `path` (timestamp and signature, no copy of the path)."""
    signed = _signer().sign(path)
    # "<path>:<timestamp>:<signature>": the path is known to whoever checks it.
    return ":".join(signed.rsplit(":", 2)[1:])


def signed_path(path: str) -> str:
    """`path` with the token that opens it, as a relative URL."""
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}{LINK_PARAMETER}={link_token(path)}"


def signed_url(path: str) -> str:
    """The absolute signed link (SITE_URL), for e-mails."""
    return f"{settings.SITE_URL}{signed_path(path)}"


def link_state(path: str, token: str | None) -> LinkState:
    """Whether `token` opens `path` now."""
    if not token:
        return LinkState.MISSING
    try:
        _signer().unsign(f"{path}:{token}", max_age=settings.SIGNED_LINK_MAX_AGE)
    except signing.SignatureExpired:
        return LinkState.EXPIRED
    except signing.BadSignature:
        return LinkState.INVALID
    return LinkState.VALID


def request_link_state(request, path: str | None = None) -> LinkState:
    """The state of the link a request came with, for `path` (default: the
    request's own path)."""
    return link_state(path or request.path, request.GET.get(LINK_PARAMETER))


def link_error_response(request, state: LinkState):
    """The page a broken link gets: 410 when it expired, 403 when it was
    altered; it says what to do instead and reveals nothing of what it opened."""
    expired = state == LinkState.EXPIRED
    return render(
        request,
        "signed_link_error.html",
        {"expired": expired, "max_age_days": settings.SIGNED_LINK_MAX_AGE // 86400},
        status=410 if expired else 403,
    )
