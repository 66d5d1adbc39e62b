"""Reads of the subscriptions package: plans, a customer's subscription and
what its page shows. They read dj-stripe's mirror only (Stripe's last word as
its webhooks brought it), never Stripe itself."""

from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from djstripe.models import Customer, Invoice, PaymentMethod, Price, Subscription

from billing.models import Document
from core.cards import card_brand_label

from .plans import INTERVAL_LABELS, PLAN_METADATA_KEY

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


def plan_price(price: Price) -> PlanPrice:
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
                    sorted((plan_price(p) for p in product_prices), key=lambda p: INTERVAL_ORDER.get(p.interval, 9))
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


def subscriptions_with_plan(queryset: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """Subscriptions with their plan's name and interval (`plan_name`,
    `plan_interval`) read from the mirrored price in the same query."""
    price = Price.objects.filter(id=OuterRef("plan_price_id"))
    return queryset.annotate(plan_price_id=KT("stripe_data__items__data__0__price__id")).annotate(
        plan_name=Subquery(price.values("product__name")[:1]),
        plan_interval=Subquery(price.annotate(interval=KT("stripe_data__recurring__interval")).values("interval")[:1]),
    )


def subscriber_label(subscription: Subscription) -> str:
    """Who subscribes, as staff read it: the user's e-mail, else Stripe's."""
    customer = subscription.customer
    if customer.subscriber_id:
        return customer.subscriber.email or customer.subscriber.get_username()
    return customer.email or customer.id


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
    # Past due: what the open invoice asks (None when nothing is overdue).
    amount_due: int | None = None
    currency: str = ""

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
    price = plan_price(mirrored) if mirrored is not None else None
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
        card_brand=card_brand_label(card.get("brand")),
        card_last4=card.get("last4", ""),
        amount_due=_overdue_amount(subscription) if status in ("past_due", "unpaid") else None,
        currency=data.get("currency") or (price.currency if price else ""),
    )


def _overdue_amount(subscription: Subscription) -> int | None:
    latest = subscription.stripe_data.get("latest_invoice")
    invoice_id = latest.get("id") if isinstance(latest, dict) else latest
    invoice = Invoice.objects.filter(id=invoice_id).only("stripe_data").first() if invoice_id else None
    if invoice is None or invoice.stripe_data.get("status") != "open":
        return None
    return int(invoice.stripe_data.get("amount_remaining", invoice.stripe_data.get("amount_due")) or 0)


def subscription_documents_for_user(*, user):
    """Our invoices and receipts of the customer's Stripe (subscription) invoices, newest first."""
    return (
        Document.objects.filter(customer=user)
        .filter(Q(stripe_invoice_id__isnull=False) | Q(related_document__stripe_invoice_id__isnull=False))
        .select_related("related_document")
        .order_by("-issued_at", "-pk")
    )
