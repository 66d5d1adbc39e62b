"""Closed periods are billing's rule now (billing/0003 adopted the table);
accounting forgets the model without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounting", "0001_closed_periods_and_export_jobs"),
        ("billing", "0003_closed_periods_and_links"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ClosedPeriod")],
            database_operations=[],
        ),
    ]
