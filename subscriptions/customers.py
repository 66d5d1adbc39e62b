"""The shop's side of Stripe customers and subscriptions: each user's Stripe
customer (made on first need, mirrored by dj-stripe), its billing address
(what the invoices print), the mirror of a subscription as Stripe has it now,
and the audit entry of a subscription action. Shared by the sign-up, the
self-service changes and staff actions of the subscriptions app."""

import hashlib
import json

from django.conf import settings
from django.utils import timezone
from djstripe.models import Customer, Subscription

from audit.services import audit_record
from orders.services import BillingDetails
from payments import gateway, mirror
from payments.exceptions import GatewayRequestRefused

from .selectors import customer_for_user


def user_token(user) -> str:
    """Part of the idempotency keys of a user's Stripe objects: the pk alone
    could repeat across databases sharing one Stripe test account."""
    joined = int(user.date_joined.timestamp()) if getattr(user, "date_joined", None) else 0
    return f"{user.pk}-{joined}"


def customer_mirror(customer_id: str, *, user=None) -> Customer:
    """Mirror a Stripe customer (as Stripe has it now) and tie it to `user`."""
    customer = mirror.current_sync(Customer, customer_id)
    if customer is None:
        raise GatewayRequestRefused(f"No such customer: {customer_id}")
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
    token = user_token(user)
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
    customer = mirror.object_sync(Customer, created.raw)
    Customer.objects.filter(pk=customer.pk).update(subscriber=user)
    customer.subscriber = user
    return customer


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def stripe_metadata(values: dict[str, str]) -> dict[str, str]:
    # Stripe drops a key set to "": leave empty values out.
    return {key: value for key, value in values.items() if value}


def customer_billing_set(customer: Customer, billing: BillingDetails) -> None:
    """The billing address the VAT was worked out for, on the Stripe customer:
    every invoice of the subscription copies it (Checkout is told not to change it)."""
    address = {"line1": billing.line1, "postal_code": billing.postal_code, "city": billing.city,
               "country": billing.country}
    current = customer.stripe_data.get("address") or {}
    if customer.stripe_data.get("name") == billing.name and all(current.get(k) == v for k, v in address.items()):
        return
    # The address it replaces is part of the key: going back to an earlier
    # address is a new change, not a replay of the first one.
    digest = hashlib.sha256(json.dumps([billing.name, address, customer.stripe_data.get("name"), current],
                                       sort_keys=True).encode()).hexdigest()[:16]
    updated = gateway.customer_update_billing(customer.id, name=billing.name, address=address,
                                              idempotency_key=f"shop-customer-{customer.id}-billing-{digest}")
    mirror.object_sync(Customer, updated.raw)


def subscription_mirror(subscription_id: str) -> Subscription:
    """Mirror a subscription as Stripe has it now."""
    subscription = mirror.current_sync(Subscription, subscription_id)
    if subscription is None:
        raise GatewayRequestRefused(f"No such subscription: {subscription_id}")
    return subscription


def subscription_audit(*, subscription: Subscription, actor, action: str, message: str, reason: str = "", **data) -> None:
    """The audit trail of a subscription action (asked of Stripe: its webhook
    confirms it), by the customer or by staff."""
    customer = subscription.customer
    audit_record(
        action=action, actor=actor, target=subscription, reason=reason,
        message=f"Subscription {subscription.id} ({customer.email or customer.id}): {message}",
        data={"subscription": subscription.id, "customer": customer.id, **data},
    )
