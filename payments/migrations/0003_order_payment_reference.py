"""Paid orders of before keep how they were paid on the order itself (the
card and the payment intent), which their documents name."""

from django.db import migrations

from core.cards import card_label


def forwards(apps, schema_editor):
    Payment = apps.get_model("payments", "Payment")
    Order = apps.get_model("orders", "Order")
    # The latest successful payment names the order's, as documents did.
    for payment in Payment.objects.filter(status="succeeded").order_by("-created_at", "-pk").iterator():
        parts = []
        if payment.card_brand or payment.card_last4:
            parts.append(card_label(payment.card_brand, payment.card_last4))
        if payment.stripe_payment_intent_id:
            parts.append(f"Stripe {payment.stripe_payment_intent_id}")
        Order.objects.filter(pk=payment.order_id, payment_reference="").update(payment_reference=", ".join(parts))


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0002_refunds_and_disputes"),
        ("orders", "0003_catalogue_and_payment_reference"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
