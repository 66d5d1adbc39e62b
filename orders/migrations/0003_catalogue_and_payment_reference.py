"""Order lines point at catalog.Product (the same table, shop_product: only the
model's app changed), and an order keeps how it was paid for its documents."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0002_order_checkout_url"),
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="orderline",
                    name="product",
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="+", to="catalog.product"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="order",
            name="payment_reference",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
