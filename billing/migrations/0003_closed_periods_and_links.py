"""Billing owns its rules and no subscription code:

- closed periods (the rule that nothing is issued inside one) move here from
  the accounting app, keeping their table (accounting_closedperiod);
- subscription notices and the subscription admin proxy move to the
  subscriptions app (subscriptions/0001 adopts the notices' table);
- a document keeps the links its caller gave it (the order page, a guest's
  access reference), so that billing never reads an order.
No table is renamed or rebuilt; content types are relabelled."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_helpers import move_content_types


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0002_subscription_notices_and_admin"),
        ("accounting", "0001_closed_periods_and_export_jobs"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SubscriptionNotice"),
                migrations.DeleteModel(name="ShopSubscription"),
                migrations.CreateModel(
                    name="ClosedPeriod",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("label", models.CharField(max_length=8, unique=True)),
                        ("kind", models.CharField(max_length=8)),
                        ("start", models.DateField()),
                        ("end", models.DateField()),
                        ("closed_at", models.DateTimeField(auto_now_add=True)),
                        ("document_count", models.PositiveIntegerField(default=0)),
                        ("closed_by", models.ForeignKey(blank=True, null=True,
                                                        on_delete=django.db.models.deletion.SET_NULL,
                                                        related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "accounting_closedperiod",
                        "ordering": ["-start", "end"],
                        "indexes": [models.Index(fields=["start", "end"], name="accounting__start_b9f5dd_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        move_content_types(("accounting", "billing", "closedperiod")),
        migrations.AddField(
            model_name="document",
            name="order_path",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="document",
            name="access_reference",
            field=models.UUIDField(blank=True, null=True),
        ),
    ]
