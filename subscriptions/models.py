"""The subscriptions app's own records. Stripe holds the subscriptions, and
dj-stripe mirrors them; the shop keeps only what it adds: the e-mails it sends
about them, and a way to show the mirror in admin.

The notices' table keeps the name it was created with in the billing app.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from djstripe.models import Subscription as DjstripeSubscription


class SubscriptionNotice(models.Model):
    """One e-mail to a subscriber about their subscription (a failed renewal,
    the subscription ended), keyed so that each is sent once however often
    Stripe reports the same thing: `payment_failed:<invoice>:<attempt>`,
    `ended:<subscription>`. Written by subscriptions.dunning; sent by a task."""

    class Kind(models.TextChoices):
        PAYMENT_FAILED = "payment_failed", "Renewal payment failed"
        ENDED = "ended", "Subscription ended"

    key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    email = models.EmailField(blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    # What the e-mail says (amount, next attempt, reason...), fixed when the notice is created.
    context = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "billing_subscriptionnotice"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.key})"


class ShopSubscription(DjstripeSubscription):
    """dj-stripe's mirror of Stripe subscriptions, seen the shop's way in admin
    (plan, status, renewal, customer; staff cancel through Stripe). A proxy:
    no table of its own."""

    class Meta:
        proxy = True
        verbose_name = "subscription"
        verbose_name_plural = "subscriptions"

    def __str__(self):
        customer = self.customer
        who = customer.subscriber.email if customer.subscriber_id else (customer.email or customer.id)
        return f"{who} · {self.id}"


class InvoiceRefusal(models.Model):
    """A paid Stripe invoice of a subscription that got no documents, and why:
    issuing refused it (e.g. addressed to another country than the VAT it was
    charged, or lines that do not add up to what was paid). Written each time
    issuing is refused (the invoice.paid task, the sweeper of paid invoices
    without documents); resolved once its documents are issued, or once staff
    mark it handled (refunded, invoiced by hand: Stripe keeps the invoice paid
    and addressed as it was, so issuing would refuse it again). The dashboard
    lists the open ones from this table, without asking Stripe."""

    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    customer_email = models.EmailField(blank=True)
    amount_paid = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    first_refused_at = models.DateTimeField(auto_now_add=True)
    last_refused_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resolution = models.CharField(max_length=255, blank=True)  # documents issued, or who handled it

    class Meta:
        ordering = ["-last_refused_at", "-pk"]
        verbose_name = "paid invoice without documents"
        verbose_name_plural = "paid invoices without documents"

    def __str__(self):
        return f"Stripe invoice {self.stripe_invoice_id}"
