"""Prove that every document series (INV, RCT, CN per year) runs from 1 to its
last number with no gap and no duplicate.

    python manage.py audit_document_numbers [--year 2026] [--series INV]

Prints one line per series and year, then each anomaly. Exits with status 1
when a series has a gap, a duplicate or a mismatched number (a document
without PDF is listed as a warning: the worker renders it).
"""

from django.core.management.base import BaseCommand, CommandError

from accounting.audit import audit_document_numbers


class Command(BaseCommand):
    help = "Audit document numbers: gaps, duplicates, mismatched numbers, documents without PDF."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="Only this year.")
        parser.add_argument("--series", help="Only this series (INV, RCT, CN).")

    def handle(self, *args, **options):
        report = audit_document_numbers(year=options["year"], series=options["series"])
        if not report.series:
            self.stdout.write("No documents issued yet: nothing to audit.")
            return
        for audit in report.series:
            status = self.style.SUCCESS("OK") if audit.ok else self.style.ERROR("ANOMALIES")
            span = f"{audit.first_number} .. {audit.last_number}" if audit.last else "no number given"
            self.stdout.write(f"{audit.series}-{audit.year}: {audit.count} document(s), {span}: {status}")
            for missing in audit.missing_numbers:
                self.stdout.write(f"  missing: {missing}")
            for line in audit.duplicates:
                self.stdout.write(f"  duplicate: {line}")
            for line in audit.mismatches:
                self.stdout.write(f"  mismatch: {line}")
            if audit.without_pdf:
                shown = ", ".join(audit.without_pdf[:20])
                more = f" and {len(audit.without_pdf) - 20} more" if len(audit.without_pdf) > 20 else ""
                self.stdout.write(self.style.WARNING(f"  without PDF ({len(audit.without_pdf)}): {shown}{more}"))
        if not report.ok:
            raise CommandError("document numbering has anomalies (see above)")
        self.stdout.write(self.style.SUCCESS("Every series is gapless and without duplicates."))
