"""Orders and their lines. Prices, VAT rates and currency are copied from the
catalogue when the order is placed, so a later price change never alters it."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.types import address_lines


class Order(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    # States in which the order still holds stock.
    HOLDING_STOCK = {Status.AWAITING_PAYMENT}
    # States the customer's status page stops polling at.
    FINAL = {Status.PAID, Status.PAYMENT_FAILED, Status.CANCELLED, Status.EXPIRED,
             Status.PARTIALLY_REFUNDED, Status.REFUNDED}

    # Public, unguessable reference: used in links (status page, e-mails) so an
    # order id in a URL never reveals how many orders the shop has.
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField()
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.AWAITING_PAYMENT, db_index=True)
    currency = models.CharField(max_length=3)
    # Gross total (VAT included) in minor units: the sum of the lines (after
    # any discount: what Stripe charges). Zero when a code took off everything.
    total = models.PositiveIntegerField()

    # A discount code (Stripe promotion code) the customer entered, as typed
    # canonically, with what it took off all lines (VAT included).
    discount_code = models.CharField(max_length=100, blank=True)
    discount_label = models.CharField(max_length=200, blank=True, help_text="The code's terms, as printed")
    discount_total = models.PositiveIntegerField(default=0)
    stripe_promotion_code_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_coupon_id = models.CharField(max_length=255, blank=True, db_index=True)

    # Billing address, copied onto the invoice.
    billing_name = models.CharField(max_length=200)
    billing_company = models.CharField(max_length=200, blank=True)
    billing_line1 = models.CharField("address", max_length=200)
    billing_postal_code = models.CharField("postal code", max_length=20)
    billing_city = models.CharField("city", max_length=100)
    billing_country = models.CharField("country", max_length=2)
    vat_id = models.CharField("VAT id", max_length=20, blank=True)
    # The VAT id's check at checkout (VIES): only a verified id of the
    # billing country makes an EU business sale exempt or reverse charged.
    vat_id_status = models.CharField(
        "VAT id check", max_length=12, blank=True,
        choices=[("valid", "Valid (VIES)"), ("invalid", "Not registered (VIES)"),
                 ("unavailable", "VIES unavailable"), ("mismatch", "Not of the billing country")],
    )
    vat_id_checked_at = models.DateTimeField("VAT id checked at", null=True, blank=True)
    vat_id_check_detail = models.CharField("VAT id check answer", max_length=300, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(help_text="The stock reservation ends then if unpaid")
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Cancelled, expired or failed at")

    # Stripe references (the Checkout Session is created after the order).
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Stripe's hosted payment page for this order: the customer can go back to
    # it (e.g. after a declined card) while the reservation lasts.
    checkout_url = models.URLField(max_length=2048, blank=True)
    amount_paid = models.PositiveIntegerField(default=0)
    # How it was paid, as the documents name it ("Card Visa •••• 4242, Stripe
    # pi_..."), given by payments when the payment is confirmed.
    payment_reference = models.CharField(max_length=255, blank=True)
    # The last thing that went wrong with paying, as the customer should read it.
    payment_error = models.CharField(max_length=500, blank=True)
    # Set when Stripe reports a payment that does not match the order (amount or
    # currency): staff must look; the order is not marked paid.
    needs_attention = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # Zero: a 100 % discount (nothing to pay, the invoice is still issued).
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"ORD-{self.pk:06d}" if self.pk else "ORD-new"

    def get_absolute_url(self):
        return reverse("orders:detail", args=[self.reference])

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def can_retry_payment(self) -> bool:
        return (
            self.status == self.Status.AWAITING_PAYMENT
            and bool(self.checkout_url)
            and self.expires_at > timezone.now()
        )

    @property
    def billing_address_lines(self) -> list[str]:
        return address_lines(company=self.billing_company, line1=self.billing_line1,
                             postal_code=self.billing_postal_code, city=self.billing_city,
                             country=self.billing_country)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", null=True, on_delete=models.SET_NULL, related_name="+")
    # Copied at placing time.
    sku = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    unit_amount = models.PositiveIntegerField(help_text="Unit price in minor units, VAT included")
    quantity = models.PositiveIntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    # EN 16931 VAT category decided at checkout (billing.tax.vat_treatment).
    vat_category = models.CharField(max_length=3, default="S")
    # What the order's discount code took off this line (VAT included): the
    # line is charged and invoiced unit_amount x quantity - discount.
    discount = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=models.Q(discount__lte=models.F("unit_amount") * models.F("quantity")),
                                   name="orderline_discount_within_line"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name}"

    @property
    def list_total(self) -> int:
        """Before the discount."""
        return self.unit_amount * self.quantity

    @property
    def total(self) -> int:
        """What is charged and invoiced for the line (after its discount)."""
        return self.unit_amount * self.quantity - self.discount

    def charged_for(self, *, quantity: int, already: int = 0) -> int:
        """What `quantity` more units cost after `already` were accounted for
        (refunds): the line's charged total spread over its units, rounded so
        that all units together come to the line's total exactly."""
        def upto(units: int) -> int:
            return (self.total * units * 2 + self.quantity) // (self.quantity * 2)  # half up
        return upto(already + quantity) - upto(already)
