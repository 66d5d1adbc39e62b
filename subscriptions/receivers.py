"""The subscriptions app's webhook receivers, connected in its AppConfig.ready()
through payments.webhooks.connect. dj-stripe's own receivers run first and
mirror the subscription, invoice and customer as Stripe has them now; these
add the shop's side effects."""

from payments.gateway import CheckoutSession, Invoice, Subscription

from . import cards, dunning, signup, tasks


def on_checkout_session_completed(obj: dict) -> None:
    session = CheckoutSession.from_stripe(obj)
    if session.mode == "setup":
        cards.card_replace_completed(session=session)
    elif session.mode == "subscription":
        signup.subscription_checkout_completed(session=session)
    # payment mode: a shop order (the payments app's receiver)


def on_invoice_paid(obj: dict) -> None:
    tasks.issue_subscription_invoice_documents.delay_on_commit(obj["id"])


def on_invoice_payment_failed(obj: dict) -> None:
    dunning.dunning_payment_failed(invoice=Invoice.from_stripe(obj))


def on_customer_subscription_deleted(obj: dict) -> None:
    dunning.dunning_subscription_ended(subscription=Subscription.from_stripe(obj))


RECEIVERS = {
    "checkout.session.completed": on_checkout_session_completed,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.deleted": on_customer_subscription_deleted,
}
# Mirrored by dj-stripe (customers and their cards, subscriptions, invoices)
# for the account page and admin. Not product.* / price.*: every order's
# inline price_data would be mirrored too; plans are mirrored by
# `manage.py stripe_sync_plans`. Not invoice.created, invoice.finalized or
# invoice.payment_succeeded: dj-stripe fetches the invoice again for each
# event, and a renewal's invoice.paid (or invoice.payment_failed, both
# received above) mirrors the same invoice as it stands then, so those three
# only cost three calls back to Stripe per renewal.
MIRRORED = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.trial_will_end",
    "invoice.updated",
    "invoice.voided",
    "payment_method.attached",
    "payment_method.detached",
    "setup_intent.succeeded",
)
