"""The API's documentation in the OpenAPI schema: a summary, a description,
the errors each endpoint can answer and an example of each answer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view

from .errors import ErrorSerializer
from .serializers import (
    DocumentSerializer,
    OrderSerializer,
    OrderStatusSerializer,
    PlanSerializer,
    ProductSerializer,
    SubscriptionSerializer,
)

TAG_ORDERS, TAG_DOCUMENTS, TAG_SUBSCRIPTIONS, TAG_CATALOGUE = "Orders", "Documents", "Subscriptions", "Catalogue"


def _error(code: str, status: int, message: str, fields: dict | None = None) -> OpenApiExample:
    return OpenApiExample(code, value={"error": {"status": status, "code": code, "message": message,
                                                 "fields": fields or {}}}, response_only=True,
                          status_codes=[str(status)])


UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="No key, or a key that is unknown, revoked or expired.",
                               examples=[_error("not_authenticated", 401,
                                                "Authentication credentials were not provided.")])
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Nothing with this id that you may see.",
                            examples=[_error("not_found", 404, "No Order matches the given query.")])
INVALID = OpenApiResponse(ErrorSerializer, description="A query parameter cannot be used; `fields` says which.",
                          examples=[_error("invalid", 400, "period: Write a period as 2026-03 (a month), 2026-Q1 "
                                                           "(a quarter) or 2026 (a year).",
                                           {"period": ["Write a period as 2026-03 (a month), 2026-Q1 (a quarter) "
                                                       "or 2026 (a year)."]})])
THROTTLED = OpenApiResponse(ErrorSerializer, description="Too many requests: wait `Retry-After` seconds.",
                            examples=[_error("throttled", 429, "Request was throttled. Expected available in 12 "
                                                               "seconds.")])
PAGE_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="A page past the last one.",
                                 examples=[_error("not_found", 404, "Invalid page.")])


def _list_errors():
    return {400: INVALID, 401: UNAUTHORIZED, 404: PAGE_NOT_FOUND, 429: THROTTLED}


def _detail_errors():
    return {401: UNAUTHORIZED, 404: NOT_FOUND, 429: THROTTLED}


# -- examples ---------------------------------------------------------------------------

DOCUMENT_REF = {"id": 12, "number": "INV-2026-000012", "kind": "invoice", "issued_at": "2026-03-14T10:02:11+01:00",
                "currency": "eur", "total_gross": 7100,
                "pdf_url": "https://shop.example.com/api/v1/documents/12/pdf/"}
ORDER = {
    "reference": "6f1c2a4e-8b0d-4e57-9a55-2f3d1c9e7b10", "number": "ORD-000042", "status": "partially_refunded",
    "status_display": "Partially refunded", "email": "ada@example.com", "currency": "eur", "total": 7100,
    "amount_paid": 7100, "created_at": "2026-03-14T09:58:40+01:00", "expires_at": "2026-03-14T10:28:40+01:00",
    "paid_at": "2026-03-14T10:01:55+01:00", "closed_at": None, "payment_error": "",
    "billing_address": {"name": "Ada Lovelace", "company": "", "line1": "1 Analytical Street",
                        "postal_code": "75001", "city": "Paris", "country": "FR", "vat_id": ""},
    "lines": [
        {"sku": "COF-COL-1KG", "name": "Colombia Huila, whole beans 1 kg", "unit_amount": 3900, "quantity": 1,
         "vat_rate": "5.50", "total": 3900},
        {"sku": "MUG-350", "name": "Stoneware mug 350 ml", "unit_amount": 1600, "quantity": 2, "vat_rate": "20.00",
         "total": 3200},
    ],
    "payments": [{"status": "succeeded", "amount": 7100, "currency": "eur", "card_brand": "visa",
                  "card_last4": "4242", "failure_message": "", "created_at": "2026-03-14T10:01:56+01:00"}],
    "refunds": [{"id": 3, "status": "succeeded", "amount": 1600, "currency": "eur",
                 "reason": "requested_by_customer", "created_at": "2026-03-16T15:20:00+01:00",
                 "succeeded_at": "2026-03-16T15:20:02+01:00", "failed_at": None, "failure_message": "",
                 "credit_note": {"id": 19, "number": "CN-2026-000002", "kind": "credit_note"}}],
    "documents": [
        DOCUMENT_REF,
        {**DOCUMENT_REF, "id": 13, "number": "RCT-2026-000012", "kind": "receipt",
         "pdf_url": "https://shop.example.com/api/v1/documents/13/pdf/"},
        {**DOCUMENT_REF, "id": 19, "number": "CN-2026-000002", "kind": "credit_note", "total_gross": 1600,
         "issued_at": "2026-03-16T15:20:03+01:00", "pdf_url": "https://shop.example.com/api/v1/documents/19/pdf/"},
    ],
    "url": "https://shop.example.com/api/v1/orders/6f1c2a4e-8b0d-4e57-9a55-2f3d1c9e7b10/",
    "status_url": "https://shop.example.com/api/v1/orders/6f1c2a4e-8b0d-4e57-9a55-2f3d1c9e7b10/status/",
}
ORDER_STATUS = {"number": "ORD-000042", "status": "paid", "status_display": "Paid", "final": True,
                "documents_ready": True, "done": True, "payment_error": ""}
ORDER_STATUS_WAITING = {"number": "ORD-000043", "status": "awaiting_payment", "status_display": "Awaiting payment",
                        "final": False, "documents_ready": False, "done": False,
                        "payment_error": "Your card was declined."}
DOCUMENT = {
    "id": 12, "number": "INV-2026-000012", "kind": "invoice", "issued_at": "2026-03-14T10:02:11+01:00",
    "issue_date": "2026-03-14", "currency": "eur", "total_net": 6364, "total_tax": 736, "total_gross": 7100,
    "customer_email": "ada@example.com",
    "buyer": {"name": "Ada Lovelace", "company": "", "email": "ada@example.com", "vat_id": "", "country": "FR",
              "address_lines": ["1 Analytical Street", "75001 Paris", "France"]},
    "order": {"reference": "6f1c2a4e-8b0d-4e57-9a55-2f3d1c9e7b10", "number": "ORD-000042"},
    "stripe_invoice_id": None, "related_document": None,
    "payment_reference": "Card Visa •••• 4242, Stripe pi_3Pq...",
    "lines": [
        {"name": "Colombia Huila, whole beans 1 kg", "sku": "COF-COL-1KG", "quantity": 1, "unit_gross": 3900,
         "vat_rate": "5.50", "net": 3697, "tax": 203, "gross": 3900},
        {"name": "Stoneware mug 350 ml", "sku": "MUG-350", "quantity": 2, "unit_gross": 1600, "vat_rate": "20.00",
         "net": 2667, "tax": 533, "gross": 3200},
    ],
    "vat_breakdown": [
        {"rate": "5.50", "category": "S", "net": 3697, "tax": 203, "gross": 3900},
        {"rate": "20.00", "category": "S", "net": 2667, "tax": 533, "gross": 3200},
    ],
    "pdf_url": "https://shop.example.com/api/v1/documents/12/pdf/", "pdf_rendered": True,
}
SUBSCRIPTION = {
    "id": "sub_1Q2w3E4r5T6y", "status": "active", "status_display": "Active", "customer_email": "ada@example.com",
    "plan": {"product_id": "shop_plan_coffee_club", "name": "Coffee club", "price_id": "price_1Q2w3E",
             "interval": "month", "amount": 1900, "currency": "eur"},
    "quantity": 1, "started_at": "2026-01-03T09:00:00Z", "current_period_end": "2026-04-03T09:00:00Z",
    "renews_at": "2026-04-03T09:00:00Z", "renewal_amount": 1900, "cancel_at_period_end": False,
    "ends_at": None, "trial_end": None,
    "documents": [{**DOCUMENT_REF, "id": 31, "number": "INV-2026-000031", "total_gross": 1900,
                   "issued_at": "2026-03-03T09:00:04Z", "pdf_url": "https://shop.example.com/api/v1/documents/31/pdf/"}],
}
PRODUCT = {"id": 7, "sku": "MUG-350", "slug": "stoneware-mug-350ml", "name": "Stoneware mug 350 ml",
           "description": "A hand-glazed stoneware mug.", "category": {"slug": "tableware", "name": "Tableware"},
           "unit_amount": 1600, "currency": "eur", "vat_rate": "20.00", "in_stock": True,
           "url": "https://shop.example.com/products/stoneware-mug-350ml/"}
PLAN = {"product_id": "shop_plan_coffee_club", "name": "Coffee club",
        "description": "A fresh 250 g bag of our roaster's pick every month, with tasting notes.", "trial_days": 14,
        "prices": [{"id": "price_1Q2w3E", "interval": "month", "interval_label": "Monthly", "amount": 1900,
                    "currency": "eur", "trial_days": 14},
                   {"id": "price_1Q2w3F", "interval": "year", "interval_label": "Yearly", "amount": 19000,
                    "currency": "eur", "trial_days": 14}]}


def _example(name: str, value, summary: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=summary or name, response_only=True, status_codes=["200"])


# -- the endpoints ------------------------------------------------------------------------

order_views = extend_schema_view(
    list=extend_schema(
        tags=[TAG_ORDERS], summary="List orders",
        description="Your own orders, newest first; staff see every order. Each order comes with its lines, "
                    "payment attempts, refunds and documents. Amounts are integer minor units.",
        responses={200: OrderSerializer, **_list_errors()},
        examples=[_example("A page of orders", ORDER)],
    ),
    retrieve=extend_schema(
        tags=[TAG_ORDERS], summary="One order",
        description="By its reference (the UUID in the order page's address). Another customer's order answers "
                    "404, as one that does not exist.",
        responses={200: OrderSerializer, **_detail_errors()},
        examples=[_example("A partially refunded order", ORDER)],
    ),
    status=extend_schema(
        tags=[TAG_ORDERS], summary="An order's status (what its page polls)",
        description="The order page polls this until `done`. Open without a key for a guest's order (its "
                    "reference is the secret, as on the page); a signed-in customer's order answers only to "
                    "them and to staff.",
        responses={200: OrderStatusSerializer, **_detail_errors()},
        examples=[_example("Paid, invoice issued", ORDER_STATUS),
                  _example("Waiting, the card was declined", ORDER_STATUS_WAITING)],
    ),
)

document_views = extend_schema_view(
    list=extend_schema(
        tags=[TAG_DOCUMENTS], summary="List documents",
        description="Invoices, receipts and credit notes, newest first: your own, or every one for accountants "
                    "and staff. An accountant's tool pulls a month with `?period=2026-03&page_size=200`, follows "
                    "`next`, and downloads each `pdf_url`.",
        responses={200: DocumentSerializer, **_list_errors()},
        examples=[_example("A page of documents", DOCUMENT)],
    ),
    retrieve=extend_schema(
        tags=[TAG_DOCUMENTS], summary="One document", description="What the document says, as it was issued.",
        responses={200: DocumentSerializer, **_detail_errors()}, examples=[_example("An invoice at two VAT rates", DOCUMENT)],
    ),
    pdf=extend_schema(
        tags=[TAG_DOCUMENTS], summary="Download a document's PDF",
        description="The PDF as issued (PDF/A-3 with its Factur-X XML for invoices and credit notes), as an "
                    "attachment named after its number. One not rendered yet is rendered first.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
                   **_detail_errors()},
    ),
)

subscription_views = extend_schema_view(
    list=extend_schema(
        tags=[TAG_SUBSCRIPTIONS], summary="List subscriptions",
        description="Your own subscriptions, newest first (staff: every one), as Stripe last reported them, "
                    "with the invoices and receipts of their paid Stripe invoices.",
        responses={200: SubscriptionSerializer, **_list_errors()},
        examples=[_example("A page of subscriptions", SUBSCRIPTION)],
    ),
    retrieve=extend_schema(
        tags=[TAG_SUBSCRIPTIONS], summary="One subscription", description="By Stripe's id (sub_...).",
        responses={200: SubscriptionSerializer, **_detail_errors()}, examples=[_example("An active monthly subscription",
                                                                      SUBSCRIPTION)],
    ),
)

product_views = extend_schema_view(
    list=extend_schema(
        tags=[TAG_CATALOGUE], summary="List products",
        description="The products on sale, as the shop lists them. Open without a key.",
        responses={200: ProductSerializer, 400: INVALID, 404: PAGE_NOT_FOUND, 429: THROTTLED},
        examples=[_example("A page of products", PRODUCT)],
    ),
    retrieve=extend_schema(
        tags=[TAG_CATALOGUE], summary="One product", description="A product on sale, by id. Open without a key.",
        responses={200: ProductSerializer, 404: NOT_FOUND, 429: THROTTLED}, examples=[_example("A mug", PRODUCT)],
    ),
)

plan_list = extend_schema(
    tags=[TAG_CATALOGUE], summary="List subscription plans",
    description="The plans one can subscribe to, with their monthly and yearly prices. Open without a key.",
    responses={200: PlanSerializer(many=True), 429: THROTTLED},
    examples=[_example("The plans", [PLAN])],
)
