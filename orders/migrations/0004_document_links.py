"""Documents issued before billing stopped reading orders get the links their
order gives them: the order's page (linked from the e-mail) and, for a guest
order, the reference that opens them without an account."""

from django.db import migrations


def forwards(apps, schema_editor):
    Document = apps.get_model("billing", "Document")
    Order = apps.get_model("orders", "Order")
    orders = Order.objects.filter(pk__in=Document.objects.exclude(order=None).values("order_id"))
    for order in orders.only("pk", "reference", "customer_id").iterator():
        Document.objects.filter(order_id=order.pk).update(
            order_path=f"/orders/{order.reference}/",
            access_reference=order.reference if order.customer_id is None else None,
        )


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_catalogue_and_payment_reference"),
        ("billing", "0003_closed_periods_and_links"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
