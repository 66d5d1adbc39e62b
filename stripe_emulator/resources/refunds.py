"""Refunds: created pending, settled (or failed) a moment later in the background."""

from .. import fixtures
from ..money import format_amount
from ..wire import as_int, as_str, invalid, metadata, missing
from .charges import new_balance_transaction, sync_refunds
from .common import Background, eq_filter, previous_attributes, render, render_list, snapshot

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
FAILURE_REASON = "expired_or_canceled_card"


def _charge_to_refund(req):
    params, store = req.params, req.store
    charge_id, pi_id = as_str(params, "charge"), as_str(params, "payment_intent")
    if charge_id and pi_id:
        raise invalid("You may only specify one of these parameters: charge, payment_intent.", param="charge")
    if pi_id:
        pi = store.require(pi_id, "payment_intent", param="payment_intent", kind="payment_intent")
        charge = store.get(pi["latest_charge"], "charge")
        if pi["status"] != "succeeded" or charge is None:
            raise invalid(f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                          param="payment_intent")
        return charge
    if not charge_id:
        raise missing("charge")
    charge = store.require(charge_id, "charge", param="charge")
    if charge["status"] != "succeeded":
        raise invalid(f"Charge {charge_id} has not succeeded; only succeeded charges can be refunded.",
                      param="charge")
    return charge


def create(req):
    store, params = req.store, req.params
    charge = _charge_to_refund(req)
    if charge["refunded"]:
        raise invalid(f"Charge {charge['id']} has already been refunded.", param="charge",
                      code="charge_already_refunded")
    if charge["disputed"]:
        raise invalid(f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                      param="charge", code="charge_disputed")
    refundable = charge["amount_captured"] - charge["amount_refunded"]
    amount = as_int(params, "amount", minimum=1)
    amount = refundable if amount is None else amount
    if amount > refundable:
        currency = charge["currency"]
        raise invalid(
            f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount on "
            f"charge ({format_amount(refundable, currency)})", param="amount", code="amount_too_large")
    refund = fixtures.make(
        "refund",
        id=store.new_id("re_"),
        amount=amount,
        charge=charge["id"],
        created=store.now(),
        currency=charge["currency"],
        destination_details={"card": {"type": "refund"}, "type": "card"},
        metadata=metadata(params),
        payment_intent=charge["payment_intent"],
        reason=as_str(params, "reason", choices=REASONS),
        status="pending",
        customer=charge["customer"],
        payment_method=charge["payment_method"],
    )
    store.add(refund)
    # The charge counts a refund as soon as it is created, so two refunds can
    # never exceed it even while the first is still pending.
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
    sync_refunds(store, charge)
    req.emit("refund.created", refund)
    app = req.app
    fail = app.refund_failures > 0
    if fail:
        app.refund_failures -= 1
    refund_id = refund["id"]
    app.scheduler.later(app.config.refund_delay, lambda: settle(app, refund_id, fail))
    return render(req, refund)


def settle(app, refund_id, fail):
    """Move a pending refund to succeeded (charge.refunded) or failed."""
    ctx = Background(app)
    store = app.store
    refund = store.get(refund_id, "refund")
    if refund is None or refund["status"] != "pending":
        return
    charge = store.get(refund["charge"], "charge")
    before = snapshot(refund)
    if fail:
        refund["status"] = "failed"
        refund["failure_reason"] = FAILURE_REASON
        charge_before = snapshot(charge)
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        sync_refunds(store, charge)
        ctx.emit("refund.updated", refund, previous_attributes(before, refund))
        ctx.emit("refund.failed", refund)
        ctx.emit("charge.updated", charge, previous_attributes(charge_before, charge))
        return
    txn = new_balance_transaction(ctx, -refund["amount"], refund["currency"], refund_id, "refund",
                                  description="REFUND FOR CHARGE")
    refund.update(status="succeeded", balance_transaction=txn["id"])
    sync_refunds(store, charge)
    ctx.emit("refund.updated", refund, previous_attributes(before, refund))
    ctx.emit("charge.refunded", charge)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "refund"))


def update(req):
    refund = req.store.require(req.args["id"], "refund")
    before = snapshot(refund)
    refund["metadata"] = metadata(req.params, refund["metadata"])
    previous = previous_attributes(before, refund)
    if previous:
        req.emit("refund.updated", refund, previous)
    return render(req, refund)


def list_(req):
    return render_list(req, "refund", "/v1/refunds",
                       [eq_filter(req, "charge"), eq_filter(req, "payment_intent")])


ROUTES = [
    ("POST", "/v1/refunds", create),
    ("GET", "/v1/refunds", list_),
    ("GET", "/v1/refunds/{id}", retrieve),
    ("POST", "/v1/refunds/{id}", update),
]
