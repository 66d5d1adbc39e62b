"""What Stripe answers, as the shop reads it: small frozen dataclasses.

Built from an API response or from a webhook event's object (the same shape),
so services take one type whatever told them. Stripe sends a related object
either as its id or, when expanded, as the object itself: `stripe_id()` and
`expanded()` decide which, here and nowhere else. Each type keeps the wire
data in `raw` for what needs it as it is (dj-stripe's mirror).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def stripe_id(value: Any) -> str:
    """The id of a related object, whether Stripe sent the id or the expanded object ("" if none)."""
    if isinstance(value, dict):
        return value.get("id") or ""
    return value or ""


def expanded(value: Any) -> dict | None:
    """The related object when Stripe expanded it, None when it sent only its id."""
    return value if isinstance(value, dict) else None


def _int(value) -> int:
    return int(value or 0)


def _card(payment_method_details: dict | None) -> dict:
    return ((payment_method_details or {}).get("card")) or {}


@dataclass(frozen=True)
class PaymentError:
    message: str
    code: str = ""
    decline_code: str = ""
    charge_id: str = ""
    # The card that was refused (Stripe includes the payment method in the error).
    card_brand: str = ""
    card_last4: str = ""

    @classmethod
    def from_stripe(cls, data: dict | None) -> PaymentError | None:
        if not data:
            return None
        card = (expanded(data.get("payment_method")) or {}).get("card") or {}
        return cls(
            message=data.get("message") or "", code=data.get("code") or "",
            decline_code=data.get("decline_code") or "", charge_id=stripe_id(data.get("charge")),
            card_brand=card.get("brand") or "", card_last4=card.get("last4") or "",
        )


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    currency: str
    status: str
    reason: str = ""
    failure_reason: str = ""
    metadata: dict = field(default_factory=dict)
    payment_intent_id: str = ""
    charge_id: str = ""

    @classmethod
    def from_stripe(cls, data: dict) -> Refund:
        return cls(
            id=data["id"], amount=_int(data.get("amount")), currency=data.get("currency") or "",
            status=data.get("status") or "", reason=data.get("reason") or "",
            failure_reason=data.get("failure_reason") or "", metadata=dict(data.get("metadata") or {}),
            payment_intent_id=stripe_id(data.get("payment_intent")), charge_id=stripe_id(data.get("charge")),
        )


@dataclass(frozen=True)
class Charge:
    id: str
    card_brand: str = ""
    card_last4: str = ""
    billing_details: dict = field(default_factory=dict)
    # When Stripe took the payment (Unix time): the documents' "Paid on".
    created: int = 0
    # The charge's refunds when Stripe included the list (charge.refunded), else None.
    refunds: tuple[Refund, ...] | None = None

    @classmethod
    def from_stripe(cls, data: dict) -> Charge:
        card = _card(data.get("payment_method_details"))
        listed = data.get("refunds")
        refunds = None
        if isinstance(listed, dict) and listed.get("data"):
            refunds = tuple(Refund.from_stripe(r) for r in listed["data"])
        return cls(
            id=data["id"], card_brand=card.get("brand") or "", card_last4=card.get("last4") or "",
            billing_details=dict(data.get("billing_details") or {}), refunds=refunds,
            created=_int(data.get("created")),
        )


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    amount: int
    currency: str
    status: str = ""
    amount_received: int = 0
    metadata: dict = field(default_factory=dict)
    latest_charge_id: str = ""
    latest_charge: Charge | None = None  # when expanded
    last_payment_error: PaymentError | None = None

    @property
    def amount_settled(self) -> int:
        return self.amount_received or self.amount

    @classmethod
    def from_stripe(cls, data: dict) -> PaymentIntent:
        charge = expanded(data.get("latest_charge"))
        return cls(
            id=data["id"], amount=_int(data.get("amount")), currency=data.get("currency") or "",
            status=data.get("status") or "", amount_received=_int(data.get("amount_received")),
            metadata=dict(data.get("metadata") or {}), latest_charge_id=stripe_id(data.get("latest_charge")),
            latest_charge=Charge.from_stripe(charge) if charge else None,
            last_payment_error=PaymentError.from_stripe(data.get("last_payment_error")),
        )


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    status: str
    mode: str = "payment"
    url: str = ""
    payment_status: str = ""
    amount_total: int = 0
    currency: str = ""
    expires_at: int = 0
    client_reference_id: str = ""
    metadata: dict = field(default_factory=dict)
    customer_id: str = ""
    subscription_id: str = ""
    setup_intent_id: str = ""
    payment_intent_id: str = ""
    payment_intent: PaymentIntent | None = None  # when expanded

    @property
    def is_paid(self) -> bool:
        return self.status == "complete" and self.payment_status in ("paid", "no_payment_required")

    @classmethod
    def from_stripe(cls, data: dict) -> CheckoutSession:
        intent = expanded(data.get("payment_intent"))
        return cls(
            id=data["id"], status=data.get("status") or "", mode=data.get("mode") or "payment",
            url=data.get("url") or "", payment_status=data.get("payment_status") or "",
            amount_total=_int(data.get("amount_total")), currency=data.get("currency") or "",
            expires_at=_int(data.get("expires_at")), client_reference_id=data.get("client_reference_id") or "",
            metadata=dict(data.get("metadata") or {}), customer_id=stripe_id(data.get("customer")),
            subscription_id=stripe_id(data.get("subscription")), setup_intent_id=stripe_id(data.get("setup_intent")),
            payment_intent_id=stripe_id(data.get("payment_intent")),
            payment_intent=PaymentIntent.from_stripe(intent) if intent else None,
        )


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: str
    payment_method_id: str = ""
    customer_id: str = ""

    @classmethod
    def from_stripe(cls, data: dict) -> SetupIntent:
        return cls(id=data["id"], status=data.get("status") or "",
                   payment_method_id=stripe_id(data.get("payment_method")), customer_id=stripe_id(data.get("customer")))


@dataclass(frozen=True)
class Dispute:
    id: str
    amount: int
    currency: str
    status: str
    reason: str = ""
    charge_id: str = ""
    payment_intent_id: str = ""
    evidence_due_by: int | None = None

    @classmethod
    def from_stripe(cls, data: dict) -> Dispute:
        return cls(
            id=data["id"], amount=_int(data.get("amount")), currency=data.get("currency") or "",
            status=data.get("status") or "", reason=data.get("reason") or "",
            charge_id=stripe_id(data.get("charge")), payment_intent_id=stripe_id(data.get("payment_intent")),
            evidence_due_by=((data.get("evidence_details") or {}).get("due_by")) or None,
        )


@dataclass(frozen=True)
class StripeFile:
    id: str

    @classmethod
    def from_stripe(cls, data: dict) -> StripeFile:
        return cls(id=data["id"])


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    enabled_events: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: dict) -> WebhookEndpoint:
        return cls(id=data["id"], url=data.get("url") or "", enabled_events=tuple(data.get("enabled_events") or ()),
                   metadata=dict(data.get("metadata") or {}), raw=data)


@dataclass(frozen=True)
class StripeObject:
    """An object the shop only hands on to dj-stripe's mirror (products, prices, customers)."""

    id: str
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: dict) -> StripeObject:
        return cls(id=data["id"], raw=data)


@dataclass(frozen=True)
class TestClock:
    __test__ = False  # not a pytest test class

    id: str
    frozen_time: int
    status: str = ""

    @classmethod
    def from_stripe(cls, data: dict) -> TestClock:
        return cls(id=data["id"], frozen_time=_int(data.get("frozen_time")), status=data.get("status") or "")


@dataclass(frozen=True)
class SubscriptionItem:
    id: str
    price_id: str = ""
    product_id: str = ""

    @classmethod
    def from_stripe(cls, data: dict) -> SubscriptionItem:
        price = expanded(data.get("price")) or {}
        return cls(id=data.get("id") or "", price_id=stripe_id(data.get("price")),
                   product_id=stripe_id(price.get("product")))


@dataclass(frozen=True)
class Subscription:
    id: str
    status: str
    customer_id: str = ""
    latest_invoice_id: str = ""
    items: tuple[SubscriptionItem, ...] = ()
    cancellation_reason: str = ""
    ended_at: int | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_stripe(cls, data: dict) -> Subscription:
        return cls(
            id=data["id"], status=data.get("status") or "", customer_id=stripe_id(data.get("customer")),
            latest_invoice_id=stripe_id(data.get("latest_invoice")),
            cancellation_reason=(data.get("cancellation_details") or {}).get("reason") or "",
            ended_at=data.get("ended_at") or data.get("canceled_at") or None,
            items=tuple(SubscriptionItem.from_stripe(i) for i in ((data.get("items") or {}).get("data") or [])),
            raw=data,
        )


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: int
    period_start: int = 0
    period_end: int = 0
    price_id: str = ""
    product_id: str = ""
    proration: bool = False
    # What discounts (a coupon) took off the line: `amount` is before them.
    discount: int = 0

    @classmethod
    def from_stripe(cls, data: dict) -> InvoiceLine:
        # Since API 2025-03-31 (basil) a line names its price under
        # pricing.price_details and its proration under parent.*_details.
        pricing = (data.get("pricing") or {}).get("price_details") or {}
        price = pricing.get("price") or data.get("price") or ""
        product = pricing.get("product") or (expanded(price) or {}).get("product")
        parent = data.get("parent") or {}
        details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
        period = data.get("period") or {}
        return cls(
            description=data.get("description") or "", amount=_int(data.get("amount")),
            period_start=_int(period.get("start")), period_end=_int(period.get("end")),
            price_id=stripe_id(price), product_id=stripe_id(product),
            proration=bool(details.get("proration") or data.get("proration")),
            discount=sum(_int(d.get("amount")) for d in data.get("discount_amounts") or []),
        )


@dataclass(frozen=True)
class InvoicePayment:
    status: str
    card_brand: str = ""
    card_last4: str = ""
    billing_details: dict = field(default_factory=dict)

    @classmethod
    def from_stripe(cls, data: dict) -> InvoicePayment:
        intent = expanded((data.get("payment") or {}).get("payment_intent")) or {}
        charge = expanded(intent.get("latest_charge")) or {}
        card = _card(charge.get("payment_method_details"))
        return cls(status=data.get("status") or "", card_brand=card.get("brand") or "",
                   card_last4=card.get("last4") or "", billing_details=dict(charge.get("billing_details") or {}))


@dataclass(frozen=True)
class Invoice:
    id: str
    status: str
    currency: str
    total: int = 0
    amount_due: int = 0
    amount_paid: int = 0
    number: str = ""
    customer_id: str = ""
    customer_email: str = ""
    customer_name: str = ""
    customer_address: dict = field(default_factory=dict)
    billing_reason: str = ""
    subscription_id: str = ""
    # The subscription's metadata as it was when the invoice was made (basil:
    # parent.subscription_details.metadata).
    subscription_metadata: dict = field(default_factory=dict)
    attempt_count: int = 0
    next_payment_attempt: int | None = None
    paid_at: int | None = None
    lines: tuple[InvoiceLine, ...] = ()
    lines_complete: bool = True  # False: Stripe has more lines than it sent (list them)
    payments: tuple[InvoicePayment, ...] = ()  # when expanded

    @classmethod
    def from_stripe(cls, data: dict) -> Invoice:
        lines = data.get("lines") or {}
        # Since basil the subscription is under parent.subscription_details.
        parent = (data.get("parent") or {}).get("subscription_details") or {}
        return cls(
            id=data.get("id") or "", status=data.get("status") or "", currency=data.get("currency") or "",
            total=_int(data.get("total")), amount_due=_int(data.get("amount_due")),
            amount_paid=_int(data.get("amount_paid")), number=data.get("number") or "",
            customer_id=stripe_id(data.get("customer")), customer_email=data.get("customer_email") or "",
            customer_name=data.get("customer_name") or "", customer_address=dict(data.get("customer_address") or {}),
            billing_reason=data.get("billing_reason") or "",
            subscription_id=stripe_id(parent.get("subscription") or data.get("subscription")),
            subscription_metadata=dict(parent.get("metadata") or {}),
            attempt_count=_int(data.get("attempt_count")),
            next_payment_attempt=data.get("next_payment_attempt") or None,
            paid_at=((data.get("status_transitions") or {}).get("paid_at")) or None,
            lines=tuple(InvoiceLine.from_stripe(line) for line in lines.get("data") or []),
            lines_complete=not lines.get("has_more"),
            payments=tuple(InvoicePayment.from_stripe(p) for p in ((data.get("payments") or {}).get("data") or [])),
        )
