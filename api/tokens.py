"""API tokens: create (the key is returned once), revoke, authenticate."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.exceptions import ApplicationError

from .models import ApiToken

KEY_PREFIX = "shop_"
# How often a token's "last used" time is written: not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenError(ApplicationError):
    pass


def key_hash(key: str) -> str:
    # The key is 256 random bits: a plain SHA-256 cannot be reversed or
    # guessed, and is quick enough to compute on every request.
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_check(*, user, name: str, expires_at: datetime | None = None) -> None:
    """Raise TokenError (its message for staff) if such a token cannot be made."""
    if not user.is_active:
        raise TokenError(f"{user.get_username()} is not an active user: a token for them would not work.")
    if not (name or "").strip():
        raise TokenError("Give the token a name that says what it is for.")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("The expiry date is in the past.")


def api_token_create(*, user, name: str, created_by, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it with its key, which is shown once and never stored."""
    api_token_check(user=user, name=name, expires_at=expires_at)
    name = name.strip()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, key_prefix=key[: len(KEY_PREFIX) + 6],
                                        key_hash=key_hash(key), created_by=created_by, expires_at=expires_at)
        audit_record(action="api_token.created", actor=created_by, target=token,
                     message=f"API token “{name}” ({token.key_prefix}…) created for {user.get_username()}")
    return token, key


def api_token_revoke(*, token_id: int, revoked_by) -> ApiToken:
    """Revoke a token at once (requests with it get 401 from now on). Revoking twice does nothing."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token_id)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.revoked_by = revoked_by
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(action="api_token.revoked", actor=revoked_by, target=token,
                     message=f"API token “{token.name}” ({token.key_prefix}…) of {token.user.get_username()} revoked")
    return token


def api_token_authenticate(key: str) -> ApiToken | None:
    """The active token with this key, its user active, or None."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        # A conditional UPDATE: concurrent requests write it once, nothing is locked.
        ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - LAST_USED_PRECISION).update(
            last_used_at=now
        )
        token.last_used_at = now
    return token
