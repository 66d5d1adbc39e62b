import hashlib
import hmac
import json
import time
import urllib.request

from tests.conftest import emulator_control


def pay_session(emulator_url: str, session_id: str, card: str = "4242424242424242") -> dict:
    """Pay a Checkout Session as the hosted page's form does (the emulator's automation route)."""
    return emulator_control(emulator_url, f"checkout/sessions/{session_id}/pay", {"card": card})


def session_id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def post_signed(url: str, payload: dict, secret: str, *, signature: str | None = None) -> int:
    """POST an event to a webhook URL signed as Stripe signs (or with the given header)."""
    body = json.dumps(payload).encode()
    if signature is None:
        t = int(time.time())
        mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        signature = f"t={t},v1={mac}"
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["Stripe-Signature"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
