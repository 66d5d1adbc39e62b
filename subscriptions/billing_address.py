"""A subscriber changes their billing address or VAT id.

The VAT of a subscription follows its place of supply (subscriptions.pricing):
a new address or VAT id can give another VAT. The customer sees the plan's
price for the new details (the same quote as the subscribe page) and confirms
it; then, through Stripe:

1. the Stripe customer gets the new address (every later invoice copies it);
2. the subscription is charged the buyer's price of the new VAT treatment from
   the next renewal, with no proration (the current period was paid with the
   VAT of the address it was paid from), and its metadata gets the new
   country, company, VAT id and the VIES check, which its invoices are issued
   with (subscriptions.documents).

Invoices already issued are untouched. A renewal Stripe makes between steps 1
and 2 is addressed to the new country but carries the old VAT: it is refused
with its reason (documents._assert_vat_country) and shown to staff.
"""

import hashlib
import json

from djstripe.models import Price, Subscription

from billing.vies import VatIdCheck
from core.money import format_money
from orders.services import BillingDetails
from payments import gateway

from .customers import customer_billing_set, subscription_audit
from .exceptions import QuoteChanged, SubscriptionError
from .plans import buyer_price_get_or_create
from .pricing import PlanQuote, plan_quote
from .selectors import LIVE_STATUSES, plan_price, plan_price_get, subscription_item, subscription_plan_price_id


def subscription_billing_plan_price(subscription: Subscription) -> Price:
    """The catalogue price the subscription is on (what a new VAT is applied to).
    Refused (SubscriptionError) for a subscription that has ended."""
    if subscription.status not in LIVE_STATUSES:
        raise SubscriptionError("This subscription has ended: there is no billing address to change.")
    price = plan_price_get(subscription_plan_price_id(subscription))
    if price is None or not subscription_item(subscription):
        raise SubscriptionError("This subscription's plan is no longer available: contact us to change your "
                                "billing address.")
    return price


def subscription_billing_quote(*, subscription: Subscription, country: str,
                               vat_check: VatIdCheck | None = None) -> PlanQuote:
    """The subscription's plan priced for a buyer in `country` with `vat_check`:
    what it will charge from the next renewal."""
    return plan_quote(plan_price=subscription_billing_plan_price(subscription), country=country,
                      vat_check=vat_check)


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def subscription_billing_change(
    *, subscription: Subscription, billing: BillingDetails, vat_check: VatIdCheck | None, quote_key: str,
    actor=None,
) -> PlanQuote:
    """Apply new billing details to a live subscription, as quoted
    (`quote_key`: QuoteChanged when they now give another price). Stripe
    calls: never inside a transaction; the webhooks bring the changes into
    the mirror. Returns the quote now charged from the next renewal."""
    quote = subscription_billing_quote(subscription=subscription, country=billing.country, vat_check=vat_check)
    if quote_key != quote.key:
        raise QuoteChanged(quote)
    customer_billing_set(subscription.customer, billing)
    charged = buyer_price_get_or_create(plan_price=quote.plan_price, treatment=quote.treatment)
    item = subscription_item(subscription)
    # Every key is sent, an empty one unsets it at Stripe (a VAT id removed).
    metadata = quote.subscription_metadata(company=billing.company)
    current = subscription.stripe_data.get("metadata") or {}
    key = _digest(subscription.id, item.get("price"), current, charged.id, metadata)
    gateway.subscription_update(
        subscription.id,
        params={
            "items": [{"id": item["id"], "price": charged.id}],
            # From the next renewal: the period under way was paid as it was.
            "proration_behavior": "none",
            "metadata": metadata,
        },
        idempotency_key=f"shop-sub-{subscription.id}-billing-{key}",
    )
    check = f", VAT id {vat_check.vat_id} ({vat_check.status})" if vat_check else ""
    price = plan_price(charged)
    subscription_audit(
        subscription=subscription, actor=actor, action="subscription.billing_changed",
        message=(f"billing address changed to {billing.city}, {billing.country}{check}; from the next renewal "
                 f"{format_money(price.amount, price.currency)} per {price.interval} "
                 f"({quote.label}) asked of Stripe"),
        country=billing.country, company=billing.company, vat_id=vat_check.vat_id if vat_check else "",
        vat_id_status=vat_check.status if vat_check else "", price=charged.id,
    )
    return quote
