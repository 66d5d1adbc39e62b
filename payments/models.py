"""Our record of each payment attempt on an order. dj-stripe mirrors Stripe's
own objects (PaymentIntent, Charge, Session); this is the shop's view of them:
which order, how much, and whether it went through."""

from django.conf import settings
from django.db import models
from djstripe.models import PromotionCode as DjstripePromotionCode

from core.money import format_money


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    status = models.CharField(max_length=16, choices=Status.choices)
    amount = models.PositiveIntegerField(help_text="Minor units")
    currency = models.CharField(max_length=3)
    stripe_payment_intent_id = models.CharField(max_length=255, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One successful payment per payment intent: a repeated webhook or the
            # reconciliation after it cannot record the money twice.
            models.UniqueConstraint(
                fields=["stripe_payment_intent_id"],
                condition=models.Q(status="succeeded"),
                name="payment_one_success_per_intent",
            )
        ]

    def __str__(self):
        return f"{self.get_status_display()} {format_money(self.amount, self.currency)} ({self.stripe_payment_intent_id})"


class Refund(models.Model):
    """Money given back on an order's payment.

    Recorded (pending) in its own committed transaction before Stripe is
    called, so the idempotency key `refund-<pk>` exists before any request;
    settled by the webhook (succeeded or failed). Refunds made in Stripe's
    dashboard arrive by webhook and are recorded here too (source=stripe).
    Refundable = amount paid - succeeded refunds - pending refunds.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Reason(models.TextChoices):
        # Stripe's own reasons (sent to Stripe); the note says more.
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by the customer"
        DUPLICATE = "duplicate", "Duplicate payment"
        FRAUDULENT = "fraudulent", "Fraudulent"

    class Source(models.TextChoices):
        STAFF = "staff", "Staff (admin)"
        STRIPE = "stripe", "Stripe dashboard"

    # Still holding money: counted against what is refundable.
    OPEN = (Status.PENDING, Status.SUCCEEDED)

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STAFF)
    amount = models.PositiveIntegerField(help_text="Minor units, VAT included")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    note = models.TextField(blank=True, help_text="Why, in staff's words")
    # What is refunded by line, when staff chose lines:
    # [{"line_id", "sku", "name", "quantity", "unit_amount", "vat_rate"}].
    lines = models.JSONField(default=list, blank=True)
    restock = models.BooleanField(default=False, help_text="Return the refunded quantities to stock")
    restocked_at = models.DateTimeField(null=True, blank=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One per submitted form: a double submit finds the refund it made.
    request_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The last time Stripe could not be reached for it (it stays pending and is retried).
    send_error = models.CharField(max_length=500, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)

    credit_note = models.OneToOneField(
        "billing.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="refund"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"Refund #{self.pk} {format_money(self.amount, self.currency)} ({self.get_status_display()})"

    @property
    def idempotency_key(self) -> str:
        return f"refund-{self.pk}"

    @property
    def is_sent(self) -> bool:
        return bool(self.stripe_refund_id)


class Dispute(models.Model):
    """A chargeback opened by the customer's bank, as Stripe reports it."""

    class Status(models.TextChoices):
        WARNING_NEEDS_RESPONSE = "warning_needs_response", "Inquiry: needs response"
        WARNING_UNDER_REVIEW = "warning_under_review", "Inquiry: under review"
        WARNING_CLOSED = "warning_closed", "Inquiry: closed"
        NEEDS_RESPONSE = "needs_response", "Needs response"
        UNDER_REVIEW = "under_review", "Under review"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        PREVENTED = "prevented", "Prevented"

    NEEDS_RESPONSE = (Status.NEEDS_RESPONSE, Status.WARNING_NEEDS_RESPONSE)
    CLOSED = (Status.WON, Status.LOST, Status.WARNING_CLOSED, Status.PREVENTED)

    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="disputes")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.PositiveIntegerField(help_text="Minor units")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32, choices=Status.choices, db_index=True)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    evidence_submitted_at = models.DateTimeField(null=True, blank=True)
    evidence_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What we sent to Stripe (texts and the uploaded file id).
    evidence = models.JSONField(default=dict, blank=True)
    evidence_submissions = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=8, blank=True, choices=[("won", "Won"), ("lost", "Lost")])
    amount_lost = models.PositiveIntegerField(default=0, help_text="Minor units taken back by the bank")
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("submit_dispute_evidence", "Can submit evidence for a dispute")]

    def __str__(self):
        return f"Dispute {self.stripe_dispute_id} ({self.get_status_display()})"

    @property
    def needs_response(self) -> bool:
        return self.status in self.NEEDS_RESPONSE


class WebhookEvent(models.Model):
    """The inbox: one row per Stripe event, stored by the webhook endpoint as
    it arrived (signature verified) and processed by a worker.

    Unique by Stripe's event id, so a repeated delivery stores nothing new.
    The worker claims the row with a conditional update (status, lease), lets
    dj-stripe mirror the objects and runs the apps' receivers; a failure is
    retried with backoff and, after the last attempt, the event is stuck:
    staff see it in admin with its error and run it again from there.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        FAILED = "failed", "Failed (will retry)"
        STUCK = "stuck", "Stuck (needs staff)"
        PROCESSED = "processed", "Processed"

    # Waiting for a worker, whether never tried or to be tried again.
    TO_PROCESS = (Status.RECEIVED, Status.FAILED)

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=250)
    # The body exactly as Stripe signed it.
    body = models.TextField()
    # The event's object and when Stripe made the event (Unix seconds): an
    # event's payload is mirrored only while no newer event about the same
    # object is known (payments.mirror).
    object_id = models.CharField(max_length=255, blank=True, default="")
    stripe_created = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # A worker holds the event until then; past it (the worker died) it may be claimed again.
    locked_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="webhook_event_status_received"),
            models.Index(fields=["object_id", "stripe_created"], name="webhook_event_object"),
        ]
        permissions = [("run_webhookevent", "Can run a stuck webhook event again")]

    def __str__(self):
        return f"{self.type} {self.stripe_id}"


class DiscountCode(DjstripePromotionCode):
    """A discount code as staff see it in admin: dj-stripe's mirror of a Stripe
    promotion code (with its coupon). Created and deactivated through
    payments.discount_codes, which calls Stripe; never edited here."""

    class Meta:
        proxy = True
        verbose_name = "discount code"
        verbose_name_plural = "discount codes"
