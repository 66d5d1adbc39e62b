"""Our record of each payment attempt on an order. dj-stripe mirrors Stripe's
own objects (PaymentIntent, Charge, Session); this is the shop's view of them:
which order, how much, and whether it went through."""

from django.db import models


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
        return f"{self.get_status_display()} {self.amount} {self.currency.upper()} ({self.stripe_payment_intent_id})"
