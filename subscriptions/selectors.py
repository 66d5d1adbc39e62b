"""Reads of the subscriptions package: plans, a customer's subscription and
what its page shows. They read dj-stripe's mirror only (Stripe's last word as
its webhooks brought it), never Stripe itself."""

from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BigIntegerField, Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from djstripe.models import Customer, Invoice, PaymentMethod, Price, Subscription

from billing.models import Document
from core.cards import card_brand_label
from core.db import local_period
from orders.selectors import order_last_billing_for_customer

from .models import InvoiceRefusal
from .plans import INTERVAL_LABELS, PLAN_METADATA_KEY, is_plan_price, plan_price_id_of
from .pricing import BUYER_COMPANY_KEY, VAT_ID_KEY

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
        # A buyer's VAT variant of a plan price is not a plan of its own.
        if price.type == "recurring" and is_plan_price(price):
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
    return price if price is not None and price.type == "recurring" and is_plan_price(price) else None


def customer_for_user(user) -> Customer | None:
    if user is None or not user.is_authenticated:
        return None
    return Customer.objects.filter(subscriber=user).order_by("-created", "-djstripe_id").first()


def billing_initial_for_user(user) -> dict:
    """The billing details to prefill the subscribe page with: the Stripe
    customer's (what the last subscription was invoiced to, with its VAT id),
    else those of the customer's latest shop order, else nothing."""
    customer = customer_for_user(user)
    address = (customer.stripe_data.get("address") or {}) if customer is not None else {}
    if address.get("country"):
        latest = subscriptions_for_user(user).order_by("-created", "-djstripe_id").first()
        metadata = (latest.stripe_data.get("metadata") or {}) if latest is not None else {}
        return {
            "billing_name": customer.stripe_data.get("name") or "",
            "billing_company": metadata.get(BUYER_COMPANY_KEY, ""),
            "billing_line1": address.get("line1") or "",
            "billing_postal_code": address.get("postal_code") or "",
            "billing_city": address.get("city") or "",
            "billing_country": address["country"],
            "vat_id": metadata.get(VAT_ID_KEY, ""),
        }
    return order_last_billing_for_customer(user=user)


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


def subscription_plan_price_id(subscription: Subscription) -> str:
    """The plan price the subscription is on: the catalogue price, also when
    Stripe charges the buyer's VAT variant of it (subscriptions.plans)."""
    return plan_price_id_of(subscription_item(subscription).get("price"))


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


def _price_id(item: dict) -> str:
    price_data = item.get("price") or {}
    return price_data.get("id", "") if isinstance(price_data, dict) else str(price_data)


def _payment_method_ids(subscription: Subscription) -> tuple[str | None, str | None]:
    """The subscription's own card, then its customer's default."""
    customer_default = (subscription.customer.stripe_data.get("invoice_settings") or {}).get("default_payment_method")
    return subscription.stripe_data.get("default_payment_method"), customer_default


def _summarise(subscription: Subscription, *, mirrored: Price | None, card: dict) -> SubscriptionSummary:
    data = subscription.stripe_data
    item = subscription_item(subscription)
    price_data = item.get("price") or {}
    price = plan_price(mirrored) if mirrored is not None else None
    plan_name = mirrored.product.name if mirrored is not None else (
        (price_data.get("nickname") if isinstance(price_data, dict) else None) or "Subscription")
    quantity = int(item.get("quantity") or 1)
    status = data.get("status", "")
    period_end = subscription_period_end(subscription)
    cancel_at = _ts(data.get("cancel_at"))
    cancelling = bool(data.get("cancel_at_period_end") or cancel_at)
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


def subscription_summary(subscription: Subscription) -> SubscriptionSummary:
    """What the customer's subscription page shows of one subscription."""
    mirrored = Price.objects.filter(id=_price_id(subscription_item(subscription))).select_related("product").first()
    own, default = _payment_method_ids(subscription)
    return _summarise(subscription, mirrored=mirrored, card=_card_of(own) or _card_of(default))


def subscription_summaries(subscriptions) -> list[SubscriptionSummary]:
    """Summaries of several subscriptions (the API's pages), their prices and
    cards read in one query each."""
    subscriptions = list(subscriptions)
    prices = prices_by_id(_price_id(subscription_item(s)) for s in subscriptions)
    method_ids = {pm for s in subscriptions for pm in _payment_method_ids(s) if pm}
    cards = {pm.id: pm.stripe_data.get("card") or {} for pm in PaymentMethod.objects.filter(id__in=method_ids)}
    summaries = []
    for subscription in subscriptions:
        own, default = _payment_method_ids(subscription)
        summaries.append(_summarise(subscription, mirrored=prices.get(_price_id(subscription_item(subscription))),
                                    card=cards.get(own) or cards.get(default) or {}))
    return summaries


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


# -- the API's reads ---------------------------------------------------------------

def subscription_list_for_viewer(*, user):
    """The subscriptions a signed-in viewer may read: every one for active
    staff (as in admin), else their own."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Subscription.objects.none()
    subscriptions = Subscription.objects.select_related("customer", "customer__subscriber")
    if user.is_staff:
        return subscriptions
    return subscriptions.filter(customer__subscriber=user)


def prices_by_id(price_ids) -> dict[str, Price]:
    """The mirrored prices (with their products) of several subscriptions, in one query."""
    return {price.id: price for price in Price.objects.filter(id__in=set(price_ids)).select_related("product")}


def subscription_documents(*, subscription_ids) -> dict[str, list[Document]]:
    """Our invoices and receipts of the Stripe invoices of these subscriptions,
    oldest first, by subscription id (two queries whatever their number).
    The invoice names its subscription in `parent.subscription_details` since
    API version 2025-03-31, in `subscription` before."""
    subscription_ids = list(subscription_ids)
    if not subscription_ids:
        return {}
    owner = {}
    invoices = Invoice.objects.filter(
        Q(subscription_id__in=subscription_ids)
        | Q(stripe_data__parent__subscription_details__subscription__in=subscription_ids)
    ).values_list("id", "subscription_id", "stripe_data__parent__subscription_details__subscription")
    for invoice_id, legacy, parent in invoices:
        owner[invoice_id] = parent or legacy
    documents = (
        Document.objects.filter(Q(stripe_invoice_id__in=owner) | Q(related_document__stripe_invoice_id__in=owner))
        .select_related("related_document")
        .order_by("issued_at", "pk")
    )
    result: dict[str, list[Document]] = {}
    for document in documents:
        invoice_id = document.stripe_invoice_id or document.related_document.stripe_invoice_id
        result.setdefault(owner[invoice_id], []).append(document)
    return result


# -- the staff dashboard's figures (aggregated by the database) ---------------------

# The first (and, for the shop's plans, only) item of a subscription, in dj-stripe's copy of it.
_ITEM = "stripe_data__items__data__0__"
# Subscriptions whose first payment never went through never counted.
NEVER_STARTED = ("incomplete", "incomplete_expired")
# A month's share of one interval's amount: MRR as Stripe's dashboard counts it.
MONTHS_PER_INTERVAL = {"month": Decimal(1), "year": Decimal(12), "week": Decimal(12) / Decimal(52),
                       "day": Decimal(12) / Decimal(365)}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _unset(key: str) -> Q:
    return Q(**{f"stripe_data__{key}__isnull": True}) | Q(**{f"stripe_data__{key}": None})


def _live_at(moment: datetime) -> Q:
    """Started at `moment` and not yet ended (trials and past-due included)."""
    return Q(created__lt=moment) & (_unset("ended_at") | Q(stripe_data__ended_at__gt=_epoch(moment)))


def _paying_at(moment: datetime) -> Q:
    """Live and out of its free trial: what counts towards MRR."""
    return _live_at(moment) & (_unset("trial_end") | Q(stripe_data__trial_end__lte=_epoch(moment)))


def subscription_history(*, moments: list[datetime]) -> list[dict]:
    """Live subscriptions and MRR at each moment, per currency, in one query:
    [{"at": moment, "currency", "active", "mrr"}] (MRR in minor units: each
    paying subscription's price times its quantity, brought to one month; a
    trial counts as active but not in MRR). Read from dj-stripe's mirror: start
    (`created`), `ended_at` and `trial_end` as Stripe reported them."""
    if not moments:
        return []
    amount = Cast(KT(_ITEM + "price__unit_amount"), BigIntegerField()) * Coalesce(
        Cast(KT(_ITEM + "quantity"), BigIntegerField()), Value(1), output_field=BigIntegerField()
    )
    aggregates = {}
    for i, moment in enumerate(moments):
        aggregates[f"active_{i}"] = Count("pk", filter=_live_at(moment))
        aggregates[f"amount_{i}"] = Sum(amount, filter=_paying_at(moment))
    rows = (
        Subscription.objects.exclude(stripe_data__status__in=NEVER_STARTED)
        .annotate(
            price_currency=KT(_ITEM + "price__currency"),
            price_interval=KT(_ITEM + "price__recurring__interval"),
            price_interval_count=KT(_ITEM + "price__recurring__interval_count"),
        )
        .values("price_currency", "price_interval", "price_interval_count")
        .annotate(**aggregates)
        .order_by()
    )
    totals: dict[tuple[int, str], dict] = {}
    for row in rows:
        currency = (row["price_currency"] or "").lower()
        months = MONTHS_PER_INTERVAL.get(row["price_interval"] or "month", Decimal(1))
        months *= Decimal(int(row["price_interval_count"] or 1))
        for i in range(len(moments)):
            point = totals.setdefault((i, currency), {"active": 0, "mrr": Decimal(0)})
            point["active"] += row[f"active_{i}"] or 0
            point["mrr"] += Decimal(row[f"amount_{i}"] or 0) / months
    return [
        {"at": moments[i], "currency": currency, "active": point["active"],
         "mrr": int(point["mrr"].to_integral_value(rounding=ROUND_HALF_UP))}
        for (i, currency), point in sorted(totals.items())
    ]


def subscription_changes(*, bounds: list[datetime]) -> list[dict]:
    """New and ended ("churned") subscriptions between consecutive bounds, in
    one query: [{"start", "end", "new", "churned"}] for each [bounds[i], bounds[i+1])."""
    if len(bounds) < 2:
        return []
    aggregates = {}
    for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        aggregates[f"new_{i}"] = Count("pk", filter=Q(created__gte=start, created__lt=end))
        aggregates[f"churned_{i}"] = Count(
            "pk", filter=Q(stripe_data__ended_at__gte=_epoch(start), stripe_data__ended_at__lt=_epoch(end))
        )
    row = Subscription.objects.exclude(stripe_data__status__in=NEVER_STARTED).aggregate(**aggregates)
    return [
        {"start": start, "end": end, "new": row[f"new_{i}"] or 0, "churned": row[f"churned_{i}"] or 0}
        for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False))
    ]


def subscription_invoice_totals_by_period(*, start: datetime, end: datetime, unit: str, tzinfo) -> list[dict]:
    """Our invoices of paid Stripe (subscription) invoices issued in [start,
    end), per local day or month and currency: [{"period", "currency",
    "count", "amount"}] (amount: minor units, VAT included)."""
    return list(
        Document.objects.filter(kind=Document.Kind.INVOICE, stripe_invoice_id__isnull=False,
                                issued_at__gte=start, issued_at__lt=end)
        .annotate(period=local_period("issued_at", unit, tzinfo=tzinfo, start=start, end=end))
        .values("period", "currency")
        .annotate(count=Count("pk"), amount=Sum("total_gross"))
        .order_by("period", "currency")
    )


def subscriptions_past_due():
    """Subscriptions whose renewal payment failed and that Stripe is retrying (dunning)."""
    return Subscription.objects.filter(stripe_data__status="past_due")


def invoice_refusals() -> QuerySet[InvoiceRefusal]:
    """Paid Stripe invoices of subscriptions that issuing refused (with the
    reason), with the mirrored subscription's and customer's primary keys
    (`subscription_pk`, `customer_pk`) for links to their admin pages. Read
    from the shop's own table: no call to Stripe."""
    return InvoiceRefusal.objects.annotate(
        subscription_pk=Subquery(Subscription.objects.filter(id=OuterRef("stripe_subscription_id"))
                                 .values("djstripe_id")[:1]),
        customer_pk=Subquery(Customer.objects.filter(id=OuterRef("stripe_customer_id")).values("djstripe_id")[:1]),
    )


def invoice_refusals_open() -> QuerySet[InvoiceRefusal]:
    """Those still without documents."""
    return invoice_refusals().filter(resolved_at__isnull=True)
