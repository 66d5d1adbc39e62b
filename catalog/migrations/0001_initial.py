"""The catalogue moves from the `shop` app (now the storefront's web layer) to
its own app below orders. No table changes: the models adopt the tables
`shop` created (their db_table keeps those names) and the content types are
relabelled, so permissions granted on products stay granted."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import catalog.models
from core.migration_helpers import move_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("shop", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Category",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        ("slug", models.SlugField(unique=True)),
                        ("position", models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={"verbose_name_plural": "categories", "ordering": ["position", "name"],
                             "db_table": "shop_category"},
                ),
                migrations.CreateModel(
                    name="TaxRate",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("name", models.CharField(help_text="e.g. 'Standard rate', 'Reduced rate (books)'",
                                                  max_length=60)),
                        ("rate", models.DecimalField(decimal_places=2, max_digits=5, validators=[
                            django.core.validators.MinValueValidator(Decimal("0")),
                            django.core.validators.MaxValueValidator(Decimal("100"))])),
                        ("country", models.CharField(default="FR", help_text="ISO 3166-1 alpha-2", max_length=2)),
                    ],
                    options={"ordering": ["-rate"], "db_table": "shop_taxrate"},
                ),
                migrations.CreateModel(
                    name="Product",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("name", models.CharField(max_length=200)),
                        ("slug", models.SlugField(unique=True)),
                        ("sku", models.CharField(max_length=40, unique=True)),
                        ("description", models.TextField(blank=True)),
                        ("image", models.CharField(blank=True, max_length=200)),
                        ("unit_amount", models.PositiveIntegerField(
                            help_text="Price in minor units (cents), VAT included")),
                        ("currency", models.CharField(default=catalog.models.default_currency, max_length=3)),
                        ("stock", models.PositiveIntegerField(default=0)),
                        ("active", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("category", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                       related_name="products", to="catalog.category")),
                        ("tax_rate", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                                       related_name="products", to="catalog.taxrate")),
                    ],
                    options={
                        "ordering": ["category__position", "name"],
                        "db_table": "shop_product",
                        "constraints": [models.CheckConstraint(condition=models.Q(("stock__gte", 0)),
                                                               name="product_stock_not_negative")],
                    },
                ),
            ],
            database_operations=[],
        ),
        move_content_types(("shop", "catalog", "category"), ("shop", "catalog", "taxrate"),
                           ("shop", "catalog", "product")),
    ]
