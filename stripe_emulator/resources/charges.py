"""Charges and the balance transactions they create."""

from .. import cards, fixtures
from ..wire import as_str, list_object, metadata
from .common import eq_filter, previous_attributes, render, render_list, snapshot

STATEMENT_DESCRIPTOR = "EMULATOR SHOP"


def stripe_fee(amount):
    """Stripe's standard card fee, 2.9% + 30 (minor units, half rounded up)."""
    return (amount * 29 + 500) // 1000 + 30


def new_balance_transaction(req, amount, currency, source, type_, fee=0, description=None):
    store = req.store
    now = store.now()
    fee_details = []
    if fee:
        fee_details = [{"amount": fee, "application": None, "currency": currency,
                        "description": "Stripe processing fees", "type": "stripe_fee"}]
    txn = fixtures.make(
        "balance_transaction",
        id=store.new_id("txn_"),
        amount=amount,
        available_on=now + 2 * 86400,
        created=now,
        currency=currency,
        description=description,
        fee=fee,
        fee_details=fee_details,
        net=amount - fee,
        reporting_category={"charge": "charge", "refund": "refund", "adjustment": "dispute"}[type_],
        source=source,
        status="pending",
        type=type_,
        balance_type="payments",
    )
    return store.add(txn)


def _card_details(pm, amount, card, three_d_secure):
    pm_card = pm["card"]
    return {
        "card": fixtures.shape(
            "charge", "payment_method_details.card",
            amount_authorized=amount,
            brand=card.brand,
            checks=fixtures.shape("charge", "payment_method_details.card.checks", cvc_check="pass"),
            country=card.country,
            exp_month=pm_card["exp_month"],
            exp_year=pm_card["exp_year"],
            extended_authorization={"status": "disabled"},
            fingerprint=pm_card["fingerprint"],
            funding=card.funding,
            incremental_authorization={"status": "unavailable"},
            last4=card.last4,
            multicapture={"status": "unavailable"},
            network=card.brand,
            network_token={"used": False},
            overcapture={"maximum_amount_capturable": amount, "status": "unavailable"},
            three_d_secure=three_d_secure,
            regulated_status="unregulated",
            network_transaction_id="emu" + pm["id"][-12:],
        ),
        "type": "card",
    }


def three_d_secure_details(result="authenticated"):
    return fixtures.shape("charge", "payment_method_details.card.three_d_secure",
                          authentication_flow="challenge", result=result, version="2.2.0")


def new_charge(req, pi, pm, decline_code=None, failure_code="card_declined", three_d_secure=None):
    """A charge for payment intent `pi` with `pm`: succeeded, or failed with
    `decline_code`. Stores it (and its balance transaction) but emits nothing."""
    store = req.store
    card = cards.lookup(store.private[pm["id"]]["number"])
    id_ = store.new_id("ch_")
    amount, currency = pi["amount"], pi["currency"]
    ok = decline_code is None
    txn = None
    if ok:
        txn = new_balance_transaction(req, amount, currency, id_, "charge", fee=stripe_fee(amount),
                                      description=pi["description"])
    message = None if ok else cards.DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    charge = fixtures.make(
        "charge",
        id=id_,
        amount=amount,
        amount_captured=amount if ok else 0,
        amount_refunded=0,
        balance_transaction=txn["id"] if txn else None,
        billing_details=dict(pm["billing_details"]),
        calculated_statement_descriptor=STATEMENT_DESCRIPTOR,
        captured=ok,
        created=store.now(),
        currency=currency,
        customer=pi["customer"],
        description=pi["description"],
        disputed=False,
        failure_code=None if ok else failure_code,
        failure_message=message,
        fraud_details={},
        metadata=dict(pi["metadata"]),
        outcome=fixtures.shape(
            "charge", "outcome",
            network_status="approved_by_network" if ok else "declined_by_network",
            reason=None if ok else decline_code,
            seller_message="Payment complete." if ok else cards.SELLER_MESSAGES.get(
                decline_code, "The bank did not return any further details with this decline."),
            type="authorized" if ok else "issuer_declined",
        ),
        paid=ok,
        payment_intent=pi["id"],
        payment_method=pm["id"],
        payment_method_details=_card_details(pm, amount, card, three_d_secure),
        receipt_email=pi["receipt_email"],
        receipt_url=f"{req.app.public_url}/receipts/payment/{id_}",
        refunded=False,
        refunds=list_object([], f"/v1/charges/{id_}/refunds"),
        status="succeeded" if ok else "failed",
    )
    return store.add(charge)


def sync_refunds(store, charge):
    """Refresh the charge's embedded `refunds` list after a refund changed."""
    refunds = store.all("refund", lambda r: r["charge"] == charge["id"])
    charge["refunds"] = list_object(snapshot(refunds[:10]), f"/v1/charges/{charge['id']}/refunds",
                                    has_more=len(refunds) > 10)


def retrieve(req):
    return render(req, req.store.require(req.args["id"], "charge"))


def update(req):
    charge = req.store.require(req.args["id"], "charge")
    before = snapshot(charge)
    for name in ("description", "receipt_email"):
        if name in req.params:
            charge[name] = as_str(req.params, name)
    charge["metadata"] = metadata(req.params, charge["metadata"])
    previous = previous_attributes(before, charge)
    if previous:
        req.emit("charge.updated", charge, previous)
    return render(req, charge)


def list_(req):
    return render_list(req, "charge", "/v1/charges",
                       [eq_filter(req, "customer"), eq_filter(req, "payment_intent")])


def list_refunds(req):
    charge = req.store.require(req.args["id"], "charge")
    return render_list(req, "refund", f"/v1/charges/{charge['id']}/refunds",
                       [lambda r: r["charge"] == charge["id"]])


ROUTES = [
    ("GET", "/v1/charges", list_),
    ("GET", "/v1/charges/{id}", retrieve),
    ("POST", "/v1/charges/{id}", update),
    ("GET", "/v1/charges/{id}/refunds", list_refunds),
]
