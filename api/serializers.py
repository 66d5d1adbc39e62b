"""What the API answers. Money is always an integer in the currency's minor
units (cents: 1250 EUR is €12.50; 1250 JPY is ¥1,250) next to its lowercase
ISO currency, as Stripe writes it; dates are ISO 8601 with their offset."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Document
from catalog.models import Product
from orders.models import Order, OrderLine
from payments.models import Payment, Refund
from subscriptions.selectors import STATUS_LABELS


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


# -- documents ---------------------------------------------------------------------

class DocumentRefSerializer(serializers.ModelSerializer):
    """A document as other objects list it."""

    pdf_url = serializers.SerializerMethodField(help_text="Download the PDF (same permissions as the document).")

    class Meta:
        model = Document
        fields = ["id", "number", "kind", "issued_at", "currency", "total_gross", "pdf_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_pdf_url(self, document) -> str:
        return _absolute(self.context.get("request"), reverse("api:document-pdf", args=[document.pk]))


class RelatedDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "number", "kind"]


class BuyerSerializer(serializers.Serializer):
    name = serializers.CharField()
    company = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    vat_id = serializers.CharField(allow_blank=True)
    country = serializers.CharField(help_text="ISO 3166-1 alpha-2.")
    address_lines = serializers.ListField(child=serializers.CharField())


class VatRowSerializer(serializers.Serializer):
    rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. \"20.00\".")
    category = serializers.CharField(help_text="EN 16931 VAT category: S (standard), AE (reverse charge), ...")
    net = serializers.IntegerField()
    tax = serializers.IntegerField()
    gross = serializers.IntegerField()


class DocumentLineSerializer(serializers.Serializer):
    name = serializers.CharField()
    sku = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField()
    unit_gross = serializers.IntegerField(help_text="Unit price, VAT included.")
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    net = serializers.IntegerField()
    tax = serializers.IntegerField()
    gross = serializers.IntegerField()


class OrderRefSerializer(serializers.Serializer):
    reference = serializers.UUIDField()
    number = serializers.CharField()


class DocumentSerializer(serializers.ModelSerializer):
    """An issued invoice, receipt or credit note: what it says, as issued (it never changes)."""

    issue_date = serializers.SerializerMethodField(help_text="The date printed on it (the seller's time zone).")
    order = serializers.SerializerMethodField(help_text="The shop order it is for; null for a subscription's.")
    related_document = RelatedDocumentSerializer(
        read_only=True, allow_null=True,
        help_text="A credit note: the invoice it credits. A receipt: the invoice it settles.",
    )
    buyer = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    vat_breakdown = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField(help_text="Download the PDF (a Factur-X e-invoice for invoices "
                                                          "and credit notes).")
    pdf_rendered = serializers.SerializerMethodField(help_text="False while the PDF is being made, and for a "
                                                               "receipt until its first download: downloading it "
                                                               "then makes it at once (the same file whenever).")

    class Meta:
        model = Document
        fields = ["id", "number", "kind", "issued_at", "issue_date", "currency", "total_net", "total_tax",
                  "total_gross", "customer_email", "buyer", "order", "stripe_invoice_id", "related_document",
                  "payment_reference", "lines", "vat_breakdown", "pdf_url", "pdf_rendered"]

    @extend_schema_field(OpenApiTypes.DATE)
    def get_issue_date(self, document) -> str:
        return document.snapshot.get("issue_date", "")

    @extend_schema_field(OrderRefSerializer(allow_null=True))
    def get_order(self, document):
        if document.order_id is None:
            return None
        return {"reference": document.order.reference, "number": document.order.number}

    @extend_schema_field(BuyerSerializer)
    def get_buyer(self, document):
        buyer = document.snapshot.get("buyer") or {}
        return {key: buyer.get(key, [] if key == "address_lines" else "") for key in BuyerSerializer().fields}

    @extend_schema_field(DocumentLineSerializer(many=True))
    def get_lines(self, document):
        keys = DocumentLineSerializer().fields
        return [{key: line.get(key, "") for key in keys} for line in document.snapshot.get("lines") or []]

    @extend_schema_field(VatRowSerializer(many=True))
    def get_vat_breakdown(self, document):
        keys = VatRowSerializer().fields
        return [{key: row.get(key, "") for key in keys} for row in document.snapshot.get("vat_breakdown") or []]

    @extend_schema_field(OpenApiTypes.URI)
    def get_pdf_url(self, document) -> str:
        return _absolute(self.context.get("request"), reverse("api:document-pdf", args=[document.pk]))

    def get_pdf_rendered(self, document) -> bool:
        return document.pdf_rendered_at is not None


# -- orders --------------------------------------------------------------------------

class OrderLineSerializer(serializers.ModelSerializer):
    total = serializers.IntegerField(read_only=True, help_text="unit_amount × quantity − discount: what was charged "
                                                               "and invoiced for the line.")

    class Meta:
        model = OrderLine
        fields = ["sku", "name", "unit_amount", "quantity", "vat_rate", "discount", "total"]
        extra_kwargs = {"discount": {"help_text": "What the order's discount code took off the line, VAT included."}}


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["status", "amount", "currency", "card_brand", "card_last4", "failure_message", "created_at"]


class RefundSerializer(serializers.ModelSerializer):
    credit_note = RelatedDocumentSerializer(read_only=True, allow_null=True,
                                            help_text="Issued once Stripe confirms the refund.")

    class Meta:
        model = Refund
        fields = ["id", "status", "amount", "currency", "reason", "created_at", "succeeded_at", "failed_at",
                  "failure_message", "credit_note"]


class BillingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(source="billing_name")
    company = serializers.CharField(source="billing_company", allow_blank=True)
    line1 = serializers.CharField(source="billing_line1")
    postal_code = serializers.CharField(source="billing_postal_code")
    city = serializers.CharField(source="billing_city")
    country = serializers.CharField(source="billing_country", help_text="ISO 3166-1 alpha-2.")
    vat_id = serializers.CharField(allow_blank=True)


class OrderSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True, help_text="ORD-000042: what the customer and staff see.")
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    billing_address = BillingAddressSerializer(source="*", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True, help_text="Every attempt, newest first.")
    refunds = RefundSerializer(many=True, read_only=True)
    documents = DocumentRefSerializer(many=True, read_only=True, help_text="Invoice, receipt, credit notes.")
    url = serializers.SerializerMethodField(help_text="This order in the API.")
    status_url = serializers.SerializerMethodField(help_text="Its status alone (what the order page polls).")

    class Meta:
        model = Order
        fields = ["reference", "number", "status", "status_display", "email", "currency", "total", "amount_paid",
                  "created_at", "expires_at", "paid_at", "closed_at", "payment_error", "billing_address", "lines",
                  "discount_code", "discount_total", "payments", "refunds", "documents", "url", "status_url"]
        extra_kwargs = {
            "discount_code": {"help_text": "The promotion code the customer entered (\"\" for none)."},
            "discount_total": {"help_text": "What it took off the lines, VAT included (minor units); `total` is "
                                            "after it."},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, order) -> str:
        return _absolute(self.context.get("request"), reverse("api:order-detail", args=[order.reference]))

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, order) -> str:
        return _absolute(self.context.get("request"), reverse("api:order-status", args=[order.reference]))


class OrderStatusSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    status_display = serializers.CharField()
    final = serializers.BooleanField(help_text="Paid, failed, cancelled, expired or refunded: it will not be paid now.")
    documents_ready = serializers.BooleanField(help_text="The invoice is issued.")
    done = serializers.BooleanField(help_text="Nothing more will change: stop polling.")
    payment_error = serializers.CharField(allow_blank=True, help_text="Why the last payment attempt failed.")


# -- subscriptions -------------------------------------------------------------------

class SubscriptionPlanSerializer(serializers.Serializer):
    product_id = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    price_id = serializers.CharField(allow_blank=True)
    interval = serializers.CharField(allow_blank=True, help_text="month or year.")
    amount = serializers.IntegerField(allow_null=True, help_text="Per interval, VAT included.")
    currency = serializers.CharField(allow_blank=True)


class SubscriptionSerializer(serializers.Serializer):
    """A subscription as Stripe last reported it (dj-stripe's mirror)."""

    id = serializers.CharField(help_text="Stripe's id (sub_...).")
    status = serializers.CharField(help_text="Stripe's status: active, trialing, past_due, canceled, ...")
    status_display = serializers.CharField()
    customer_email = serializers.CharField(allow_blank=True)
    plan = SubscriptionPlanSerializer()
    quantity = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    renews_at = serializers.DateTimeField(allow_null=True, help_text="Null when it will not renew.")
    renewal_amount = serializers.IntegerField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    ends_at = serializers.DateTimeField(allow_null=True, help_text="When it ends or ended.")
    trial_end = serializers.DateTimeField(allow_null=True)
    documents = DocumentRefSerializer(many=True, help_text="Our invoices and receipts of its paid Stripe invoices.")


def subscription_status_display(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


# -- catalogue ------------------------------------------------------------------------

class CategorySerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ProductSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True)
    vat_rate = serializers.DecimalField(source="tax_rate.rate", max_digits=5, decimal_places=2, read_only=True,
                                        help_text="Percent included in the price.")
    in_stock = serializers.BooleanField(read_only=True)
    url = serializers.SerializerMethodField(help_text="The product's page in the shop.")

    class Meta:
        model = Product
        fields = ["id", "sku", "slug", "name", "description", "category", "unit_amount", "currency", "vat_rate",
                  "in_stock", "url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, product) -> str:
        return _absolute(self.context.get("request"), product.get_absolute_url())


class PlanPriceSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Stripe's price id.")
    interval = serializers.CharField(help_text="month or year.")
    interval_label = serializers.CharField()
    amount = serializers.IntegerField(help_text="Per interval, VAT included.")
    currency = serializers.CharField()
    trial_days = serializers.IntegerField(allow_null=True)


class PlanSerializer(serializers.Serializer):
    product_id = serializers.CharField(help_text="Stripe's product id.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    trial_days = serializers.IntegerField(allow_null=True)
    prices = PlanPriceSerializer(many=True)
