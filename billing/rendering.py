"""HTML and PDF of a document, from its snapshot only.

The templates receive the snapshot (plain JSON data) and nothing else, so an
issued document renders the same today and in ten years, whatever happened to
products, orders or settings since. The stylesheet (templates/billing/
document.css) is not in the HTML: billing.pdf_engine parses it once per process
and renders with it (WeasyPrint fetches nothing from the network).
"""

import json
import logging
import threading
from pathlib import Path

from django.template.loader import render_to_string

from . import pdf_engine
from .credit_notes import credit_note_for_display
from .facturx import EINVOICE_KINDS, facturx_pdf

logger = logging.getLogger(__name__)

# A representative invoice (three lines, two VAT rates, every block of the
# layout) that a worker process renders once when it starts.
WARM_UP_SNAPSHOT = Path(__file__).with_name("warm_up_invoice.json")

TEMPLATE_BY_KIND = {
    "invoice": "billing/invoice.html",
    "receipt": "billing/receipt.html",
    "credit_note": "billing/credit_note.html",
}


def document_html(*, snapshot: dict) -> str:
    """The printable HTML of a document snapshot (its stylesheet apart)."""
    template = TEMPLATE_BY_KIND[snapshot["kind"]]
    # A credit note prints negative amounts.
    return render_to_string(template, {"doc": credit_note_for_display(snapshot)})


def document_standalone_html(*, snapshot: dict) -> str:
    """The same HTML with its stylesheet inlined: one self-contained file,
    what a plain WeasyPrint (or a browser) renders to the same document."""
    html = document_html(snapshot=snapshot)
    return html.replace("</head>", f"<style>\n{pdf_engine.stylesheet_text()}</style>\n</head>", 1)


def html_to_pdf(html: str) -> bytes:
    """HTML -> PDF bytes with WeasyPrint, refusing any external resource."""
    # PDF/A like the e-invoices: receipts are archived as long.
    return pdf_engine.html_to_pdf(html, pdf_variant="pdf/a-3b")


def snapshot_to_pdf(*, snapshot: dict) -> bytes:
    html = document_html(snapshot=snapshot)
    if snapshot["kind"] in EINVOICE_KINDS:
        # Invoices and credit notes are e-invoices: PDF/A-3b with their
        # Factur-X XML embedded (billing/facturx.py).
        return facturx_pdf(snapshot=snapshot, html=html)
    return html_to_pdf(html)


def warm_up() -> None:
    """Render a sample invoice, its Factur-X XML included, and drop it: a
    process that starts (a worker's pool process) loads the templates, the
    fonts in every size and weight documents use, the factur-x library and
    its XSD now, rather than during its first customer's document (measured:
    after a warm-up with a few words, the first invoice still took 0.5 s of
    CPU against 0.18 s for the next ones)."""
    snapshot_to_pdf(snapshot=json.loads(WARM_UP_SNAPSHOT.read_text()))


def warm_up_receipt() -> None:
    """The warm-up of a web process, which renders receipts (on their first
    download): the sample rendered as a receipt, which loads WeasyPrint, the
    templates and the fonts, and not the factur-x library a receipt does not
    use (invoices are rendered by the workers)."""
    snapshot_to_pdf(snapshot=warm_up_receipt_snapshot())


def warm_up_receipt_snapshot() -> dict:
    snapshot = json.loads(WARM_UP_SNAPSHOT.read_text())
    return {**snapshot, "kind": "receipt", "title": "Receipt", "amount_received": snapshot["totals"]["gross"]}


def warm_up_in_background() -> None:
    def run() -> None:
        try:
            warm_up_receipt()
        except Exception:  # never keep a process from serving; its first render will say what is wrong
            logger.exception("PDF engine warm-up failed")

    threading.Thread(target=run, name="pdf-warm-up", daemon=True).start()
