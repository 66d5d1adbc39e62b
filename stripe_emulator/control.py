"""Control routes under /_emulator/: not Stripe's API; no auth; JSON in/out.
They let tests and benchmarks reset state, inject faults, inspect webhook
deliveries and drive payments without a browser."""

from .engine import settings as billing
from .engine.clock import sweep as sweep_billing
from .resources import checkout, disputes
from .resources.common import render
from .responses import Response, unlocked
from .webhooks import FAULT_ACTIONS
from .wire import StripeError, as_int, invalid


def _body(req):
    """Control routes accept JSON, or form/query parameters."""
    return req.json_body if isinstance(req.json_body, dict) else req.params


def health(req):
    return {"ok": True}


@unlocked
def reset(req):
    req.app.reset()
    return {"ok": True}


def add_fault(req):
    body = _body(req)
    status = as_int(body, "status")
    delay_ms = as_int(body, "delay_ms", minimum=0) or 0
    if status is None and not delay_ms:
        raise invalid("A fault needs `status` (e.g. 500 or 429) or `delay_ms`.", param="status")
    if status is not None and not 400 <= status <= 599:
        raise invalid("`status` must be an HTTP error status.", param="status")
    fault = {
        "path": body.get("path"),
        "method": (body.get("method") or "").upper() or None,
        "status": status,
        "delay_ms": delay_ms,
        "remaining": as_int(body, "count", minimum=1) or 1,
    }
    req.app.add_fault(fault)
    return fault


def list_faults(req):
    return {"faults": req.app.faults()}


def clear_faults(req):
    req.app.clear_faults()
    return {"faults": []}


def add_webhook_fault(req):
    body = _body(req)
    action = body.get("action")
    if action not in FAULT_ACTIONS:
        raise invalid(f"`action` must be one of {', '.join(FAULT_ACTIONS)}.", param="action")
    count = as_int(body, "count", minimum=1) or 1
    delay_ms = as_int(body, "delay_ms", minimum=0) or 0
    if action == "delay" and not delay_ms:
        raise invalid("A delay fault needs `delay_ms`.", param="delay_ms")
    req.app.webhooks.add_fault(action, count, delay_ms)
    return {"faults": req.app.webhooks.faults()}


def list_webhook_faults(req):
    return {"faults": req.app.webhooks.faults()}


def clear_webhook_faults(req):
    req.app.webhooks.clear_faults()
    return {"faults": []}


def deliveries(req):
    params = req.params
    since = float(params["since"]) if params.get("since") else None
    found = [
        a for a in list(req.app.webhooks.attempts)
        if (not params.get("event_type") or a["event_type"] == params["event_type"])
        and (not params.get("event_id") or a["event_id"] == params["event_id"])
        and (since is None or a["started_at"] >= since)
    ]
    return {"object": "list", "data": found}


@unlocked
def wait(req):
    timeout = float(_body(req).get("timeout") or 10)
    if req.app.webhooks.wait(timeout):
        return {"ok": True}
    return Response(504, {"ok": False, "error": f"deliveries still pending after {timeout} s"})


def fail_next_refund(req):
    req.app.refund_failures += as_int(_body(req), "count", minimum=1) or 1
    return {"refund_failures": req.app.refund_failures}


def open_dispute(req):
    charge_id = _body(req).get("charge")
    if not charge_id:
        raise invalid("Missing required param: charge.", param="charge")
    return render(req, disputes.open_dispute(req.app, charge_id, _body(req).get("reason") or "fraudulent"))


def settle_dispute(req):
    """Decide a dispute as the card network would: {"status": "won"|"lost"}.
    Emits charge.dispute.closed (and funds_reinstated when won)."""
    return render(req, disputes.settle(req.app, req.args["id"], _body(req).get("status")))


def advance_clock(req):
    """Move the emulator's clock forward (e.g. past a session's expires_at)
    and run the expiry sweep at once."""
    seconds = as_int(_body(req), "seconds", required=True, minimum=0)
    req.store.clock_offset += seconds
    checkout.sweep_expired(req.app)
    sweep_billing(req.app)  # renewals etc. of subscriptions not on a test clock
    return {"now": req.store.now(), "offset": req.store.clock_offset}


# The billing address a script's payment gives when the session requires one
# and the script names none (as `email` defaults to buyer@example.com).
TEST_ADDRESS = {"line1": "1 Test Street", "postal_code": "75001", "city": "Paris", "country": "FR"}


def pay_session(req):
    """What the hosted form does, for scripts: `card` (required), `exp`,
    `cvc`, `email` (default: the session's, else buyer@example.com), `name`,
    `address` {line1, line2, postal_code, city, state, country} (default when
    the session requires one: TEST_ADDRESS), `business_name` and `tax_id`
    (tax ID collection), `promotion_code` (applied first, as the page's Apply
    button does), and `three_d_secure` = approve (default) | fail for the 3155
    card. Answers the session (still `open` after a decline), a 402 card error
    for an unusable card number or expiry, or a 400 error for a session that
    cannot be paid or a code or field the page would refuse."""
    body = dict(_body(req))
    session = req.store.require(req.args["id"], "checkout.session", kind="checkout.session")
    body.setdefault("exp", "12/99")
    body.setdefault("cvc", "123")
    if not (body.get("email") or session["customer_email"] or session["customer"]):
        body["email"] = "buyer@example.com"
    if session["billing_address_collection"] == "required" and not body.get("address"):
        body["address"] = dict(TEST_ADDRESS)
    try:
        if body.get("promotion_code"):
            checkout.check_payable(req, session)
            checkout.apply_code(req, session, body["promotion_code"])
        pi = checkout.pay(req, session, body)
        if pi["status"] == "requires_action":
            checkout.authenticate(req, pi, body.get("three_d_secure", "approve") == "approve")
    except checkout.NotPayable as exc:
        raise StripeError(400, "invalid_request_error", str(exc), code="checkout_session_not_payable") from None
    except StripeError as err:
        if not (err.extra.get("payment_intent") or err.extra.get("setup_intent")):
            raise  # bad input (card number, expiry, e-mail): nothing was attempted
        # A decline: like the page, the session stays open; the reason is on
        # its payment intent (`last_payment_error`) and in the events.
    return render(req, session)


def billing_settings(req):
    """The dunning schedule for failed subscription payments: `days` between
    attempts (Smart-Retries-like default [3, 5, 7]: retried 3 days after the
    first failure, 5 after that, 7 after that) and `final_action` when the last
    retry fails: `cancel` (default; customer.subscription.deleted), `unpaid`
    or `past_due` (leave it). Also `upcoming_days` and `trial_notice_days`.
    The emulator's startup options --retry-days / --retry-final-action set the
    schedule like a Dashboard setting; this route changes it for a test."""
    if req.method == "GET":
        return dict(billing.settings(req.store))
    return dict(billing.update(req.store, _body(req)))


ROUTES = [
    ("GET", "/_emulator/health", health),
    ("POST", "/_emulator/reset", reset),
    ("POST", "/_emulator/faults", add_fault),
    ("GET", "/_emulator/faults", list_faults),
    ("DELETE", "/_emulator/faults", clear_faults),
    ("POST", "/_emulator/webhooks/faults", add_webhook_fault),
    ("GET", "/_emulator/webhooks/faults", list_webhook_faults),
    ("DELETE", "/_emulator/webhooks/faults", clear_webhook_faults),
    ("GET", "/_emulator/deliveries", deliveries),
    ("POST", "/_emulator/webhooks/wait", wait),
    ("POST", "/_emulator/refunds/fail_next", fail_next_refund),
    ("POST", "/_emulator/disputes", open_dispute),
    ("POST", "/_emulator/disputes/{id}/settle", settle_dispute),
    ("POST", "/_emulator/clock/advance", advance_clock),
    ("POST", "/_emulator/checkout/sessions/{id}/pay", pay_session),
    ("GET", "/_emulator/billing/retry_schedule", billing_settings),
    ("POST", "/_emulator/billing/retry_schedule", billing_settings),
]
