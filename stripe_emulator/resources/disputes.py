"""Disputes: opened by the 0259 test card (or the control route) on a charge."""

from .. import cards, fixtures
from ..wire import as_bool, as_dict, invalid, metadata
from . import files
from .charges import new_balance_transaction
from .common import Background, eq_filter, previous_attributes, render, render_list, snapshot

DISPUTE_FEE = 1500  # Stripe's dispute fee, in minor units (USD)
EVIDENCE_FIELDS = tuple(k for k in fixtures.template("dispute", "evidence") if k != "enhanced_evidence")
# Evidence fields that name an uploaded file (purpose dispute_evidence).
FILE_EVIDENCE_FIELDS = ("cancellation_policy", "customer_communication", "customer_signature",
                        "duplicate_charge_documentation", "receipt", "refund_policy", "service_documentation",
                        "shipping_documentation", "uncategorized_file")


def open_dispute(app, charge_id, reason="fraudulent"):
    """Open a dispute on a succeeded charge, as the card network would."""
    ctx = Background(app)
    store = app.store
    charge = store.require(charge_id, "charge", param="charge")
    if charge["status"] != "succeeded":
        raise invalid("Only a succeeded charge can be disputed.", param="charge")
    if charge["disputed"]:
        raise invalid(f"Charge {charge_id} has already been disputed.", param="charge",
                      code="charge_disputed")
    id_ = store.new_id("dp_")
    amount = charge["amount"] - charge["amount_refunded"]
    txn = new_balance_transaction(ctx, -amount, charge["currency"], id_, "adjustment", fee=DISPUTE_FEE,
                                  description=f"Chargeback withdrawal for {charge_id}")
    card = cards.lookup(store.private.get(charge["payment_method"], {}).get("number"))
    now = store.now()
    dispute = fixtures.make(
        "dispute",
        id=id_,
        amount=amount,
        balance_transactions=[snapshot(txn)],
        charge=charge_id,
        created=now,
        currency=charge["currency"],
        evidence=fixtures.shape("dispute", "evidence", enhanced_evidence={}),
        evidence_details=fixtures.shape("dispute", "evidence_details", due_by=now + 7 * 86400,
                                        has_evidence=False, past_due=False, submission_count=0,
                                        enhanced_eligibility={}),
        is_charge_refundable=False,
        payment_intent=charge["payment_intent"],
        payment_method_details={"card": {"brand": card.brand if card else "visa", "case_type": "chargeback",
                                         "network_reason_code": "10.4", "network": card.brand if card else "visa"},
                                "type": "card"},
        reason=reason,
        status="needs_response",
        enhanced_eligibility_types=[],
    )
    store.add(dispute)
    before = snapshot(charge)
    charge["disputed"] = True
    ctx.emit("charge.dispute.created", dispute)
    ctx.emit("charge.dispute.funds_withdrawn", dispute)
    ctx.emit("charge.updated", charge, previous_attributes(before, charge))
    return dispute


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "dispute"))


def update(req):
    dispute = req.store.require(req.args["id"], "dispute")
    if dispute["status"] in ("won", "lost"):
        raise invalid("This dispute is already closed.", code="dispute_already_closed")
    submit = as_bool(req.params, "submit", False)
    if submit and dispute["status"] in ("under_review", "warning_under_review"):
        raise invalid("This dispute is already under review: its evidence was submitted.",
                      param="submit", code="dispute_already_submitted")
    before = snapshot(dispute)
    evidence = as_dict(req.params, "evidence")
    for key, value in evidence.items():
        if key not in EVIDENCE_FIELDS:
            raise invalid(f"Received unknown parameter: evidence[{key}]", param=f"evidence[{key}]")
        if key in FILE_EVIDENCE_FIELDS and value:
            files.require_file(req.store, value, "dispute_evidence", f"evidence[{key}]")
    for key, value in evidence.items():
        dispute["evidence"][key] = value or None
    if evidence:
        dispute["evidence_details"]["has_evidence"] = True
    dispute["metadata"] = metadata(req.params, dispute["metadata"])
    if submit:
        dispute["status"] = "under_review"
        dispute["evidence_details"]["submission_count"] += 1
    previous = previous_attributes(before, dispute)
    if previous:
        req.emit("charge.dispute.updated", dispute, previous)
    return render(req, dispute)


def close(req):
    dispute = req.store.require(req.args["id"], "dispute")
    if dispute["status"] in ("won", "lost"):
        return render(req, dispute)
    before = snapshot(dispute)
    dispute["status"] = "lost"
    req.emit("charge.dispute.closed", dispute, previous_attributes(before, dispute))
    return render(req, dispute)


def settle(app, dispute_id, outcome):
    """The card network decides (control route): `won` gives the money back
    (funds reinstated), `lost` keeps it withdrawn. Emits charge.dispute.closed."""
    if outcome not in ("won", "lost"):
        raise invalid("`status` must be won or lost.", param="status")
    ctx = Background(app)
    store = app.store
    dispute = store.require(dispute_id, "dispute")
    if dispute["status"] in ("won", "lost"):
        if dispute["status"] != outcome:
            raise invalid(f"This dispute is already closed ({dispute['status']}).", code="dispute_already_closed")
        return dispute
    before = snapshot(dispute)
    if outcome == "won":
        txn = new_balance_transaction(ctx, dispute["amount"], dispute["currency"], dispute["id"], "adjustment",
                                      description=f"Chargeback reversal for {dispute['charge']}")
        dispute["balance_transactions"] = list(dispute["balance_transactions"] or []) + [snapshot(txn)]
    dispute["status"] = outcome
    dispute["evidence_details"]["past_due"] = False
    previous = previous_attributes(before, dispute)
    if outcome == "won":
        ctx.emit("charge.dispute.funds_reinstated", dispute)
    ctx.emit("charge.dispute.closed", dispute, previous)
    return dispute


def list_(req):
    return render_list(req, "dispute", "/v1/disputes",
                       [eq_filter(req, "charge"), eq_filter(req, "payment_intent")])


ROUTES = [
    ("GET", "/v1/disputes", list_),
    ("GET", "/v1/disputes/{id}", retrieve),
    ("POST", "/v1/disputes/{id}", update),
    ("POST", "/v1/disputes/{id}/close", close),
]
