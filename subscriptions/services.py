"""Subscriptions: sign-up through Stripe Checkout, self-service changes, card
replacement, and staff cancelling.

Stripe holds the truth. Every action a customer or staff member takes here is
a Stripe API call through payments.gateway, never inside a database
transaction; its effect reaches the pages only once Stripe's webhook has
brought it into dj-stripe's mirror (subscriptions.selectors reads the mirror).
"""

import dataclasses
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Customer, Price, Subscription

from audit.services import audit_record
from billing.vies import VatIdCheck
from orders.services import BillingDetails
from payments import gateway
from payments.exceptions import GatewayError, PaymentDeclined
from payments.gateway import CheckoutSession

from .exceptions import AlreadySubscribed, QuoteChanged, SubscriptionError
from .plans import buyer_price_get_or_create, plan_price_id_of
from .pricing import PlanQuote, plan_quote, subscription_plan_quote
from .selectors import (
    LIVE_STATUSES,
    PlanPrice,
    customer_for_user,
    plan_price,
    plan_price_get,
    subscription_item,
    subscription_period_end,
    subscription_plan_price_id,
    subscription_summary,
)

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------


def _user_token(user) -> str:
    """Part of the idempotency keys of a user's Stripe objects: the pk alone
    could repeat across databases sharing one Stripe test account."""
    joined = int(user.date_joined.timestamp()) if getattr(user, "date_joined", None) else 0
    return f"{user.pk}-{joined}"


def customer_mirror(customer_id: str, *, user=None) -> Customer:
    """Mirror a Stripe customer (as Stripe has it now) and tie it to `user`."""
    # dj-stripe reads it from Stripe itself, as its webhook receivers do (its
    # sync walks the SDK's objects, e.g. paged lists).
    customer = Customer.sync_from_stripe_data(Customer(id=customer_id).api_retrieve())
    if user is not None and customer.subscriber_id != user.pk:
        Customer.objects.filter(pk=customer.pk).update(subscriber=user)
        customer.subscriber = user
    return customer


def customer_get_or_create(*, user) -> Customer:
    """The user's Stripe customer (one per user), created at Stripe on first
    need and mirrored. In test mode with STRIPE_USE_TEST_CLOCKS, a new customer
    gets a test clock of its own, so its renewals can be simulated."""
    existing = customer_for_user(user)
    if existing is not None and not existing.stripe_data.get("deleted"):
        return existing
    token = _user_token(user)
    clock_id = None
    use_clocks = settings.STRIPE_USE_TEST_CLOCKS
    if use_clocks is None:
        use_clocks = bool(settings.STRIPE_API_BASE)
    if use_clocks and not settings.STRIPE_LIVE_MODE:
        clock = gateway.test_clock_create(
            idempotency_key=f"shop-clock-{token}",
            frozen_time=int(timezone.now().timestamp()),
            name=f"Customer {user.get_username()}",
        )
        clock_id = clock.id
    created = gateway.customer_create(
        idempotency_key=f"shop-customer-{token}",
        email=user.email or user.get_username(),
        name=user.get_full_name(),
        metadata={"djstripe_subscriber": str(user.pk)},
        test_clock=clock_id,
    )
    customer = Customer.sync_from_stripe_data(created.raw)
    Customer.objects.filter(pk=customer.pk).update(subscriber=user)
    customer.subscriber = user
    return customer


# ---------------------------------------------------------------------------
# Sign-up
# ---------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def subscription_signup_price(*, user, price_id: str) -> Price:
    """The plan price `user` may sign up for. Refused (AlreadySubscribed) when
    the user already has a live subscription: Stripe is asked, since the
    mirror may lag its webhook."""
    price = plan_price_get(price_id)
    if price is None:
        raise SubscriptionError("This plan is not available.")
    customer = customer_for_user(user)
    if customer is None or customer.stripe_data.get("deleted"):
        return price
    for remote in gateway.subscription_list_for_customer(customer.id):
        if remote.status not in LIVE_STATUSES:
            continue
        if price.product_id in {item.product_id for item in remote.items}:
            raise AlreadySubscribed(f"You already subscribe to {price.product.name}.")
        raise AlreadySubscribed(
            "You already have a subscription. To switch plans, use “Change plan” on your subscription page."
        )
    return price


def _stripe_metadata(values: dict[str, str]) -> dict[str, str]:
    # Stripe drops a key set to "": leave empty values out.
    return {key: value for key, value in values.items() if value}


def _customer_billing_set(customer: Customer, billing: BillingDetails) -> None:
    """The billing address the VAT was worked out for, on the Stripe customer:
    every invoice of the subscription copies it (Checkout is told not to change it)."""
    address = {"line1": billing.line1, "postal_code": billing.postal_code, "city": billing.city,
               "country": billing.country}
    current = customer.stripe_data.get("address") or {}
    if customer.stripe_data.get("name") == billing.name and all(current.get(k) == v for k, v in address.items()):
        return
    digest = hashlib.sha256(json.dumps([billing.name, address], sort_keys=True).encode()).hexdigest()[:16]
    updated = gateway.customer_update_billing(customer.id, name=billing.name, address=address,
                                              idempotency_key=f"shop-customer-{customer.id}-billing-{digest}")
    Customer.sync_from_stripe_data(updated.raw)


def subscription_checkout_start(
    *, user, price_id: str, billing: BillingDetails, vat_check: VatIdCheck | None = None,
    quote_key: str | None = None,
) -> str:
    """Start a Checkout Session in subscription mode for the signed-in user and
    return its URL. The plan is charged with the VAT of the buyer's billing
    address (and VAT id, `vat_check` from billing.vies, asked by the caller
    outside any transaction): the buyer's price (subscriptions.plans), whose
    amount is the quote the page showed (`quote_key`: QuoteChanged when the
    address gives another). The address is set on the Stripe customer, where
    the invoices take it from; the VAT id check is kept in the subscription's
    metadata. Refused (AlreadySubscribed) when the user already has a live
    subscription."""
    price = subscription_signup_price(user=user, price_id=price_id)
    quote = plan_quote(plan_price=price, country=billing.country, vat_check=vat_check)
    if quote_key is not None and quote_key != quote.key:
        raise QuoteChanged(quote)
    customer = customer_get_or_create(user=user)
    _customer_billing_set(customer, billing)
    charged = buyer_price_get_or_create(plan_price=price, treatment=quote.treatment)
    recurring = price.recurring or {}
    metadata = _stripe_metadata({
        "shop_purpose": "subscription", "user_id": str(user.pk), "price": price.id,
        **quote.subscription_metadata(company=billing.company),
    })
    session = gateway.checkout_session_create_subscription(
        # A fresh key per click: the SDK's own retries of this call reuse it.
        idempotency_key=f"shop-subscribe-{_user_token(user)}-{charged.id}-{uuid.uuid4().hex}",
        customer=customer.id,
        price_id=charged.id,
        trial_period_days=recurring.get("trial_period_days") or None,
        metadata=metadata,
        success_url=_absolute(reverse("subscriptions:subscription")) + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=_absolute(reverse("subscriptions:plans")),
    )
    return session.url


def subscription_quote(*, subscription: Subscription, plan_price: Price) -> PlanQuote | None:
    """`plan_price` for the buyer of `subscription`, with the VAT they signed
    up with (None: a subscription from before VAT by place of supply, which
    stays at the seller's VAT)."""
    return subscription_plan_quote(plan_price=plan_price, metadata=subscription.stripe_data.get("metadata") or {})


def subscription_plan_price_for_buyer(*, subscription: Subscription, price: PlanPrice) -> PlanPrice:
    """A plan price as the subscription's buyer would pay it (their VAT), for
    the "Change plan" choices. Nothing is asked of Stripe."""
    mirrored = plan_price_get(price.id)
    quote = subscription_quote(subscription=subscription, plan_price=mirrored) if mirrored is not None else None
    return dataclasses.replace(price, amount=quote.amount) if quote is not None else price


def _buyer_price(subscription: Subscription, plan_price: Price) -> Price:
    """The price a subscription is charged for `plan_price`: the buyer's VAT
    is kept across plan changes."""
    quote = subscription_quote(subscription=subscription, plan_price=plan_price)
    if quote is None:
        return plan_price
    return buyer_price_get_or_create(plan_price=plan_price, treatment=quote.treatment)


def subscription_mirror(subscription_id: str) -> Subscription:
    """Mirror a subscription as Stripe has it now."""
    return Subscription.sync_from_stripe_data(Subscription(id=subscription_id).api_retrieve())


def subscription_checkout_completed(*, session: CheckoutSession) -> Subscription | None:
    """checkout.session.completed in subscription mode: make sure the customer
    is tied to its user and the subscription is in the mirror (dj-stripe's own
    subscription events do the same; whichever comes first wins, both read
    Stripe's current state)."""
    if not session.subscription_id:
        return None
    user_id = session.metadata.get("user_id")
    if session.customer_id:
        user = None
        if str(user_id or "").isdigit():
            user = get_user_model().objects.filter(pk=int(user_id)).first()
        customer_mirror(session.customer_id, user=user)
    return subscription_mirror(session.subscription_id)


# ---------------------------------------------------------------------------
# Self-service changes (each confirmed by its webhook)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    proration: bool


@dataclass(frozen=True)
class ChangePreview:
    """What a plan change does, as Stripe will do it: what is charged and when,
    and what credit the customer keeps."""

    NOW = "now"  # on an invoice of its own, at once (always_invoice)
    NEXT_INVOICE = "next_invoice"  # added to the next renewal (create_prorations)
    TRIAL_END = "trial_end"  # nothing during a free trial; the new price from its end

    price: Price  # what Stripe will charge: the plan's price with the buyer's VAT
    proration_date: int
    currency: str
    when: str
    # Charged at `charge_on` (now, the next renewal or the trial's end), VAT incl.
    amount_due: int
    charge_on: datetime | None
    lines: tuple[PreviewLine, ...] = ()
    # The unused time of the current plan worth more than what is charged:
    # Stripe keeps it on the customer's balance, for the next invoices.
    credit_kept: int = 0
    # When the new plan renews next, and at what price.
    renews_on: datetime | None = None

    @property
    def plan_price_id(self) -> str:
        """The plan price chosen (what the confirmation posts back)."""
        return plan_price_id_of(self.price)

    @property
    def proration_lines(self) -> tuple[PreviewLine, ...]:
        return tuple(line for line in self.lines if line.proration)


def _add_interval(moment: datetime, interval: str, count: int = 1) -> datetime:
    if interval == "year":
        return moment.replace(year=moment.year + count)
    if interval == "month":
        index = moment.month - 1 + count
        year, month = moment.year + index // 12, index % 12 + 1
        last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
                    30, 31, 30, 31][month - 1]
        return moment.replace(year=year, month=month, day=min(moment.day, last_day))
    return moment + timedelta(days=7 * count if interval == "week" else count)


def _change_details(subscription: Subscription, price: Price, proration_date: int) -> dict:
    item = subscription_item(subscription)
    return {
        "items": [{"id": item["id"], "price": price.id}],
        "proration_behavior": settings.SUBSCRIPTION_PRORATION_BEHAVIOR,
        "proration_date": proration_date,
    }


def _changeable(subscription: Subscription, price_id: str) -> Price:
    if subscription.status not in ("active", "trialing"):
        raise SubscriptionError("Only an active subscription can change plan.")
    price = plan_price_get(price_id)
    if price is None:
        raise SubscriptionError("This plan is not available.")
    if not subscription_item(subscription):
        raise SubscriptionError("This subscription has no plan to change.")
    return price


def subscription_change_preview(*, subscription: Subscription, price_id: str) -> ChangePreview | None:
    """What changing to `price_id` would do, as Stripe will do it. None when it
    is the plan the subscription already has.

    During a free trial nothing is charged and nothing is prorated: the trial
    goes on with the new plan, whose price is charged when it ends. Otherwise
    Stripe's invoice preview gives the prorations: charged at once on an
    invoice of its own (always_invoice), or added to the next renewal; a
    credit larger than the charge stays on the customer's balance."""
    price = _changeable(subscription, price_id)
    if subscription_plan_price_id(subscription) == price.id:
        return None
    price = _buyer_price(subscription, price)
    new = plan_price(price)
    summary = subscription_summary(subscription)
    if subscription.status == "trialing" and summary.trial_end:
        return ChangePreview(
            price=price, proration_date=int(timezone.now().timestamp()), currency=new.currency,
            when=ChangePreview.TRIAL_END, amount_due=new.amount, charge_on=summary.trial_end,
            renews_on=_add_interval(summary.trial_end, new.interval),
        )
    proration_date = int(timezone.now().timestamp())
    if subscription.test_clock:
        # On a test clock "now" is the clock's time.
        proration_date = gateway.test_clock_retrieve(subscription.test_clock).frozen_time
    preview = gateway.invoice_create_preview(
        customer=subscription.customer.id,
        subscription=subscription.id,
        subscription_details=_change_details(subscription, price, proration_date),
    )
    lines = tuple(
        PreviewLine(description=line.description, amount=line.amount, proration=line.proration)
        for line in preview.lines
    )
    now = datetime.fromtimestamp(proration_date, tz=dt_timezone.utc)
    period_end = subscription_period_end(subscription)
    # A change of interval (monthly <-> yearly) starts a new cycle now.
    new_cycle = summary.price is not None and summary.price.interval != new.interval
    if settings.SUBSCRIPTION_PRORATION_BEHAVIOR == "always_invoice" or new_cycle:
        return ChangePreview(
            price=price, proration_date=proration_date, currency=preview.currency or new.currency,
            when=ChangePreview.NOW, amount_due=preview.amount_due, charge_on=now, lines=lines,
            credit_kept=max(-sum(line.amount for line in lines), 0),
            renews_on=_add_interval(now, new.interval) if new_cycle else period_end,
        )
    return ChangePreview(
        price=price, proration_date=proration_date, currency=preview.currency or new.currency,
        when=ChangePreview.NEXT_INVOICE, amount_due=preview.amount_due, charge_on=period_end,
        lines=lines, renews_on=period_end,
    )


def _audit(*, subscription: Subscription, actor, action: str, message: str, reason: str = "", **data) -> None:
    """The audit trail of a subscription action (asked of Stripe: its webhook
    confirms it), by the customer or by staff."""
    customer = subscription.customer
    audit_record(
        action=action, actor=actor, target=subscription, reason=reason,
        message=f"Subscription {subscription.id} ({customer.email or customer.id}): {message}",
        data={"subscription": subscription.id, "customer": customer.id, **data},
    )


def subscription_change_plan(
    *, subscription: Subscription, price_id: str, proration_date: int, actor=None
) -> bool:
    """Move the subscription to another price, prorated as previewed (the same
    proration date). Returns False, doing nothing, for the plan it already has."""
    price = _changeable(subscription, price_id)
    if subscription_plan_price_id(subscription) == price.id:
        return False
    price = _buyer_price(subscription, price)
    gateway.subscription_update(
        subscription.id,
        params=_change_details(subscription, price, int(proration_date)),
        idempotency_key=f"shop-sub-{subscription.id}-change-{price.id}-{int(proration_date)}",
    )
    new = plan_price(price)
    _audit(subscription=subscription, actor=actor, action="subscription.plan_changed",
           message=f"plan change to {price.product.name} · {new.interval_label} asked of Stripe",
           price=price.id)
    return True


def subscription_cancel_at_period_end(*, subscription: Subscription, actor=None, reason: str = "") -> None:
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has already ended.")
    if subscription.cancel_at_period_end:
        return
    gateway.subscription_update(
        subscription.id,
        params={"cancel_at_period_end": True},
        idempotency_key=f"shop-sub-{subscription.id}-cancel-{uuid.uuid4().hex}",
    )
    end = subscription_period_end(subscription)
    _audit(subscription=subscription, actor=actor, action="subscription.cancel_at_period_end", reason=reason,
           message=f"cancellation at the end of the period{f' ({end:%Y-%m-%d})' if end else ''} asked of Stripe")


def subscription_resume(*, subscription: Subscription, actor=None) -> None:
    """Undo a cancellation at period end, before the period ends."""
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has already ended; subscribe again from the plans page.")
    if not (subscription.cancel_at_period_end or subscription.cancel_at):
        return
    gateway.subscription_update(
        subscription.id,
        params={"cancel_at_period_end": False},
        idempotency_key=f"shop-sub-{subscription.id}-resume-{uuid.uuid4().hex}",
    )
    _audit(subscription=subscription, actor=actor, action="subscription.resumed",
           message="resuming (no cancellation at the end of the period) asked of Stripe")


def subscription_pay_overdue(*, subscription: Subscription, actor=None) -> bool:
    """The customer pays the overdue invoice now with the card on file. True
    when Stripe took the payment; False when the card was declined again (the
    invoice stays open: replace the card). Stripe's webhooks bring the paid
    invoice and the active subscription into the mirror."""
    invoice_id = overdue_invoice_id(subscription)
    if subscription.status not in ("past_due", "unpaid") or not invoice_id:
        raise SubscriptionError("Nothing is overdue on this subscription.")
    paid = invoice_pay_overdue(invoice_id=invoice_id, payment_method_id=None)
    _audit(subscription=subscription, actor=actor, action="subscription.overdue_paid" if paid else
           "subscription.overdue_declined", message=f"overdue invoice {invoice_id} "
           + ("paid with the card on file" if paid else "declined again on the card on file"), invoice=invoice_id)
    return paid


def overdue_invoice_id(subscription: Subscription) -> str:
    """The invoice a past-due subscription waits on (Stripe's latest_invoice)."""
    latest = subscription.stripe_data.get("latest_invoice")
    return (latest.get("id") if isinstance(latest, dict) else latest) or ""


def card_replace_start(*, subscription: Subscription) -> str:
    """A Checkout Session in setup mode to save a new card; the webhook makes it
    the default of the customer and of the subscription, and pays an overdue
    invoice with it."""
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has ended; there is no card to replace.")
    metadata = {"shop_purpose": "card_replace", "subscription": subscription.id}
    session = gateway.checkout_session_create_setup(
        idempotency_key=f"shop-sub-{subscription.id}-card-{uuid.uuid4().hex}",
        customer=subscription.customer.id,
        currency=(subscription.stripe_data.get("currency") or settings.SHOP_CURRENCY),
        metadata=metadata,
        success_url=_absolute(reverse("subscriptions:subscription")) + "?card_session={CHECKOUT_SESSION_ID}",
        cancel_url=_absolute(reverse("subscriptions:subscription")),
    )
    return session.url


def card_replace_completed(*, session: CheckoutSession) -> Subscription | None:
    """checkout.session.completed in setup mode: the new card becomes the
    default for the customer's invoices and for the subscription; an overdue
    invoice is paid with it at once (Stripe would otherwise wait for its next
    retry). Every write carries an idempotency key, so a repeated webhook is
    harmless."""
    if not session.setup_intent_id:
        return None
    intent = gateway.setup_intent_retrieve(session.setup_intent_id)
    if intent.status != "succeeded":
        logger.info("setup intent %s is %s; no card to use", intent.id, intent.status)
        return None
    method_id = intent.payment_method_id
    customer_id = session.customer_id or intent.customer_id
    if not (method_id and customer_id):
        return None
    gateway.customer_set_default_payment_method(customer_id, payment_method_id=method_id)
    subscription_id = session.metadata.get("subscription")
    mirrored = Subscription.objects.filter(id=subscription_id).select_related("customer").first()
    if mirrored is not None:
        _audit(subscription=mirrored, actor="stripe", action="subscription.card_replaced",
               message=f"new card {method_id} made the default (Checkout in setup mode)")
    subscription = None
    if subscription_id:
        remote = gateway.subscription_update(
            subscription_id,
            params={"default_payment_method": method_id},
            idempotency_key=f"shop-sub-{subscription_id}-default-pm-{method_id}",
        )
        if remote.status in ("past_due", "unpaid") and remote.latest_invoice_id:
            invoice_pay_overdue(invoice_id=remote.latest_invoice_id, payment_method_id=method_id)
        subscription = subscription_mirror(subscription_id)
    customer_mirror(customer_id)
    return subscription


def invoice_pay_overdue(*, invoice_id: str, payment_method_id: str | None) -> bool:
    """Pay an open invoice now, with the given card (None: the one on file). A
    decline is not an error here: the invoice stays open and Stripe's retries
    go on."""
    # A new card is tried once per card; the card on file once per click.
    attempt = payment_method_id or uuid.uuid4().hex
    try:
        invoice = gateway.invoice_pay(
            invoice_id,
            idempotency_key=f"shop-invoice-{invoice_id}-pay-{attempt}",
            payment_method=payment_method_id,
        )
    except PaymentDeclined as error:
        logger.info("overdue invoice %s not paid with the new card: %s", invoice_id, error.detail or error)
        return False
    except GatewayError as error:
        if "paid" in (error.detail or str(error)).lower():
            return True  # paid meanwhile (a retry, or an earlier delivery of this webhook)
        raise
    return invoice.status == "paid"


# ---------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------


def subscription_cancel_now(*, subscription: Subscription, actor, reason: str = "") -> None:
    """Staff cancel a subscription at once, through Stripe (the
    customer.subscription.deleted webhook brings it into the mirror and tells
    the customer). Recorded in the audit trail."""
    if subscription.status in ("canceled", "incomplete_expired"):
        raise SubscriptionError(f"{subscription.id} has already ended.")
    gateway.subscription_cancel(
        subscription.id,
        idempotency_key=f"shop-sub-{subscription.id}-staff-cancel",
        comment=f"Cancelled by staff ({actor.get_username()}){': ' + reason if reason else ''}",
    )
    _audit(subscription=subscription, actor=actor, action="subscription.cancelled", reason=reason,
           message="cancelled by staff at Stripe")
