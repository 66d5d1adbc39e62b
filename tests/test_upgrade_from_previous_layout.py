"""A database made with the previous layout (catalogue in `shop`, subscription
notices in `billing`, closed periods in `accounting`) is migrated to the
current one and keeps every row: an order with its product, a subscription
with its notice and documents, a closed period, and the permissions granted on
moved models.

The previous layout is the migration state before this change's migrations
(the leaves listed in PREVIOUS_LAYOUT); rows are written with the models of
that state, then the database is migrated forward and read with today's models.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

PREVIOUS_LAYOUT = [
    ("shop", "0001_initial"),
    ("orders", "0002_order_checkout_url"),
    ("payments", "0002_refunds_and_disputes"),
    ("billing", "0002_subscription_notices_and_admin"),
    ("accounting", "0001_closed_periods_and_export_jobs"),
    ("audit", "0001_audit_entries"),
    ("catalog", None),
    ("subscriptions", None),
]


def _migrate(targets):
    """Migrate to `targets` (the other apps stay at their latest) and return its models."""
    executor = MigrationExecutor(connection)
    ours = {app for app, _ in targets}
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in ours]
    executor.migrate(targets)
    return executor.loader.project_state(others + [target for target in targets if target[1]]).apps


def _write_previous_layout_rows(old):
    Category, TaxRate, Product = (old.get_model("shop", name) for name in ("Category", "TaxRate", "Product"))
    Order, OrderLine = old.get_model("orders", "Order"), old.get_model("orders", "OrderLine")
    Payment = old.get_model("payments", "Payment")
    Document = old.get_model("billing", "Document")
    Notice = old.get_model("billing", "SubscriptionNotice")
    ClosedPeriod = old.get_model("accounting", "ClosedPeriod")
    Customer, Subscription = old.get_model("djstripe", "Customer"), old.get_model("djstripe", "Subscription")
    ContentType = old.get_model("contenttypes", "ContentType")
    OldPermission, OldGroup = old.get_model("auth", "Permission"), old.get_model("auth", "Group")

    rate = TaxRate.objects.create(name="Standard rate", rate=Decimal("20.00"), country="FR")
    mug = Product.objects.create(category=Category.objects.create(name="Gear", slug="gear"), tax_rate=rate,
                                 name="Stoneware mug", slug="mug", sku="MUG-1", unit_amount=1600, currency="eur",
                                 stock=7)
    now = timezone.now()
    order = Order.objects.create(email="guest@example.com", status="paid", currency="eur", total=3200,
                                 billing_name="Ada Lovelace", billing_line1="1 Analytical Street",
                                 billing_postal_code="75001", billing_city="Paris", billing_country="FR",
                                 expires_at=now + timedelta(minutes=30), paid_at=now, amount_paid=3200,
                                 stripe_payment_intent_id="pi_old_1")
    OrderLine.objects.create(order=order, product=mug, sku="MUG-1", name="Stoneware mug", unit_amount=1600,
                             quantity=2, vat_rate=Decimal("20.00"))
    Payment.objects.create(order=order, status="succeeded", amount=3200, currency="eur",
                           stripe_payment_intent_id="pi_old_1", card_brand="visa", card_last4="4242")
    snapshot = {"kind": "invoice", "number": "INV-2026-000001", "order": {"number": f"ORD-{order.pk:06d}"}}
    Document.objects.create(kind="invoice", number="INV-2026-000001", series="INV", year=2026, sequence=1,
                            issued_at=now, order=order, customer_email="guest@example.com", currency="eur",
                            total_net=2667, total_tax=533, total_gross=3200, snapshot=snapshot)
    Document.objects.create(kind="invoice", number="INV-2026-000002", series="INV", year=2026, sequence=2,
                            issued_at=now, stripe_invoice_id="in_old_1", customer_email="sub@example.com",
                            currency="eur", total_net=1583, total_tax=317, total_gross=1900,
                            snapshot={"kind": "invoice", "number": "INV-2026-000002", "order": None})
    customer = Customer.objects.create(id="cus_old_1", email="sub@example.com", livemode=False,
                                       stripe_data={"id": "cus_old_1"})
    Subscription.objects.create(id="sub_old_1", customer=customer, livemode=False,
                                stripe_data={"id": "sub_old_1", "status": "active"})
    Notice.objects.create(key="ended:sub_old_1", kind="ended", email="sub@example.com",
                          stripe_subscription_id="sub_old_1", context={"plan_name": "Coffee club"})
    ClosedPeriod.objects.create(label="2025-01", kind="month", start=date(2025, 1, 1), end=date(2025, 2, 1),
                                document_count=0)
    # Staff were granted rights on models that move: the grants must follow them.
    support = OldGroup.objects.create(name="Support")
    for app_label, model in (("shop", "product"), ("billing", "shopsubscription")):
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permission, _ = OldPermission.objects.get_or_create(content_type=content_type,
                                                             codename=f"change_{model}",
                                                             defaults={"name": f"Can change {model}"})
        support.permissions.add(permission)
    return order.pk


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_previous_layout_keeps_its_data():
    old = _migrate(PREVIOUS_LAYOUT)
    order_id = _write_previous_layout_rows(old)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from billing.models import ClosedPeriod, Document
    from catalog.models import Product
    from orders.models import Order
    from subscriptions.models import ShopSubscription, SubscriptionNotice

    order = Order.objects.get(pk=order_id)
    [line] = order.lines.all()
    assert line.product == Product.objects.get(sku="MUG-1") and line.product.stock == 7
    assert line.product.tax_rate.rate == Decimal("20.00") and line.product.category.slug == "gear"
    # The order keeps how it was paid, and its invoice the links billing now keeps itself.
    assert order.payment_reference == "Card Visa •••• 4242, Stripe pi_old_1"
    invoice = Document.objects.get(number="INV-2026-000001")
    assert invoice.order_id == order.pk and invoice.order_path == f"/orders/{order.reference}/"
    assert invoice.access_reference == order.reference  # a guest's order
    assert Document.objects.get(stripe_invoice_id="in_old_1").total_gross == 1900
    assert SubscriptionNotice.objects.get().key == "ended:sub_old_1"
    assert ShopSubscription.objects.get().id == "sub_old_1"
    assert ClosedPeriod.objects.get().label == "2025-01"
    support = Group.objects.get(name="Support")
    assert set(support.permissions.values_list("content_type__app_label", "codename")) == {
        ("catalog", "change_product"), ("subscriptions", "change_shopsubscription")}
    assert Permission.objects.filter(content_type__app_label="shop").count() == 0
