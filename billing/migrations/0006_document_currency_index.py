# The currencies of issued documents (accounting's currency filter) read as a
# few probes of an index instead of a scan of every document.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0005_document_rows_and_integrity"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="document",
            index=models.Index(fields=["currency", "issued_at"], name="billing_doc_currency_issued"),
        ),
    ]
