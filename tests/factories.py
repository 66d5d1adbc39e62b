"""factory-boy factories shared by the whole suite."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Category, Product, TaxRate
from orders.models import Order, OrderLine


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    password = factory.django.Password("correct-horse-battery")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    name = "Standard rate"
    rate = Decimal("20.00")
    country = "FR"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    tax_rate = factory.SubFactory(TaxRateFactory)
    name = factory.Sequence(lambda n: f"Product {n:03d}")
    slug = factory.Sequence(lambda n: f"product-{n:03d}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = "A fine product."
    image = "shop/img/placeholder.svg"
    unit_amount = 1250
    currency = "eur"
    stock = 10
    active = True


class OrderFactory(factory.django.DjangoModelFactory):
    """An order awaiting payment. Lines: `OrderFactory(lines=[(product, qty), ...])`;
    the total follows the lines."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    currency = "eur"
    total = 1  # replaced from the lines below
    billing_name = "Ada Lovelace"
    billing_line1 = "1 Analytical Street"
    billing_postal_code = "75001"
    billing_city = "Paris"
    billing_country = "FR"
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=30))

    @factory.post_generation
    def lines(order, create, extracted, **kwargs):
        items = extracted if extracted is not None else [(ProductFactory(), 1)]
        for product, quantity in items:
            OrderLine.objects.create(
                order=order,
                product=product,
                sku=product.sku,
                name=product.name,
                unit_amount=product.unit_amount,
                quantity=quantity,
                vat_rate=product.tax_rate.rate,
            )
        order.total = sum(p.unit_amount * q for p, q in items)
        order.save(update_fields=["total"])
