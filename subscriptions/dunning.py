"""Dunning: telling subscribers about failed renewals and ended subscriptions.

Stripe runs the retries (its Smart Retries schedule: a Dashboard setting for
real Stripe, kept in line with BILLING_DUNNING_RETRY_DAYS; the emulator is
started with the same schedule, see the Procfile) and, after the last
failure, cancels the subscription. The shop's part is the e-mails:

- `invoice.payment_failed` for a renewal: "your payment failed, replace your
  card" with a link to the subscription page; once per attempt.
- `customer.subscription.deleted`: "your subscription has ended", saying why.

Each e-mail is a SubscriptionNotice row with a unique key, created in the
webhook's transaction together with its e-mail in the outbox (core.email),
which sends it after commit and retries it while SMTP is down: the same event
delivered twice, or two events about the same attempt, send one e-mail. The
notice's `sent_at` is set when the mail server took it.
"""

import logging
from datetime import datetime
from datetime import timezone as dt_timezone

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.urls import reverse
from djstripe.models import Customer, Price

from core.email import email_queue, templated_email
from core.money import format_money
from payments.gateway import Invoice, Subscription

from .models import SubscriptionNotice

logger = logging.getLogger(__name__)

# A notice's e-mail in the outbox: "subscriptions.notice:<notice key>".
EMAIL_KEY_PREFIX = "subscriptions.notice:"
# A failed first payment happens on the Checkout page, in front of the customer:
# no e-mail for those.
NOT_DUNNED_REASONS = frozenset({"subscription_create"})
ENDED_REASONS = {
    "payment_failed": "we could not collect the payment for your renewal after several attempts",
    "cancellation_requested": "it was cancelled as requested",
    "payment_disputed": "a payment for it was disputed",
}


def _ts_iso(value) -> str:
    return datetime.fromtimestamp(int(value), tz=dt_timezone.utc).isoformat() if value else ""


def _email_of(customer_id: str | None, fallback: str = "") -> str:
    if fallback:
        return fallback
    customer = Customer.objects.filter(id=customer_id).select_related("subscriber").first() if customer_id else None
    if customer is None:
        return ""
    return customer.email or (customer.subscriber.email if customer.subscriber else "")


def _plan_name_of_price(price_id: str | None) -> str:
    price = Price.objects.filter(id=price_id).select_related("product").first() if price_id else None
    return price.product.name if price is not None else "your subscription"


def _subscription_url() -> str:
    return f"{settings.SITE_URL}{reverse('subscriptions:subscription')}"


def _notice_create(*, key: str, **fields) -> SubscriptionNotice | None:
    """Create the notice once, with its e-mail in the outbox (sent after
    commit); None if it existed."""
    if SubscriptionNotice.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            notice = SubscriptionNotice.objects.create(key=key, **fields)
            _notice_queue(notice)
    except IntegrityError:  # a concurrent delivery created it
        return None
    return notice


def _notice_queue(notice: SubscriptionNotice) -> None:
    if not notice.email:
        logger.warning("subscription notice %s has no e-mail address; not sent", notice.key)
        return
    email_queue(_message(notice), key=f"{EMAIL_KEY_PREFIX}{notice.key}")


def dunning_payment_failed(*, invoice: Invoice) -> SubscriptionNotice | None:
    """A renewal's payment attempt failed: one e-mail per attempt, with the
    link to replace the card, and whether Stripe will try again."""
    if not invoice.subscription_id or invoice.billing_reason in NOT_DUNNED_REASONS:
        return None
    attempt = invoice.attempt_count
    price_id = invoice.lines[0].price_id if invoice.lines else None
    return _notice_create(
        key=f"payment_failed:{invoice.id}:{attempt}",
        kind=SubscriptionNotice.Kind.PAYMENT_FAILED,
        email=_email_of(invoice.customer_id, invoice.customer_email),
        stripe_customer_id=invoice.customer_id,
        stripe_subscription_id=invoice.subscription_id,
        stripe_invoice_id=invoice.id,
        attempt=attempt,
        context={
            "plan_name": _plan_name_of_price(price_id),
            "amount": format_money(invoice.amount_due, invoice.currency or "eur"),
            "attempt": attempt,
            "next_attempt": _ts_iso(invoice.next_payment_attempt),
            "final": not invoice.next_payment_attempt,
            "customer_name": invoice.customer_name,
        },
    )


def dunning_subscription_ended(*, subscription: Subscription) -> SubscriptionNotice | None:
    """The subscription has ended (cancelled by Stripe after the last failed
    retry, by staff, or at the end of the period the customer asked for)."""
    if subscription.status != "canceled":
        return None
    reason = subscription.cancellation_reason
    price_id = subscription.items[0].price_id if subscription.items else None
    return _notice_create(
        key=f"ended:{subscription.id}",
        kind=SubscriptionNotice.Kind.ENDED,
        email=_email_of(subscription.customer_id),
        stripe_customer_id=subscription.customer_id,
        stripe_subscription_id=subscription.id,
        context={
            "plan_name": _plan_name_of_price(price_id),
            "reason": reason,
            "reason_text": ENDED_REASONS.get(reason, "it has been cancelled"),
            "ended_at": _ts_iso(subscription.ended_at),
        },
    )


def notice_send(*, notice_id: int) -> SubscriptionNotice:
    """Make sure the notice's e-mail is in the outbox (notices written before
    the outbox existed, a task enqueued by an older version); sent once."""
    notice = SubscriptionNotice.objects.get(pk=notice_id)
    if notice.sent_at is None:
        with transaction.atomic():
            _notice_queue(notice)
    return notice


def on_email_sent(sender, *, email, **kwargs) -> None:
    """core.signals.email_sent: a notice's e-mail left."""
    if (email.key or "").startswith(EMAIL_KEY_PREFIX):
        SubscriptionNotice.objects.filter(key=email.key[len(EMAIL_KEY_PREFIX):], sent_at__isnull=True).update(
            sent_at=email.sent_at
        )


def _message(notice: SubscriptionNotice) -> EmailMultiAlternatives:
    context = dict(notice.context)
    for key in ("next_attempt", "ended_at"):
        if context.get(key):
            context[key] = datetime.fromisoformat(context[key])
    context.update(
        seller_name=(settings.SHOP_SELLER or {}).get("name", ""),
        subscription_url=_subscription_url(),
        plans_url=f"{settings.SITE_URL}{reverse('subscriptions:plans')}",
    )
    return templated_email(template=f"subscriptions/email/{notice.kind}", context=context, to=[notice.email])
