"""Plans (products and recurring prices), customers and their test clocks,
subscriptions and their invoices: what the subscriptions app asks Stripe."""

from .client import call, call_list, client
from .types import Invoice, InvoiceLine, StripeObject, Subscription, TestClock, expanded, stripe_id


def product_retrieve(product_id: str) -> StripeObject | None:
    """The product, or None when Stripe has no product with that id."""
    data = call("product retrieve", lambda: client().v1.products.retrieve(product_id), missing_ok=True)
    return StripeObject.from_stripe(data) if data is not None else None


def product_create(*, product_id: str, name: str, description: str, metadata: dict) -> StripeObject:
    params = {"id": product_id, "name": name, "metadata": metadata}
    if description:
        params["description"] = description
    return StripeObject.from_stripe(call(
        "product create",
        lambda: client().v1.products.create(params, {"idempotency_key": f"product-{product_id}-create"}),
    ))


def price_list_by_lookup_keys(lookup_keys: list[str]) -> list[StripeObject]:
    return [StripeObject.from_stripe(p) for p in call_list(
        "price list",
        lambda: client().v1.prices.list({"lookup_keys": lookup_keys, "limit": 100, "expand": ["data.product"]}),
    )]


def price_create(
    *, product_id: str, lookup_key: str, currency: str, unit_amount: int, interval: str,
    trial_period_days: int | None, metadata: dict,
) -> StripeObject:
    recurring: dict = {"interval": interval}
    if trial_period_days:
        recurring["trial_period_days"] = trial_period_days
    params = {
        "product": product_id,
        "currency": currency,
        "unit_amount": unit_amount,
        "tax_behavior": "inclusive",
        "recurring": recurring,
        "lookup_key": lookup_key,
        "metadata": metadata,
    }
    return StripeObject.from_stripe(call(
        "price create",
        lambda: client().v1.prices.create(
            params, {"idempotency_key": f"price-{lookup_key}-{currency}-{unit_amount}-create"}
        ),
    ))


def price_retrieve(price_id: str) -> StripeObject | None:
    """The price, or None when Stripe has no price with that id."""
    data = call("price retrieve", lambda: client().v1.prices.retrieve(price_id), missing_ok=True)
    return StripeObject.from_stripe(data) if data is not None else None


def test_clock_create(*, idempotency_key: str, frozen_time: int, name: str) -> TestClock:
    return TestClock.from_stripe(call(
        "test clock create",
        lambda: client().v1.test_helpers.test_clocks.create(
            {"frozen_time": frozen_time, "name": name[:300]}, {"idempotency_key": idempotency_key}
        ),
    ))


def test_clock_retrieve(clock_id: str) -> TestClock:
    return TestClock.from_stripe(call(
        "test clock retrieve", lambda: client().v1.test_helpers.test_clocks.retrieve(clock_id)
    ))


test_clock_create.__test__ = test_clock_retrieve.__test__ = False  # not pytest tests


def customer_create(
    *, idempotency_key: str, email: str, name: str, metadata: dict, test_clock: str | None = None
) -> StripeObject:
    params = {"email": email, "metadata": metadata}
    if name:
        params["name"] = name
    if test_clock:
        params["test_clock"] = test_clock
    return StripeObject.from_stripe(call(
        "customer create", lambda: client().v1.customers.create(params, {"idempotency_key": idempotency_key})
    ))


def customer_update_billing(
    customer_id: str, *, name: str, address: dict[str, str], idempotency_key: str
) -> StripeObject:
    """The customer's name and billing address, as the invoices will print them."""
    return StripeObject.from_stripe(call(
        "customer update",
        lambda: client().v1.customers.update(
            customer_id, {"name": name, "address": address}, {"idempotency_key": idempotency_key}
        ),
    ))


def customer_set_default_payment_method(customer_id: str, *, payment_method_id: str) -> StripeObject:
    return StripeObject.from_stripe(call(
        "customer update",
        lambda: client().v1.customers.update(
            customer_id,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            {"idempotency_key": f"customer-{customer_id}-default-pm-{payment_method_id}"},
        ),
    ))


def subscription_list_for_customer(customer_id: str) -> list[Subscription]:
    return [Subscription.from_stripe(s) for s in call_list(
        "subscription list",
        lambda: client().v1.subscriptions.list({"customer": customer_id, "status": "all", "limit": 100}),
    )]


def subscription_update(subscription_id: str, *, params: dict, idempotency_key: str) -> Subscription:
    return Subscription.from_stripe(call(
        "subscription update",
        lambda: client().v1.subscriptions.update(subscription_id, params, {"idempotency_key": idempotency_key}),
    ))


def subscription_cancel(subscription_id: str, *, idempotency_key: str, comment: str = "") -> Subscription:
    params = {"cancellation_details": {"comment": comment[:500]}} if comment else {}
    return Subscription.from_stripe(call(
        "subscription cancel",
        lambda: client().v1.subscriptions.cancel(subscription_id, params, {"idempotency_key": idempotency_key}),
    ))


def invoice_create_preview(*, customer: str, subscription: str, subscription_details: dict) -> Invoice:
    return Invoice.from_stripe(call(
        "invoice preview",
        lambda: client().v1.invoices.create_preview(
            {"customer": customer, "subscription": subscription, "subscription_details": subscription_details}
        ),
    ))


def invoice_retrieve(invoice_id: str) -> Invoice:
    """The invoice with its payments' intents expanded and, for the paid one,
    its charge (the card used). Stripe expands four levels at most
    (payments.data.payment.payment_intent), so the charge is one more call."""
    data = call(
        "invoice retrieve",
        lambda: client().v1.invoices.retrieve(invoice_id, {"expand": ["payments.data.payment.payment_intent"]}),
    )
    for payment in (data.get("payments") or {}).get("data") or []:
        intent = expanded((payment.get("payment") or {}).get("payment_intent"))
        charge_id = stripe_id(intent.get("latest_charge")) if intent else ""
        if payment.get("status") == "paid" and charge_id and not expanded(intent.get("latest_charge")):
            intent["latest_charge"] = call("charge retrieve", lambda c=charge_id: client().v1.charges.retrieve(c))
            break
    return Invoice.from_stripe(data)


def invoice_lines_all(invoice_id: str) -> list[InvoiceLine]:
    return [InvoiceLine.from_stripe(line) for line in call_list(
        "invoice lines", lambda: client().v1.invoices.line_items.list(invoice_id, {"limit": 100})
    )]


def invoice_list(*, status: str, created_gte: int | None = None, limit: int = 100) -> list[Invoice]:
    params: dict = {"status": status, "limit": limit}
    if created_gte:
        params["created"] = {"gte": created_gte}
    return [Invoice.from_stripe(i) for i in call_list("invoice list", lambda: client().v1.invoices.list(params))]


def invoice_pay(invoice_id: str, *, idempotency_key: str, payment_method: str | None = None) -> Invoice:
    params = {"payment_method": payment_method} if payment_method else {}
    return Invoice.from_stripe(call(
        "invoice pay",
        lambda: client().v1.invoices.pay(invoice_id, params, {"idempotency_key": idempotency_key}),
    ))
