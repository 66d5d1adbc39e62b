"""Collecting payment of open invoices: the payment intent and payment record
of an invoice, payment attempts, dunning retries on the account's schedule,
marking an invoice paid, and the subscription status changes that follow
(active, past_due, unpaid, canceled)."""

from .. import fixtures
from ..resources.common import previous_attributes, snapshot
from ..resources.payment_intents import confirm_with, new_payment_intent
from ..wire import StripeError
from .periods import DAY, LIVE, facts_of, subscription_of
from .settings import settings


def default_payment_method(store, invoice):
    sub = store.get(subscription_of(invoice), "subscription")
    customer = store.get(invoice["customer"], "customer") or {}
    candidates = (invoice["default_payment_method"], sub["default_payment_method"] if sub else None,
                  (customer.get("invoice_settings") or {}).get("default_payment_method"))
    for pm_id in candidates:
        pm = store.get(pm_id, "payment_method") if pm_id else None
        if pm is not None:
            return pm
    return None


def _payment_record(ctx, invoice, pi):
    store = ctx.store
    record = fixtures.make(
        "invoice_payment", id=store.new_id("inpay_"), amount_paid=None, amount_requested=invoice["amount_due"],
        created=store.now(), currency=invoice["currency"], invoice=invoice["id"], is_default=True,
        payment={"type": "payment_intent", "payment_intent": pi["id"]}, status="open",
        status_transitions={"canceled_at": None, "paid_at": None})
    store.add(record)
    store.private[invoice["id"]]["payment"] = record["id"]
    return record


def open_payment(ctx, invoice, customer, due):
    """The payment intent and payment record of a finalized invoice that owes
    `due`; the first automatic attempt is due now, except for a subscription's
    first invoice (the customer pays it on session)."""
    store = ctx.store
    now = invoice["status_transitions"]["finalized_at"]
    sub = store.get(subscription_of(invoice), "subscription")
    description = {"subscription_create": "Subscription creation", "manual": f"Invoice {invoice['number']}"}.get(
        invoice["billing_reason"], "Subscription update")
    pi = new_payment_intent(ctx, due, invoice["currency"], customer=customer["id"], description=description)
    store.private[invoice["id"]]["payment_intent"] = pi["id"]
    store.secret(pi["id"])["invoice"] = invoice["id"]
    _payment_record(ctx, invoice, pi)
    # The first automatic attempt: now (renewals), not for a subscription's
    # first invoice (paid on session) nor for an invoice that does not
    # advance by itself (created through the API without auto_advance).
    collects = invoice["auto_advance"] and invoice["collection_method"] == "charge_automatically"
    invoice["next_payment_attempt"] = now if collects and (sub is None or sub["status"] != "incomplete") else None


def payment_intent_of(store, invoice):
    return store.get(store.private.get(invoice["id"], {}).get("payment_intent"), "payment_intent")


def attempt(ctx, invoice, pm=None, automatic=True, initial=False, before_success=None):
    """One payment attempt on an open invoice. Returns ("paid" | "failed" |
    "requires_action", card error or None)."""
    store = ctx.store
    pi = payment_intent_of(store, invoice)
    pm = pm or default_payment_method(store, invoice)
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    if automatic:
        store.private[invoice["id"]]["auto_attempts"] += 1
    if pm is None:
        error = StripeError(400, "invalid_request_error",
                            "This customer has no attached payment source or default payment method. "
                            "Please consider adding a default payment method.")
        payment_failed(ctx, invoice, automatic)
        return "failed", error
    try:
        status = confirm_with(ctx, pi, pm, off_session=not initial, initial=initial, before_success=before_success)
    except StripeError as err:
        if err.status != 402:
            raise
        payment_failed(ctx, invoice, automatic)
        return "failed", err
    if status == "requires_action":
        return "requires_action", None
    mark_paid(ctx, invoice, pi)
    return "paid", None


def payment_failed(ctx, invoice, automatic):
    store = ctx.store
    now = store.now()
    sub = store.get(subscription_of(invoice), "subscription")
    exhausted = False
    if automatic:
        days = settings(store)["retry_days"]
        count = store.private[invoice["id"]]["auto_attempts"]
        if sub is None or sub["status"] == "incomplete":
            # First invoices are not retried; the emulator retries only
            # subscription invoices (see NOTES: one-off invoices are not).
            invoice["next_payment_attempt"] = None
        elif count <= len(days):
            invoice["next_payment_attempt"] = now + int(days[count - 1] * DAY)
        else:
            invoice["next_payment_attempt"] = None
            exhausted = True
    customer = store.get(invoice["customer"], "customer")
    if customer is not None:
        customer["delinquent"] = True
    ctx.emit("invoice.payment_failed", invoice)
    if sub is None or sub["status"] not in LIVE:
        return
    p = facts_of(store, sub)
    p["retry_invoice"], p["retry_at"] = invoice["id"], invoice["next_payment_attempt"]
    if exhausted:
        action = settings(store)["final_action"]
        if action == "cancel":
            end_subscription(ctx, sub, "payment_failed")
            return
        if action == "unpaid":
            set_status(ctx, sub, "unpaid")
            return
    if sub["status"] in ("active", "trialing"):
        set_status(ctx, sub, "past_due")


def set_status(ctx, sub, status):
    if sub["status"] == status:
        return
    before = snapshot(sub)
    sub["status"] = status
    ctx.emit("customer.subscription.updated", sub, previous_attributes(before, sub))


def mark_paid(ctx, invoice, pi):
    store = ctx.store
    now = store.now()
    invoice.update(amount_paid=invoice["amount_due"], amount_remaining=0, status="paid",
                   next_payment_attempt=None, auto_advance=False)
    invoice["status_transitions"]["paid_at"] = now
    if invoice["amount_due"] == 0:
        invoice["attempted"] = True
    ctx.emit("invoice.paid", invoice)
    ctx.emit("invoice.payment_succeeded", invoice)
    record = store.get(store.private.get(invoice["id"], {}).get("payment"), "invoice_payment")
    if record is not None:
        record.update(status="paid", amount_paid=invoice["amount_due"])
        record["status_transitions"]["paid_at"] = now
        ctx.emit("invoice_payment.paid", record)
    customer = store.get(invoice["customer"], "customer")
    if customer is not None and customer["delinquent"]:
        customer["delinquent"] = bool(store.all("invoice", lambda i: i["customer"] == customer["id"]
                                                and i["status"] == "open" and i["attempt_count"] > 0))
    sub = store.get(subscription_of(invoice), "subscription")
    if sub is None:
        return
    p = facts_of(store, sub)
    if p.get("retry_invoice") == invoice["id"]:
        p["retry_invoice"] = p["retry_at"] = None
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        trialing = sub["trial_end"] is not None and sub["trial_end"] > now
        set_status(ctx, sub, "trialing" if trialing else "active")


def end_subscription(ctx, sub, reason, comment=None, feedback=None):
    """Cancel now: status canceled, retries stopped, customer.subscription.deleted."""
    store = ctx.store
    now = store.now()
    sub.update(status="canceled", ended_at=now, canceled_at=sub["canceled_at"] or now)
    sub["cancellation_details"] = {"comment": comment if comment is not None else sub["cancellation_details"]["comment"],
                                   "feedback": feedback or sub["cancellation_details"]["feedback"],
                                   "reason": sub["cancellation_details"]["reason"] or reason}
    p = facts_of(store, sub)
    p["retry_invoice"] = p["retry_at"] = None
    for invoice in store.all("invoice", lambda i: subscription_of(i) == sub["id"] and i["status"] == "open"):
        invoice["next_payment_attempt"] = None
        invoice["auto_advance"] = False
    ctx.emit("customer.subscription.deleted", sub)
