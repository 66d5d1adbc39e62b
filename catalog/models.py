"""The catalogue: categories, VAT rates and products with their stock.

Prices are integer minor units, VAT included (a consumer shop shows what the
customer pays); the VAT share is worked out per rate on each document.

The tables keep the names they were created with (`shop_*`): these models
lived in the `shop` app before it became the storefront's web layer, and
moving them changed no table (catalog/migrations/0001).
"""

from decimal import Decimal

from babel import Locale
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language, to_locale

from billing.tax import GOODS, SUPPLY_KINDS
from billing.vat_rates import STANDARD, TAX_CATEGORIES
from core.money import currency_exponent, format_rate


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "shop_category"
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Its products carry its position (Product.category_position); a bulk
        # update of positions must do the same.
        Product.objects.filter(category=self).exclude(category_position=self.position).update(
            category_position=self.position)


class TaxRate(models.Model):
    name = models.CharField(max_length=60, help_text="e.g. 'Standard rate', 'Reduced rate (books)'")
    # A percentage, e.g. 20.00; Decimal so that tax arithmetic never touches a float.
    rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    country = models.CharField(max_length=2, default="FR", help_text="ISO 3166-1 alpha-2")
    # What the products at this rate are for VAT in every member state: picks
    # the consumer's state's rate under the One-Stop-Shop (billing.vat_rates).
    category = models.CharField(
        "tax category", max_length=16, choices=TAX_CATEGORIES, default=STANDARD,
        help_text="Picks the rate of the buyer's member state for consumers in other EU states (One-Stop-Shop).",
    )

    class Meta:
        db_table = "shop_taxrate"
        ordering = ["-rate"]

    def __str__(self):
        return f"{self.name} ({format_rate(self.rate)})"


def default_currency() -> str:
    """The shop's currency (SHOP_CURRENCY), read when a product is created, not
    frozen into a migration."""
    return settings.SHOP_CURRENCY


def currency_choices() -> list[tuple[str, str]]:
    """The currencies the shop sells in (SHOP_CURRENCIES), named for staff: "EUR — Euro"."""
    names = Locale.parse(to_locale(get_language() or settings.LANGUAGE_CODE)).currencies
    return [(code, f"{code.upper()} — {names.get(code.upper(), code.upper())}") for code in settings.SHOP_CURRENCIES]


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    sku = models.CharField(max_length=40, unique=True)
    description = models.TextField(blank=True)
    # Path under static/, e.g. "shop/img/mug.svg": images ship with the project.
    image = models.CharField(max_length=200, blank=True)
    unit_amount = models.PositiveIntegerField(help_text="Price in minor units (cents), VAT included")
    currency = models.CharField(max_length=3, default=default_currency, choices=currency_choices)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="products")
    # Goods or services: decides the VAT of sales to businesses of other EU
    # states (K or AE) and outside the EU (G or O); see billing.tax.
    supply = models.CharField(
        "goods or services", max_length=8, choices=SUPPLY_KINDS, default=GOODS,
        help_text="Goods are shipped; services are performed or supplied electronically.",
    )
    # Units on the shelf not held by any order awaiting payment. Placing an order
    # takes units off with a conditional UPDATE; cancelling/expiring puts them back.
    stock = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The category's position, copied here so the catalogue's order (category,
    # then name) is one index of this table rather than a join and a sort of
    # every product on each page. Kept by save() here and by Category.save().
    category_position = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        db_table = "shop_product"
        ordering = ["category_position", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_negative"),
        ]
        indexes = [
            # The storefront's list (shop.views.product_list): active products
            # in catalogue order, in all categories or in one, read in index
            # order (the first page reads twelve entries, whatever the size).
            models.Index(fields=["category_position", "name", "id"], condition=models.Q(active=True),
                         name="product_active_catalogue"),
            models.Index(fields=["category", "name", "id"], condition=models.Q(active=True),
                         name="product_active_by_category"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "category" in update_fields:
            self.category_position = self.category.position
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "category_position"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("shop:product_detail", args=[self.slug])

    def clean(self):
        super().clean()
        if currency_exponent(self.currency or "") == 3:
            raise ValidationError({"currency": (
                f"{(self.currency or '').upper()} has three decimals: its invoices could not state amounts "
                "the way the e-invoice rules and the VAT breakdown need (two decimals at most). "
                "Price the product in a currency with two or no decimals."
            )})

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def low_stock(self) -> bool:
        return 0 < self.stock <= 3
