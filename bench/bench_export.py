"""Benchmark: the period export (ZIP of every PDF + CSV journal + VAT summary).

    .venv/bin/python bench/bench_export.py [--sizes 1000 10000]

On a throwaway database (PostgreSQL when DATABASE_URL names one, else SQLite in
a temporary directory, see bench/common.py) and a temporary media directory:

1. For each size N, a month of its own is filled with N documents issued
   through billing's real services: N/2 invoices (invoice_issue, two VAT
   rates, every 10th one reverse-charged to a German business, every 20th in
   USD) and their N/2 receipts (receipt_issue).
2. Rendering 10,000 PDFs with WeasyPrint would take the better part of an
   hour, so one invoice and one receipt are rendered for real (the invoice is
   a PDF/A-3 Factur-X file) and those bytes are stored as every document's PDF
   (through Django's storage, one file per document, as the worker would).
3. The export of each month is built by `accounting.services.export_build` in
   a fresh child process (the same code the Celery task runs), so the child's
   peak RSS is the memory of the process that builds the ZIP. The child
   reports its wall time, its RSS before the build (Django loaded) and its
   peak RSS (VmHWM) after it.

Prints the figures and writes bench/results/export.json. What to look for:
documents per second, and a peak RSS that stays flat from 1,000 to 10,000
documents (the ZIP is streamed to a file, rows and PDFs are never all in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import timezone as dt_timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, BenchDatabase, report, setup_django  # noqa: E402


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS) or its peak so far (VmHWM), in MiB.
    VmHWM belongs to the process image, so a child started with exec does not
    inherit its parent's peak (getrusage's ru_maxrss does, across fork+exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child_build(job_id: int) -> None:
    """Run in a fresh process: build one export and print its figures as JSON."""
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from accounting.models import ExportJob
    from accounting.services import export_build

    baseline = rss_mb()
    started = time.perf_counter()
    job = export_build(job_id=job_id)
    wall = time.perf_counter() - started
    assert job.status == ExportJob.Status.DONE, job.error
    peak = rss_mb("VmHWM")
    print("RESULT:" + json.dumps({
        "wall_s": round(wall, 3),
        "documents": job.document_count,
        "zip_bytes": job.size,
        "rss_before_build_mb": round(baseline, 1),
        "peak_rss_mb": round(peak, 1),
    }))


def fill_month(*, month: date, count: int, invoice_pdf: bytes, receipt_pdf: bytes) -> float:
    """Issue count/2 invoices and their receipts dated in `month`; store the
    pre-rendered PDF bytes as each one's file. Returns the issuing seconds."""
    from decimal import Decimal

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import transaction
    from django.utils import timezone

    from billing.models import Document, document_pdf_path
    from billing.services import invoice_issue, receipt_issue
    from billing.tax import LineInput
    from core.types import Buyer

    fr = Buyer(name="Ada Lovelace", email="ada@example.com", address_line1="1 Analytical Street",
               postal_code="75001", city="Paris", country="FR")
    de = Buyer(name="Max Muster", company="Muster GmbH", email="einkauf@muster.example",
               address_line1="Hauptstrasse 1", postal_code="10115", city="Berlin", country="DE",
               vat_id="DE136695976")
    lines = [LineInput(name="Stoneware mug", quantity=2, unit_amount=1600, vat_rate=Decimal("20")),
             LineInput(name="Coffee beans 1 kg", quantity=1, unit_amount=3900, vat_rate=Decimal("5.5"))]
    started = time.perf_counter()
    for i in range(count // 2):
        when = datetime(month.year, month.month, 1 + i % 28, 9, 0, i % 60, tzinfo=dt_timezone.utc)
        invoice = invoice_issue(
            buyer=de if i % 10 == 0 else fr, lines=lines, currency="usd" if i % 20 == 1 else "eur",
            issued_at=when, paid_at=when, payment_reference=f"Card Visa •••• 4242, Stripe pi_bench_{i}",
        )
        receipt_issue(invoice=invoice, issued_at=when, paid_at=when)
    issuing = time.perf_counter() - started

    now = timezone.now()
    documents = list(Document.objects.filter(year=month.year, pdf="").only("pk", "kind", "number", "year"))
    with transaction.atomic():
        for document in documents:
            name = document_pdf_path(document, document.pdf_filename)
            content = invoice_pdf if document.kind == Document.Kind.INVOICE else receipt_pdf
            stored = default_storage.save(name, ContentFile(content))
            Document.objects.filter(pk=document.pk).update(pdf=stored, pdf_rendered_at=now)
    return issuing


def reference_pdfs() -> tuple[bytes, bytes]:
    """One invoice (PDF/A-3 Factur-X) and one receipt, rendered for real."""
    from decimal import Decimal

    from billing.rendering import snapshot_to_pdf
    from billing.services import invoice_issue, receipt_issue
    from billing.tax import LineInput
    from core.types import Buyer

    invoice = invoice_issue(
        buyer=Buyer(name="Reference", address_line1="1 rue", postal_code="75001", city="Paris", country="FR"),
        lines=[LineInput(name="Stoneware mug", quantity=2, unit_amount=1600, vat_rate=Decimal("20"))],
        currency="eur", issued_at=datetime(2020, 1, 15, tzinfo=dt_timezone.utc),
    )
    receipt = receipt_issue(invoice=invoice, issued_at=datetime(2020, 1, 15, tzinfo=dt_timezone.utc))
    return snapshot_to_pdf(snapshot=invoice.snapshot), snapshot_to_pdf(snapshot=receipt.snapshot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child-build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        return child_build(args.child_build)

    media = tempfile.TemporaryDirectory(prefix="bench-export-media-")
    with BenchDatabase() as database:
        env = {"MEDIA_ROOT": media.name, "CELERY_TASK_ALWAYS_EAGER": "true"}
        setup_django(database.url, **env)
        import logging

        logging.disable(logging.INFO)
        from accounting.models import ExportJob
        from billing.periods import period_parse

        invoice_pdf, receipt_pdf = reference_pdfs()
        runs = []
        for index, size in enumerate(args.sizes):
            month = date(2021 + index, 3, 1)  # a year per size: numbers restart at 1
            issuing = fill_month(month=month, count=size, invoice_pdf=invoice_pdf, receipt_pdf=receipt_pdf)
            period = period_parse(f"{month:%Y-%m}")
            job = ExportJob.objects.create(label=period.label, kind=period.kind, start=period.start, end=period.end)
            child_env = {**os.environ, **env, "DATABASE_URL": database.url,
                         "DJANGO_SETTINGS_MODULE": "config.settings.test"}
            out = subprocess.run(
                [sys.executable, __file__, "--child-build", str(job.pk)],
                cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=3600,
            )
            if out.returncode:
                raise SystemExit(f"export build failed:\n{out.stdout}\n{out.stderr}")
            line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT:"))
            result = json.loads(line[len("RESULT:"):])
            result.update({
                "period": period.label,
                "documents_per_second": round(result["documents"] / result["wall_s"], 1),
                "peak_rss_over_baseline_mb": round(result["peak_rss_mb"] - result["rss_before_build_mb"], 1),
                "issuing_s": round(issuing, 1),
            })
            runs.append(result)
            print(f"{size:>6} documents: {result['wall_s']:.2f} s, {result['documents_per_second']:.0f} docs/s, "
                  f"ZIP {result['zip_bytes'] / 1e6:.1f} MB, peak RSS {result['peak_rss_mb']:.0f} MB "
                  f"({result['peak_rss_over_baseline_mb']:+.0f} MB over the process before the build)")

        report("export", {
            "database": database.kind,
            "what": (
                "accounting.services.export_build in a fresh child process, per period of N documents "
                "(N/2 invoices + N/2 receipts issued through billing's services; every stored PDF is one of "
                f"two real pre-rendered files: invoice {len(invoice_pdf)} bytes PDF/A-3 Factur-X, receipt "
                f"{len(receipt_pdf)} bytes). Wall time covers the journal, the VAT summary and copying every PDF "
                "into the ZIP, then storing it; peak RSS is the child's VmHWM (/proc/self/status)."
            ),
            "runs": runs,
            "peak_rss_growth_mb": round(runs[-1]["peak_rss_mb"] - runs[0]["peak_rss_mb"], 1) if len(runs) > 1 else None,
        })
    media.cleanup()


if __name__ == "__main__":
    main()
