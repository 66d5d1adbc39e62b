"""The catalogue models now belong to the `catalog` app (catalog/0001), which
adopted their tables; `shop` forgets them without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
        ("catalog", "0001_initial"),
        # Order lines point at catalog.Product first (orders/0003).
        ("orders", "0003_catalogue_and_payment_reference"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Product"),
                migrations.DeleteModel(name="TaxRate"),
                migrations.DeleteModel(name="Category"),
            ],
            database_operations=[],
        ),
    ]
