"""The subscription notices and the admin's subscription proxy move here from
the billing app (billing/0003 let them go). The notices keep their table
(billing_subscriptionnotice); content types are relabelled so permissions follow."""

import django.core.serializers.json
from django.db import migrations, models

from core.migration_helpers import move_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("billing", "0003_closed_periods_and_links"),
        ("djstripe", "0003_2_11"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SubscriptionNotice",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("key", models.CharField(max_length=255, unique=True)),
                        ("kind", models.CharField(choices=[("payment_failed", "Renewal payment failed"),
                                                           ("ended", "Subscription ended")], max_length=32)),
                        ("email", models.EmailField(blank=True, max_length=254)),
                        ("stripe_customer_id", models.CharField(blank=True, max_length=255)),
                        ("stripe_subscription_id", models.CharField(blank=True, db_index=True, max_length=255)),
                        ("stripe_invoice_id", models.CharField(blank=True, max_length=255)),
                        ("attempt", models.PositiveSmallIntegerField(default=0)),
                        ("context", models.JSONField(default=dict,
                                                     encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={"ordering": ["-created_at", "-pk"], "db_table": "billing_subscriptionnotice"},
                ),
                migrations.CreateModel(
                    name="ShopSubscription",
                    fields=[],
                    options={"verbose_name": "subscription", "verbose_name_plural": "subscriptions",
                             "proxy": True, "indexes": [], "constraints": []},
                    bases=("djstripe.subscription",),
                ),
            ],
            database_operations=[],
        ),
        move_content_types(("billing", "subscriptions", "subscriptionnotice"),
                           ("billing", "subscriptions", "shopsubscription")),
    ]
