"""The catalogue's order (category position, then name) on one table, with
the partial indexes the storefront's list reads (shop.views.product_list)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_category_positions(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    Product = apps.get_model("catalog", "Product")
    Product.objects.update(category_position=Subquery(
        Category.objects.filter(pk=OuterRef("category_id")).values("position")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_product_currency_choices'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='product',
            options={'ordering': ['category_position', 'name']},
        ),
        migrations.AddField(
            model_name='product',
            name='category_position',
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(copy_category_positions, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(condition=models.Q(('active', True)), fields=['category_position', 'name', 'id'], name='product_active_catalogue'),
        ),
        migrations.AddIndex(
            model_name='product',
            index=models.Index(condition=models.Q(('active', True)), fields=['category', 'name', 'id'], name='product_active_by_category'),
        ),
    ]
