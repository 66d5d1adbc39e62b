"""Subscriptions: plans, sign-up through Stripe Checkout, self-service changes,
and the documents of paid Stripe invoices.

Stripe holds the truth. Plans are Stripe Products with recurring Prices
(created by `manage.py stripe_sync_plans`), and dj-stripe mirrors them, the
customers, their subscriptions and invoices; the webhooks keep that mirror
current (dj-stripe re-reads each object from Stripe on every event, so events
arriving late or out of order still leave the latest state). Every action a
customer or staff member takes here is a Stripe API call; its effect reaches
the pages only once Stripe's webhook has brought it into the mirror.

Reads (the `plan_*`, `*_for_user` and `subscription_summary` functions) use the
mirror only. Writes (`*_start`, `subscription_*`, `card_replace_*`) call Stripe
through payments.gateway, never inside a database transaction.

Documents: every paid Stripe invoice with a positive total becomes one of our
invoices plus its receipt, numbered in the same INV/RCT series as shop orders
(billing.services.invoice_issue, idempotent per Stripe invoice). A €0 invoice
(the start of a free trial) gets no document: nothing was sold or paid, and no
VAT is due; the trial shows on the account page instead. An invoice whose total
is negative (a downgrade's credit larger than the new charge) gets none either:
Stripe keeps the credit on the customer's balance and takes it off the next
invoice, where our document shows it as a negative "account credit" line.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from djstripe.models import Customer, PaymentMethod, Price, Product, Subscription

from payments import gateway
from payments.exceptions import GatewayError, PaymentDeclined

from .exceptions import DocumentNotIssuable
from .models import Document
from .services import CARD_BRANDS, Buyer, invoice_issue, receipt_issue
from .tax import LineInput

logger = logging.getLogger(__name__)

# Statuses in which a subscription still counts as the customer's plan (a
# second sign-up is refused). `incomplete` is left out: a sign-up whose first
# payment failed expires by itself, and must not block a new attempt.
LIVE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused"})
STATUS_LABELS = {
    "active": "Active",
    "trialing": "Free trial",
    "past_due": "Payment overdue",
    "unpaid": "Unpaid",
    "paused": "Paused",
    "incomplete": "Awaiting first payment",
    "incomplete_expired": "Sign-up expired",
    "canceled": "Cancelled",
}
INTERVAL_LABELS = {"month": "Monthly", "year": "Yearly", "week": "Weekly", "day": "Daily"}
# Metadata on a plan's Stripe product: which shop plan it is, and its VAT rate.
PLAN_METADATA_KEY = "shop_plan"
VAT_METADATA_KEY = "vat_rate"


class SubscriptionError(Exception):
    """A subscription request that cannot be done; `str(error)` is fit to show the customer."""


class AlreadySubscribed(SubscriptionError):
    pass


# ---------------------------------------------------------------------------
# The plan catalogue (what stripe_sync_plans creates at Stripe)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSpec:
    key: str
    name: str
    description: str
    amounts: dict[str, int]  # interval -> VAT-included amount in minor units
    trial_days: int | None = None
    currency: str = "eur"
    vat_rate: str = "20.00"

    @property
    def product_id(self) -> str:
        # A fixed product id makes creating it at Stripe idempotent across runs.
        return "shop_plan_" + self.key.replace("-", "_")

    def lookup_key(self, interval: str) -> str:
        return f"{self.key}-{INTERVAL_LABELS.get(interval, interval).lower()}"


PLAN_CATALOGUE = (
    PlanSpec(
        key="coffee-club",
        name="Coffee club",
        description="A fresh 250 g bag of our roaster's pick every month, with tasting notes.",
        amounts={"month": 1900, "year": 19000},
        trial_days=14,
    ),
    PlanSpec(
        key="coffee-club-plus",
        name="Coffee club Plus",
        description="Two 250 g bags a month, a single origin and a blend, plus early access to rare lots.",
        amounts={"month": 2900, "year": 29000},
    ),
)


def plans_sync(*, catalogue: Iterable[PlanSpec] = PLAN_CATALOGUE) -> list[Price]:
    """Create at Stripe whatever plan product or price is missing (prices are
    found by lookup key), then mirror them all into dj-stripe. Idempotent."""
    catalogue = list(catalogue)
    wanted = {spec.lookup_key(interval): (spec, interval) for spec in catalogue for interval in spec.amounts}
    found = {p["lookup_key"]: p for p in gateway.price_list_by_lookup_keys(sorted(wanted))}
    mirrored = []
    products: dict[str, dict] = {}
    for lookup_key, (spec, interval) in wanted.items():
        if spec.product_id not in products:
            product = gateway.product_retrieve(spec.product_id) or gateway.product_create(
                product_id=spec.product_id,
                name=spec.name,
                description=spec.description,
                metadata={PLAN_METADATA_KEY: spec.key, VAT_METADATA_KEY: spec.vat_rate},
            )
            products[spec.product_id] = product
            Product.sync_from_stripe_data(product)
        price = found.get(lookup_key)
        if price is None:
            price = gateway.price_create(
                product_id=spec.product_id,
                lookup_key=lookup_key,
                currency=spec.currency,
                unit_amount=spec.amounts[interval],
                interval=interval,
                trial_period_days=spec.trial_days,
                metadata={PLAN_METADATA_KEY: spec.key},
            )
        mirrored.append(Price.sync_from_stripe_data(price))
    return mirrored


# ---------------------------------------------------------------------------
# Reads (the dj-stripe mirror only)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanPrice:
    id: str
    interval: str
    amount: int
    currency: str
    trial_days: int | None

    @property
    def interval_label(self) -> str:
        return INTERVAL_LABELS.get(self.interval, self.interval)


@dataclass(frozen=True)
class Plan:
    product_id: str
    name: str
    description: str
    prices: tuple[PlanPrice, ...]

    @property
    def trial_days(self) -> int | None:
        return max((p.trial_days or 0 for p in self.prices), default=0) or None


INTERVAL_ORDER = {"day": 0, "week": 1, "month": 2, "year": 3}


def _plan_price(price: Price) -> PlanPrice:
    recurring = price.recurring or {}
    return PlanPrice(
        id=price.id,
        interval=recurring.get("interval", ""),
        amount=int(price.unit_amount or 0),
        currency=price.currency,
        trial_days=recurring.get("trial_period_days") or None,
    )


def plan_list() -> list[Plan]:
    """Active plans (products marked as shop plans) with their active recurring prices."""
    prices = (
        Price.objects.filter(active=True, product__active=True, product__metadata__has_key=PLAN_METADATA_KEY)
        .select_related("product")
        .order_by("product__name", "pk")
    )
    plans: dict[str, list[Price]] = {}
    for price in prices:
        if price.type == "recurring":
            plans.setdefault(price.product_id, []).append(price)
    result = []
    for product_prices in plans.values():
        product = product_prices[0].product
        result.append(
            Plan(
                product_id=product.id,
                name=product.name,
                description=product.description,
                prices=tuple(
                    sorted((_plan_price(p) for p in product_prices), key=lambda p: INTERVAL_ORDER.get(p.interval, 9))
                ),
            )
        )
    return sorted(result, key=lambda plan: min((p.amount for p in plan.prices), default=0))


def plan_price_get(price_id: str) -> Price | None:
    """An active plan price by id (from the mirror), or None."""
    price = (
        Price.objects.filter(id=price_id, active=True, product__metadata__has_key=PLAN_METADATA_KEY)
        .select_related("product")
        .first()
    )
    return price if price is not None and price.type == "recurring" else None


def customer_for_user(user) -> Customer | None:
    if user is None or not user.is_authenticated:
        return None
    return Customer.objects.filter(subscriber=user).order_by("-created", "-djstripe_id").first()


def subscriptions_for_user(user):
    if user is None or not user.is_authenticated:
        return Subscription.objects.none()
    return Subscription.objects.filter(customer__subscriber=user).select_related("customer")


def subscription_for_user(user) -> Subscription | None:
    """The customer's current subscription: the newest live one, else the newest."""
    subscriptions = list(subscriptions_for_user(user).order_by("-created", "-djstripe_id"))
    live = [s for s in subscriptions if s.status in LIVE_STATUSES]
    return (live or subscriptions or [None])[0]


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=dt_timezone.utc) if value else None


def subscription_item(subscription: Subscription) -> dict:
    data = (subscription.stripe_data.get("items") or {}).get("data") or []
    return data[0] if data else {}


def subscription_price_id(subscription: Subscription) -> str:
    price = subscription_item(subscription).get("price") or {}
    return price.get("id", "") if isinstance(price, dict) else str(price)


def subscription_period_end(subscription: Subscription) -> datetime | None:
    # Since API version 2025-03-31 the period lives on the items.
    item = subscription_item(subscription)
    return _ts(item.get("current_period_end") or subscription.stripe_data.get("current_period_end"))


def _card_of(payment_method_id: str | None) -> dict:
    if not payment_method_id:
        return {}
    method = PaymentMethod.objects.filter(id=payment_method_id).first()
    return (method.stripe_data.get("card") or {}) if method is not None else {}


@dataclass
class SubscriptionSummary:
    subscription: Subscription
    plan_name: str
    price: PlanPrice | None
    status: str
    status_label: str
    renews_on: datetime | None
    renewal_amount: int | None
    cancel_at_period_end: bool
    ends_on: datetime | None
    trial_end: datetime | None
    card_brand: str
    card_last4: str
    documents: list = field(default_factory=list)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def can_change(self) -> bool:
        return self.status in ("active", "trialing")


def subscription_summary(subscription: Subscription) -> SubscriptionSummary:
    data = subscription.stripe_data
    item = subscription_item(subscription)
    price_data = item.get("price") or {}
    price_id = price_data.get("id", "") if isinstance(price_data, dict) else str(price_data)
    mirrored = Price.objects.filter(id=price_id).select_related("product").first()
    price = _plan_price(mirrored) if mirrored is not None else None
    plan_name = mirrored.product.name if mirrored is not None else (price_data.get("nickname") or "Subscription")
    quantity = int(item.get("quantity") or 1)
    status = data.get("status", "")
    period_end = subscription_period_end(subscription)
    cancel_at = _ts(data.get("cancel_at"))
    cancelling = bool(data.get("cancel_at_period_end") or cancel_at)
    customer = subscription.customer
    card = _card_of(data.get("default_payment_method")) or _card_of(
        (customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")
    )
    return SubscriptionSummary(
        subscription=subscription,
        plan_name=plan_name,
        price=price,
        status=status,
        status_label=STATUS_LABELS.get(status, status.replace("_", " ").capitalize()),
        renews_on=None if cancelling or status not in LIVE_STATUSES else period_end,
        renewal_amount=(price.amount * quantity) if price and status in LIVE_STATUSES and not cancelling else None,
        cancel_at_period_end=cancelling and status in LIVE_STATUSES,
        ends_on=(cancel_at or period_end) if cancelling else _ts(data.get("ended_at")),
        trial_end=_ts(data.get("trial_end")) if status == "trialing" else None,
        card_brand=CARD_BRANDS.get((card.get("brand") or "").lower(), (card.get("brand") or "").title()),
        card_last4=card.get("last4", ""),
        documents=list(subscription_documents_for_user(user=customer.subscriber)) if customer.subscriber else [],
    )


def subscription_documents_for_user(*, user):
    """Our invoices and receipts of the customer's Stripe (subscription) invoices, newest first."""
    return (
        Document.objects.filter(customer=user)
        .filter(Q(stripe_invoice_id__isnull=False) | Q(related_document__stripe_invoice_id__isnull=False))
        .select_related("related_document")
        .order_by("-issued_at", "-pk")
    )


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
    use_clocks = getattr(settings, "STRIPE_USE_TEST_CLOCKS", None)
    if use_clocks is None:
        use_clocks = bool(settings.STRIPE_API_BASE)
    if use_clocks and not settings.STRIPE_LIVE_MODE:
        clock = gateway.test_clock_create(
            idempotency_key=f"shop-clock-{token}",
            frozen_time=int(timezone.now().timestamp()),
            name=f"Customer {user.get_username()}",
        )
        clock_id = clock["id"]
    data = gateway.customer_create(
        idempotency_key=f"shop-customer-{token}",
        email=user.email or user.get_username(),
        name=user.get_full_name(),
        metadata={"djstripe_subscriber": str(user.pk)},
        test_clock=clock_id,
    )
    customer = Customer.sync_from_stripe_data(data)
    Customer.objects.filter(pk=customer.pk).update(subscriber=user)
    customer.subscriber = user
    return customer


# ---------------------------------------------------------------------------
# Sign-up
# ---------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def subscription_checkout_start(*, user, price_id: str) -> str:
    """Start a Checkout Session in subscription mode for the signed-in user and
    return its URL. Refused (AlreadySubscribed) when the user already has a
    live subscription: Stripe is asked, since the mirror may lag its webhook."""
    price = plan_price_get(price_id)
    if price is None:
        raise SubscriptionError("This plan is not available.")
    customer = customer_get_or_create(user=user)
    for remote in gateway.subscription_list_for_customer(customer.id):
        if remote.get("status") not in LIVE_STATUSES:
            continue
        items = (remote.get("items") or {}).get("data") or []
        products = {(i.get("price") or {}).get("product") for i in items}
        if price.product_id in products:
            raise AlreadySubscribed(f"You already subscribe to {price.product.name}.")
        raise AlreadySubscribed(
            "You already have a subscription. To switch plans, use “Change plan” on your subscription page."
        )
    recurring = price.recurring or {}
    metadata = {"shop_purpose": "subscription", "user_id": str(user.pk), "price": price.id}
    session = gateway.checkout_session_create_subscription(
        # A fresh key per click: the SDK's own retries of this call reuse it.
        idempotency_key=f"shop-subscribe-{_user_token(user)}-{price.id}-{uuid.uuid4().hex}",
        customer=customer.id,
        price_id=price.id,
        trial_period_days=recurring.get("trial_period_days") or None,
        metadata=metadata,
        success_url=_absolute(reverse("shop:subscription")) + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=_absolute(reverse("shop:plans")),
    )
    return session["url"]


def subscription_mirror(subscription_id: str) -> Subscription:
    """Mirror a subscription as Stripe has it now."""
    return Subscription.sync_from_stripe_data(Subscription(id=subscription_id).api_retrieve())


def subscription_checkout_completed(*, session: dict) -> Subscription | None:
    """checkout.session.completed in subscription mode: make sure the customer
    is tied to its user and the subscription is in the mirror (dj-stripe's own
    subscription events do the same; whichever comes first wins, both read
    Stripe's current state)."""
    subscription_id = session.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id.get("id")
    if not subscription_id:
        return None
    user_id = (session.get("metadata") or {}).get("user_id")
    customer_id = session.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    if customer_id:
        user = None
        if str(user_id or "").isdigit():
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(pk=int(user_id)).first()
        customer_mirror(customer_id, user=user)
    return subscription_mirror(subscription_id)


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
    price: Price
    proration_date: int
    amount_due: int
    currency: str
    lines: tuple[PreviewLine, ...]
    immediate: bool  # charged (or credited) now, on its own invoice

    @property
    def proration_lines(self) -> tuple[PreviewLine, ...]:
        return tuple(line for line in self.lines if line.proration)


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
    """What changing to `price_id` would cost now (Stripe's invoice preview with
    the prorations). None when it is the plan the subscription already has."""
    price = _changeable(subscription, price_id)
    if subscription_price_id(subscription) == price.id:
        return None
    proration_date = int(timezone.now().timestamp())
    if subscription.test_clock:
        # On a test clock "now" is the clock's time.
        proration_date = int(gateway.test_clock_retrieve(subscription.test_clock)["frozen_time"])
    preview = gateway.invoice_create_preview(
        customer=subscription.customer.id,
        subscription=subscription.id,
        subscription_details=_change_details(subscription, price, proration_date),
    )
    lines = tuple(
        PreviewLine(
            description=line.get("description") or "",
            amount=int(line.get("amount") or 0),
            proration=bool(
                ((line.get("parent") or {}).get("subscription_item_details") or {}).get("proration")
                or line.get("proration")
            ),
        )
        for line in (preview.get("lines") or {}).get("data") or []
    )
    immediate = preview.get("billing_reason") == "subscription_update" or (
        settings.SUBSCRIPTION_PRORATION_BEHAVIOR == "always_invoice"
    )
    return ChangePreview(
        price=price,
        proration_date=proration_date,
        amount_due=int(preview.get("amount_due") or 0),
        currency=preview.get("currency") or price.currency,
        lines=lines,
        immediate=immediate,
    )


def subscription_change_plan(*, subscription: Subscription, price_id: str, proration_date: int) -> bool:
    """Move the subscription to another price, prorated as previewed (the same
    proration date). Returns False, doing nothing, for the plan it already has."""
    price = _changeable(subscription, price_id)
    if subscription_price_id(subscription) == price.id:
        return False
    gateway.subscription_update(
        subscription.id,
        params=_change_details(subscription, price, int(proration_date)),
        idempotency_key=f"shop-sub-{subscription.id}-change-{price.id}-{int(proration_date)}",
    )
    return True


def subscription_cancel_at_period_end(*, subscription: Subscription) -> None:
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has already ended.")
    if subscription.cancel_at_period_end:
        return
    gateway.subscription_update(
        subscription.id,
        params={"cancel_at_period_end": True},
        idempotency_key=f"shop-sub-{subscription.id}-cancel-{uuid.uuid4().hex}",
    )


def subscription_resume(*, subscription: Subscription) -> None:
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
        success_url=_absolute(reverse("shop:subscription")) + "?card_session={CHECKOUT_SESSION_ID}",
        cancel_url=_absolute(reverse("shop:subscription")),
    )
    return session["url"]


def card_replace_completed(*, session: dict) -> Subscription | None:
    """checkout.session.completed in setup mode: the new card becomes the
    default for the customer's invoices and for the subscription; an overdue
    invoice is paid with it at once (Stripe would otherwise wait for its next
    retry). Every write carries an idempotency key, so a repeated webhook is
    harmless."""
    setup_intent_id = session.get("setup_intent")
    if isinstance(setup_intent_id, dict):
        setup_intent_id = setup_intent_id.get("id")
    if not setup_intent_id:
        return None
    intent = gateway.setup_intent_retrieve(setup_intent_id)
    if intent.get("status") != "succeeded":
        logger.info("setup intent %s is %s; no card to use", setup_intent_id, intent.get("status"))
        return None
    method = intent.get("payment_method")
    method_id = method.get("id") if isinstance(method, dict) else method
    customer_id = session.get("customer") or intent.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    if not (method_id and customer_id):
        return None
    gateway.customer_set_default_payment_method(customer_id, payment_method_id=method_id)
    subscription_id = (session.get("metadata") or {}).get("subscription")
    subscription = None
    if subscription_id:
        remote = gateway.subscription_update(
            subscription_id,
            params={"default_payment_method": method_id},
            idempotency_key=f"shop-sub-{subscription_id}-default-pm-{method_id}",
        )
        if remote.get("status") in ("past_due", "unpaid") and remote.get("latest_invoice"):
            invoice_pay_overdue(invoice_id=remote["latest_invoice"], payment_method_id=method_id)
        subscription = subscription_mirror(subscription_id)
    customer_mirror(customer_id)
    return subscription


def invoice_pay_overdue(*, invoice_id: str, payment_method_id: str) -> bool:
    """Pay an open invoice with the given card now. A decline is not an error
    here: the invoice stays open and Stripe's retries go on."""
    try:
        invoice = gateway.invoice_pay(
            invoice_id,
            idempotency_key=f"shop-invoice-{invoice_id}-pay-{payment_method_id}",
            payment_method=payment_method_id,
        )
    except PaymentDeclined as error:
        logger.info("overdue invoice %s not paid with the new card: %s", invoice_id, error.detail or error)
        return False
    except GatewayError as error:
        if "paid" in (error.detail or str(error)).lower():
            return True  # paid meanwhile (a retry, or an earlier delivery of this webhook)
        raise
    return invoice.get("status") == "paid"


# ---------------------------------------------------------------------------
# Staff
# ---------------------------------------------------------------------------


def subscription_cancel_now(*, subscription: Subscription, staff, reason: str = "") -> None:
    """Staff cancel a subscription at once, through Stripe (the
    customer.subscription.deleted webhook brings it into the mirror and tells
    the customer). Recorded in the audit trail when that app is installed."""
    if subscription.status in ("canceled", "incomplete_expired"):
        raise SubscriptionError(f"{subscription.id} has already ended.")
    gateway.subscription_cancel(
        subscription.id,
        idempotency_key=f"shop-sub-{subscription.id}-staff-cancel",
        comment=f"Cancelled by staff ({staff.get_username()}){': ' + reason if reason else ''}",
    )
    _audit(
        actor=staff,
        action="subscription.cancelled",
        target=subscription,
        message=f"Subscription {subscription.id} ({subscription.customer.email}) cancelled by staff at Stripe",
        reason=reason,
        data={"subscription": subscription.id, "customer": subscription.customer.id},
    )


def _audit(*, actor, action: str, target, message: str, reason: str = "", data: dict | None = None) -> None:
    """The audit trail (audit.services.audit_record), when the audit app is installed."""
    logger.info("audit %s by %s: %s", action, actor, message)
    if not apps.is_installed("audit"):
        return
    from audit.services import audit_record

    audit_record(action=action, message=message, actor=actor, target=target, reason=reason, data=data or {})


# ---------------------------------------------------------------------------
# Documents of paid Stripe invoices
# ---------------------------------------------------------------------------


def _vat_rate_for_product(product_id: str | None) -> Decimal:
    rate = settings.SUBSCRIPTION_VAT_RATE
    if product_id:
        product = Product.objects.filter(id=product_id).only("metadata").first()
        if product is not None and (product.metadata or {}).get(VAT_METADATA_KEY):
            rate = product.metadata[VAT_METADATA_KEY]
    return Decimal(str(rate))


def _line_product(line: dict) -> tuple[str | None, str]:
    """(product id, price id) of an invoice line, whatever the API version's shape."""
    pricing = (line.get("pricing") or {}).get("price_details") or {}
    price = pricing.get("price") or line.get("price") or ""
    product = pricing.get("product")
    if isinstance(price, dict):
        product = product or price.get("product")
        price = price.get("id", "")
    if isinstance(product, dict):
        product = product.get("id")
    return product, price


def _date_label(ts) -> str:
    return timezone.localdate(_ts(ts)).strftime("%-d %b %Y") if ts else ""


def invoice_lines_for_document(invoice: dict, lines: list[dict]) -> list[LineInput]:
    """Our document lines for a Stripe invoice: one per Stripe line (a proration
    credit stays its own negative line), each with its service period; plus a
    negative line for any credit taken from the customer's balance."""
    result = []
    for line in lines:
        product_id, price_id = _line_product(line)
        name = line.get("description") or "Subscription"
        period = line.get("period") or {}
        if period.get("start") and period.get("end") and period["end"] > period["start"]:
            name = f"{name} — {_date_label(period['start'])} to {_date_label(period['end'])}"
        result.append(
            LineInput(
                name=name,
                sku=price_id or "",
                quantity=1,  # the Stripe amount is for the line's whole quantity
                unit_amount=int(line.get("amount") or 0),
                vat_rate=_vat_rate_for_product(product_id),
            )
        )
    total, due = int(invoice.get("total") or 0), int(invoice.get("amount_due") or 0)
    if due < total:
        product_ids = [p for p, _ in (_line_product(line) for line in lines) if p]
        result.append(
            LineInput(
                name="Account credit applied (from an earlier plan change)",
                quantity=1,
                unit_amount=due - total,
                vat_rate=_vat_rate_for_product(product_ids[0] if product_ids else None),
            )
        )
    return result


def _payment_reference(invoice: dict) -> str:
    parts = []
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        charge = intent.get("latest_charge") if isinstance(intent, dict) else None
        card = ((charge or {}).get("payment_method_details") or {}).get("card") if isinstance(charge, dict) else None
        if card and payment.get("status") in ("paid", None):
            brand = CARD_BRANDS.get((card.get("brand") or "").lower(), (card.get("brand") or "").title())
            parts.append(f"Card {brand} •••• {card.get('last4', '')}".replace("  ", " "))
            break
    parts.append(f"Stripe {invoice['id']}")
    return ", ".join(parts)


def _charge_billing_details(invoice: dict) -> dict:
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        charge = intent.get("latest_charge") if isinstance(intent, dict) else None
        if isinstance(charge, dict):
            return charge.get("billing_details") or {}
    return {}


def _buyer(invoice: dict) -> Buyer:
    """The buyer as Stripe knows them: the invoice's customer address (Checkout
    collects it), else the card's billing address. Without any country, the
    seller's: VAT is charged at the seller's rate, a domestic sale."""
    billing = _charge_billing_details(invoice)
    address = invoice.get("customer_address") or {}
    if not address.get("country"):
        address = billing.get("address") or address
    email = invoice.get("customer_email") or billing.get("email") or ""
    country = address.get("country") or (getattr(settings, "SHOP_SELLER", {}) or {}).get("country", "")
    return Buyer(
        name=invoice.get("customer_name") or billing.get("name") or email,
        email=email,
        address_line1=address.get("line1") or "",
        postal_code=address.get("postal_code") or "",
        city=address.get("city") or "",
        country=country,
    )


def _user_of_customer(customer_id: str | None):
    if not customer_id:
        return None
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first()
    return customer.subscriber if customer is not None else None


def invoice_subscription_id(invoice: dict) -> str | None:
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    value = parent.get("subscription") or invoice.get("subscription")
    return value.get("id") if isinstance(value, dict) else value


BILLING_REASONS = {
    "subscription_create": "first payment",
    "subscription_cycle": "renewal",
    "subscription_update": "plan change",
}


def subscription_invoice_documents_issue(*, stripe_invoice_id: str) -> tuple[Document, Document] | None:
    """Issue our invoice and receipt for a paid Stripe invoice, in one
    transaction, in the shop's INV/RCT series. Idempotent: a second call (a
    repeated webhook, the reconciliation) returns the documents already issued.
    None when the invoice gets no document (see the module docstring)."""
    existing = Document.objects.filter(stripe_invoice_id=stripe_invoice_id, kind=Document.Kind.INVOICE).first()
    if existing is not None:
        receipt = Document.objects.filter(kind=Document.Kind.RECEIPT, related_document=existing).first()
        if receipt is not None:
            return existing, receipt
    invoice = gateway.invoice_retrieve(stripe_invoice_id)  # Stripe's current state, not the event's
    if invoice.get("status") != "paid":
        raise DocumentNotIssuable(f"Stripe invoice {stripe_invoice_id} is {invoice.get('status')}, not paid.")
    if int(invoice.get("total") or 0) <= 0:
        logger.info("stripe invoice %s totals %s: no document", stripe_invoice_id, invoice.get("total"))
        return None
    lines = (invoice.get("lines") or {}).get("data") or []
    if (invoice.get("lines") or {}).get("has_more"):
        lines = gateway.invoice_lines_all(stripe_invoice_id)
    document_lines = invoice_lines_for_document(invoice, lines)
    paid = int(invoice.get("amount_paid") or 0)
    if sum(line.gross for line in document_lines) != paid:
        raise DocumentNotIssuable(
            f"Stripe invoice {stripe_invoice_id}: its lines do not add up to the {paid} paid; staff must look."
        )
    paid_at = _ts((invoice.get("status_transitions") or {}).get("paid_at"))
    reason = BILLING_REASONS.get(invoice.get("billing_reason") or "", "")
    mentions = [f"Subscription invoice{f' ({reason})' if reason else ''}, Stripe reference {invoice.get('number') or invoice['id']}."]
    payment_reference = _payment_reference(invoice)
    customer = _user_of_customer(invoice.get("customer"))
    try:
        with transaction.atomic():
            document = invoice_issue(
                buyer=_buyer(invoice),
                lines=document_lines,
                currency=invoice["currency"],
                customer=customer,
                stripe_invoice_id=stripe_invoice_id,
                payment_reference=payment_reference,
                paid_at=paid_at,
                extra_mentions=mentions,
            )
            receipt = receipt_issue(invoice=document, payment_reference=payment_reference, paid_at=paid_at)
    except IntegrityError:
        # Issued concurrently by another delivery: that transaction won (and
        # took the numbers); ours rolled back whole, so no number was burnt.
        document = Document.objects.get(stripe_invoice_id=stripe_invoice_id)
        receipt = Document.objects.get(kind=Document.Kind.RECEIPT, related_document=document)
    return document, receipt


def paid_invoices_without_documents(*, days: int = 3) -> list[str]:
    """Stripe invoices paid in the last days (positive total) that have no
    document yet: a webhook lost for good. Asked of Stripe, not the mirror."""
    since = int((timezone.now() - timedelta(days=days)).timestamp())
    invoices = [i for i in gateway.invoice_list(status="paid", created_gte=since) if int(i.get("total") or 0) > 0]
    issued = set(
        Document.objects.filter(stripe_invoice_id__in=[i["id"] for i in invoices]).values_list(
            "stripe_invoice_id", flat=True
        )
    )
    return [i["id"] for i in invoices if i["id"] not in issued]
