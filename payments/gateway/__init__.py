"""The shop's door to Stripe: the only package that imports `stripe`
(in `client`), returning typed results (`types`) and raising our own errors
(payments.exceptions). Callers use it as `from payments import gateway`.

    client         the SDK client, its configuration, error mapping
    types          CheckoutSession, PaymentIntent, Refund, Invoice, ... (+ stripe_id/expanded)
    checkout       Checkout Sessions, payment and setup intents
    discounts      coupons and promotion codes
    refunds        refunds, disputes, evidence files
    subscriptions  products, prices, customers, test clocks, subscriptions, invoices
    webhooks       this site's webhook endpoints
"""

from .checkout import (
    checkout_session_create,
    checkout_session_create_setup,
    checkout_session_create_subscription,
    checkout_session_expire,
    checkout_session_retrieve,
    payment_intent_retrieve,
    setup_intent_retrieve,
)
from .client import (  # noqa: F401
    UNAVAILABLE_MESSAGE,
    CallInsideTransaction,
    calls_outside_transactions,
    client,
    configure,
    inside_a_transaction,
    sdk_object,
    signature_valid,
)
from .discounts import coupon_create, coupon_retrieve, promotion_code_create, promotion_code_update
from .refunds import dispute_update, file_create, refund_create, refund_list, refund_retrieve
from .subscriptions import (
    customer_create,
    customer_set_default_payment_method,
    customer_update_billing,
    invoice_create_preview,
    invoice_lines_all,
    invoice_list,
    invoice_pay,
    invoice_retrieve,
    price_create,
    price_list_by_lookup_keys,
    price_retrieve,
    product_create,
    product_retrieve,
    subscription_cancel,
    subscription_list_for_customer,
    subscription_update,
    test_clock_create,
    test_clock_retrieve,
)
from .types import (
    Charge,
    CheckoutSession,
    Dispute,
    Invoice,
    InvoiceLine,
    PaymentIntent,
    Refund,
    SetupIntent,
    StripeFile,
    StripeObject,
    Subscription,
    TestClock,
    WebhookEndpoint,
    expanded,
    stripe_id,
)
from .webhooks import webhook_endpoint_create, webhook_endpoint_delete, webhook_endpoint_list

__all__ = [
    "UNAVAILABLE_MESSAGE", "CallInsideTransaction", "inside_a_transaction", "calls_outside_transactions",
    "Charge", "CheckoutSession", "Dispute", "Invoice", "InvoiceLine", "PaymentIntent",
    "Refund", "SetupIntent", "StripeFile", "StripeObject", "Subscription", "TestClock", "WebhookEndpoint",
    "checkout_session_create", "checkout_session_create_setup", "checkout_session_create_subscription",
    "checkout_session_expire", "checkout_session_retrieve", "client", "configure", "coupon_create",
    "coupon_retrieve", "customer_create", "promotion_code_create", "promotion_code_update",
    "customer_set_default_payment_method", "customer_update_billing", "dispute_update", "expanded", "file_create",
    "invoice_create_preview",
    "invoice_lines_all", "invoice_list", "invoice_pay", "invoice_retrieve", "payment_intent_retrieve",
    "price_create", "price_list_by_lookup_keys", "price_retrieve", "product_create", "product_retrieve", "refund_create",
    "refund_list", "refund_retrieve", "setup_intent_retrieve", "stripe_id", "subscription_cancel",
    "subscription_list_for_customer", "subscription_update", "test_clock_create", "test_clock_retrieve",
    "webhook_endpoint_create", "webhook_endpoint_delete", "webhook_endpoint_list",
]
