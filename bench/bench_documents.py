"""Documents: how long one invoice PDF takes, and how long a customer waits
from payment to a downloadable invoice.

    .venv/bin/python bench/bench_documents.py [--n 30] [--orders 10]

Runs the whole stack (emulator, gunicorn, a real Celery worker) on a database
of its own (PostgreSQL when DATABASE_URL names one, else SQLite), then:

1. render:  billing.services.document_render_pdf (load the document, render its
   snapshot as PDF/A-3b with its Factur-X XML, store the PDF, update the row)
   and billing.rendering.snapshot_to_pdf alone, next to a plain
   weasyprint.HTML(string=<the same HTML, stylesheet inlined>).write_pdf()
   (WeasyPrint's defaults: the CSS parsed and a font configuration built on
   every call), alternating, n times. Target: p50 <= 0.5x the plain render.
2. payment-to-PDF: orders placed and their Checkout paid at the emulator; time
   from the payment until the worker has stored the invoice's PDF (webhook
   delivery, dj-stripe, order_mark_paid, issuing, the render; the receipt's
   PDF is rendered on its first download), measured one order at a time,
   after one order not counted (--warmup-orders: the first webhook and task
   of each fresh process load code and open connections). Target: p95 <= 1.0 s.
   Then each order's receipt is downloaded through gunicorn with the e-mail's
   signed link: the first download of each (it renders the PDF), the first
   of all (a web process that has rendered nothing yet) apart.

Prints the figures and writes bench/results/documents.json.
"""

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, report, setup_django, summary_ms

sys.path.insert(0, str(ROOT))
from tests.conftest import emulator_control  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

BILLING = dict(name="Ada Lovelace", line1="1 Analytical Street", postal_code="75001", city="Paris", country="FR")


def bench_products():
    from catalog.models import Product

    return list(Product.objects.filter(active=True, stock__gte=100).order_by("pk")[:3]) or list(
        Product.objects.filter(active=True, stock__gt=10).order_by("-stock")[:2]
    )


def issue_copy(invoice):
    """A new invoice (next number) with the same buyer, lines and payment as
    `invoice`, issued and not rendered: each render sample needs one, since a
    rendered document's PDF cannot be forgotten (its SHA-256 is kept)."""
    from datetime import datetime
    from datetime import time as dt_time
    from datetime import timezone as dt_timezone
    from decimal import Decimal

    from billing.services import invoice_issue
    from billing.tax import LineInput
    from core.types import Buyer

    snap = invoice.snapshot
    paid_on = snap.get("paid_on")
    return invoice_issue(
        buyer=Buyer.from_snapshot(snap["buyer"]),
        lines=[
            LineInput(name=line["name"], sku=line.get("sku", ""), quantity=line["quantity"],
                      unit_amount=line["unit_gross"], vat_rate=Decimal(line["vat_rate"]),
                      vat_category=line.get("vat_category", ""), supply=line.get("supply", ""))
            for line in snap["lines"]
        ],
        currency=invoice.currency,
        payment_reference=invoice.payment_reference,
        paid_at=datetime.combine(datetime.fromisoformat(paid_on).date(), dt_time(12), dt_timezone.utc)
        if paid_on else None,
    )


def wait_for_invoice_pdf(*, order_id: int, timeout: float = 60.0, poll: float = 0.01) -> float | None:
    """time.perf_counter() at which the order's invoice had its PDF stored; None on timeout."""
    from billing.models import Document

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Document.objects.filter(order_id=order_id, kind=Document.Kind.INVOICE,
                                   pdf_rendered_at__isnull=False).exists():
            return time.perf_counter()
        time.sleep(poll)
    return None


def download_receipt(stack: Stack, order_id: int) -> float:
    """Seconds to download the order's receipt through gunicorn with the
    e-mail's signed link (its first download: it renders the PDF)."""
    import urllib.request

    from billing.emails import document_download_url
    from billing.models import Document

    receipt = Document.objects.get(order_id=order_id, kind=Document.Kind.RECEIPT)
    assert not receipt.has_pdf, "the receipt was rendered before its first download"
    url = document_download_url(receipt)
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    elapsed = time.perf_counter() - started
    assert body.startswith(b"%PDF") and response.headers["Content-Type"] == "application/pdf"
    return elapsed


def place_and_start_checkout(products) -> tuple:
    from orders.services import BillingDetails, CartItem, order_place
    from payments.services import checkout_start

    order = order_place(
        items=[CartItem(p.pk, q) for p, q in zip(products, (2, 1, 3), strict=False)],
        email="bench@example.com",
        billing=BillingDetails(**BILLING),
    )
    url = checkout_start(order=order)
    return order, url.rsplit("/", 1)[-1]


def measure_webhook_to_pdf(stack: Stack, orders: int, warmup: int = 1) -> dict:
    """`warmup` orders first, not counted: the first webhook a fresh web
    process handles and the first task a worker runs load code and open
    connections (seconds on a loaded machine), once per process."""
    products = bench_products()
    latencies, timeouts, paid = [], 0, []
    for i in range(warmup + orders):
        order, session_id = place_and_start_checkout(products)
        started, paid_at = time.perf_counter(), time.time()
        emulator_control(stack.emulator_url, f"checkout/sessions/{session_id}/pay", {"card": "4242424242424242"})
        ready = wait_for_invoice_pdf(order_id=order.pk)
        print(f"  order {order.number} paid at {time.strftime('%H:%M:%S', time.gmtime(paid_at))},"
              f"{paid_at % 1 * 1000:03.0f}: invoice PDF "
              f"{'timed out' if ready is None else f'{(ready - started) * 1000:.0f} ms'} after the payment", flush=True)
        paid.append(order.pk)
        if i < warmup:
            continue
        if ready is None:
            timeouts += 1
        else:
            latencies.append(ready - started)
    # The receipts, downloaded once the invoices are done (as a customer
    # would, later): the first request renders each.
    downloads = [download_receipt(stack, order_id) for order_id in paid]
    return {"orders": orders, "warmup_orders": warmup, "timeouts": timeouts,
            "payment_to_invoice_pdf": summary_ms(latencies),
            "receipt_first_download": {
                "first_of_all_ms": round(downloads[0] * 1000, 1),
                "others": summary_ms(downloads[1:]),
            }}


def measure_render(n: int, warmup: int, stack: Stack) -> dict:
    """The shop's render next to a plain WeasyPrint render of the same HTML
    with the same stylesheet inlined (what `HTML(string=...).write_pdf()`
    costs with WeasyPrint's defaults), alternating, in this process."""
    import io

    from pypdf import PdfReader
    from weasyprint import HTML

    from billing.models import Document
    from billing.rendering import document_standalone_html, snapshot_to_pdf
    from billing.services import document_render_pdf

    invoice = Document.objects.filter(kind=Document.Kind.INVOICE).order_by("pk").first()
    pages = len(PdfReader(io.BytesIO(snapshot_to_pdf(snapshot=invoice.snapshot))).pages)
    service_s, render_s, plain_s = [], [], []
    for i in range(warmup + n):
        # Each sample renders a fresh copy of the paid order's invoice, its
        # own HTML for the plain render: the same document three ways.
        copy = Document.objects.get(pk=issue_copy(invoice).pk)
        standalone = document_standalone_html(snapshot=copy.snapshot)
        gc.collect()  # a collection inside one sample would be charged to it
        started = time.perf_counter()
        assert document_render_pdf(document_id=copy.pk).has_pdf
        service = time.perf_counter() - started
        gc.collect()
        started = time.perf_counter()
        snapshot_to_pdf(snapshot=copy.snapshot)
        render = time.perf_counter() - started
        gc.collect()
        started = time.perf_counter()
        HTML(string=standalone).write_pdf()
        plain = time.perf_counter() - started
        if i >= warmup:
            service_s.append(service)
            render_s.append(render)
            plain_s.append(plain)
    service, render, plain = summary_ms(service_s), summary_ms(render_s), summary_ms(plain_s)
    return {
        "document": {"number": invoice.number, "lines": len(invoice.snapshot["lines"]), "pages": pages},
        "document_render_pdf": service,
        "snapshot_to_pdf": render,
        "baseline_weasyprint_plain": plain,
        "ratio_p50_document_render_pdf_to_plain": round(service["p50_ms"] / plain["p50_ms"], 3),
        "ratio_p50_snapshot_to_pdf_to_plain": round(render["p50_ms"] / plain["p50_ms"], 3),
        "target_ratio_p50": 0.5,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30, help="measured renders of each kind")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--orders", type=int, default=10, help="orders paid for the webhook-to-PDF figure")
    parser.add_argument("--warmup-orders", type=int, default=1, help="orders paid first, not counted")
    parser.add_argument("--keep-logs", type=Path, help="copy the stack's logs (worker, web, emulator) here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp, Stack(Path(tmp)) as stack:
        # This process works on the stack's own database and media.
        setup_django(stack.env["DATABASE_URL"], VAR_DIR=stack.env["VAR_DIR"])
        from django.conf import settings

        from payments import gateway

        settings.STRIPE_API_BASE = stack.emulator_url
        settings.SITE_URL = stack.url
        settings.SECRET_KEY = stack.env["DJANGO_SECRET_KEY"]  # the e-mail's signed links open at gunicorn
        gateway.configure()

        try:
            latency = measure_webhook_to_pdf(stack, args.orders, args.warmup_orders)
            render = measure_render(args.n, args.warmup, stack)
        finally:
            from django.db import connections

            connections.close_all()
            if args.keep_logs:
                stack.copy_logs(args.keep_logs)
    p95 = latency["payment_to_invoice_pdf"]["p95_ms"]
    report("documents", {
        "database": "postgresql" if stack.env["DATABASE_URL"].startswith("postgres") else "sqlite",
        "worker": "celery, 2 processes",
        "render": render,
        "webhook_to_pdf": latency,
        "targets": {
            "render_p50_ratio_le_0.5": render["ratio_p50_document_render_pdf_to_plain"] <= 0.5,
            "payment_to_pdf_p95_le_1000_ms": latency["timeouts"] == 0 and p95 <= 1000,
        },
    })


if __name__ == "__main__":
    main()
