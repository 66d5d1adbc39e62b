"""Benchmark: time to render one invoice PDF.

    .venv/bin/python bench/bench_documents.py [--n 30] [--keep]

Runs on a throwaway SQLite database under a temporary directory (migrated at
start), places and pays one order through the real services, then measures,
in the same run and alternating:

  service   billing.services.document_render_pdf: load the document, render its
            snapshot's HTML with WeasyPrint, store the PDF through Django's
            storage, lock and update the row;
  plain     weasyprint.HTML(string=<the same HTML>).write_pdf() alone.

Prints p50/p95 (ms) and writes bench/results/documents.json.

For the webhook-to-PDF-ready figure, `wait_for_order_documents_ready()` below
polls until an order's invoice and receipt both have their PDF and returns
when that happened.
"""

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "documents.json"


def setup_django(workdir: Path) -> None:
    """Test-like settings on a throwaway SQLite database and media directory."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["VAR_DIR"] = str(workdir / "var")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.pop("REDIS_URL", None)
    import logging

    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("billing").setLevel(logging.WARNING)
    logging.getLogger("orders").setLevel(logging.WARNING)
    logging.getLogger("celery").setLevel(logging.WARNING)
    logging.getLogger("kombu").setLevel(logging.ERROR)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def create_paid_order():
    """A three-line order at two VAT rates, placed and paid through the services
    (paying enqueues the documents; tasks run eagerly here)."""
    from decimal import Decimal

    from orders.services import BillingDetails, CartItem, order_mark_paid, order_place
    from shop.models import Category, Product, TaxRate

    category = Category.objects.create(name="Bench", slug="bench")
    standard = TaxRate.objects.create(name="Standard rate", rate=Decimal("20.00"))
    reduced = TaxRate.objects.create(name="Reduced rate", rate=Decimal("5.50"))
    products = [
        Product.objects.create(category=category, name=name, slug=f"bench-{i}", sku=f"BENCH-{i}",
                               unit_amount=amount, currency="eur", tax_rate=rate, stock=1000)
        for i, (name, amount, rate) in enumerate(
            [("Ceramic mug", 1250, standard), ("Django for Professionals", 2110, reduced),
             ("Poster A2", 999, standard)]
        )
    ]
    order = order_place(
        items=[CartItem(product_id=p.pk, quantity=q) for p, q in zip(products, (2, 1, 3), strict=True)],
        email="bench@example.com",
        billing=BillingDetails(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001",
                               city="Paris", country="FR"),
    )
    return order_mark_paid(order_id=order.pk, amount_paid=order.total, currency=order.currency,
                           payment_intent_id="pi_bench_1")


def wait_for_order_documents_ready(*, order_id: int, timeout: float = 60.0, poll: float = 0.05) -> float | None:
    """Block until the order's invoice and receipt both have a stored PDF.
    Returns the time.monotonic() at which that was seen, None on timeout."""
    from billing.models import Document

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = Document.objects.filter(
            order_id=order_id, kind__in=[Document.Kind.INVOICE, Document.Kind.RECEIPT], pdf_rendered_at__isnull=False
        ).count()
        if ready == 2:
            return time.monotonic()
        time.sleep(poll)
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * p / 100
    lower = int(k)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (k - lower)


def summary(samples_ms: list[float]) -> dict:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 2),
        "min_ms": round(min(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
    }


def forget_pdf(document_id: int) -> None:
    """Back to "issued, not rendered" (pdf fields are the mutable ones)."""
    from billing.models import Document

    document = Document.objects.get(pk=document_id)
    if document.pdf:
        document.pdf.storage.delete(document.pdf.name)
    Document.objects.filter(pk=document_id).update(pdf="", pdf_rendered_at=None)


def run(n: int, warmup: int = 2) -> dict:
    from weasyprint import HTML

    import django
    import weasyprint
    from billing.models import Document
    from billing.rendering import document_html
    from billing.services import document_render_pdf

    order = create_paid_order()
    invoice = Document.objects.get(order=order, kind=Document.Kind.INVOICE)
    html = document_html(snapshot=invoice.snapshot)

    service_ms, plain_ms = [], []
    pdf_bytes = 0
    for i in range(warmup + n):
        forget_pdf(invoice.pk)
        gc.collect()  # a collection inside one sample would be charged to it
        start = time.perf_counter()
        rendered = document_render_pdf(document_id=invoice.pk)
        service = (time.perf_counter() - start) * 1000
        assert rendered.has_pdf

        gc.collect()
        start = time.perf_counter()
        pdf_bytes = len(HTML(string=html).write_pdf())
        plain = (time.perf_counter() - start) * 1000
        if i >= warmup:
            service_ms.append(service)
            plain_ms.append(plain)

    service_summary, plain_summary = summary(service_ms), summary(plain_ms)
    return {
        "benchmark": "documents",
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "weasyprint": weasyprint.__version__,
            "database": "sqlite (throwaway)",
            "machine": platform.machine(),
        },
        "document": {"number": invoice.number, "lines": len(invoice.snapshot["lines"]), "pdf_bytes": pdf_bytes},
        "warmup": warmup,
        "results": {
            "render_invoice_service": service_summary,
            "weasyprint_plain": plain_summary,
        },
        "service_overhead_p50_ms": round(service_summary["p50_ms"] - plain_summary["p50_ms"], 2),
    }


def print_table(result: dict) -> None:
    rows = [("document_render_pdf (service)", result["results"]["render_invoice_service"]),
            ("weasyprint HTML().write_pdf()", result["results"]["weasyprint_plain"])]
    print(f"Invoice {result['document']['number']} ({result['document']['lines']} lines), "
          f"n={rows[0][1]['n']} after {result['warmup']} warm-up runs")
    print(f"{'':32} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9} {'min ms':>9} {'max ms':>9}")
    for label, s in rows:
        print(f"{label:32} {s['p50_ms']:9.1f} {s['p95_ms']:9.1f} {s['mean_ms']:9.1f} {s['min_ms']:9.1f} {s['max_ms']:9.1f}")
    print(f"service overhead at p50: {result['service_overhead_p50_ms']:.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="measured renders of each kind (default 30)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        setup_django(Path(tmp))
        result = run(args.n, warmup=args.warmup)
    print_table(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
