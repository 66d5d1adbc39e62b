"""HTML and PDF of a document, from its snapshot only.

The templates receive the snapshot (plain JSON data) and nothing else, so an
issued document renders the same today and in ten years, whatever happened to
products, orders or settings since. WeasyPrint fetches nothing from the
network: only `data:` URLs are allowed; fonts are the system's DejaVu Sans.
"""

from django.template.loader import render_to_string

from .credit_notes import credit_note_for_display
from .facturx import EINVOICE_KINDS, facturx_pdf

TEMPLATE_BY_KIND = {
    "invoice": "billing/invoice.html",
    "receipt": "billing/receipt.html",
    "credit_note": "billing/credit_note.html",
}


def document_html(*, snapshot: dict) -> str:
    """The printable HTML of a document snapshot."""
    template = TEMPLATE_BY_KIND[snapshot["kind"]]
    # A credit note prints negative amounts.
    return render_to_string(template, {"doc": credit_note_for_display(snapshot)})


def html_to_pdf(html: str) -> bytes:
    """HTML -> PDF bytes with WeasyPrint, refusing any external resource."""
    # Imported here: WeasyPrint loads pango/cairo, which only the processes
    # that render (workers, the download view) need.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
    # PDF/A like the e-invoices: receipts are archived as long.
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/a-3b")


def snapshot_to_pdf(*, snapshot: dict) -> bytes:
    html = document_html(snapshot=snapshot)
    if snapshot["kind"] in EINVOICE_KINDS:
        # Invoices and credit notes are e-invoices: PDF/A-3b with their
        # Factur-X XML embedded (billing/facturx.py).
        return facturx_pdf(snapshot=snapshot, html=html)
    return html_to_pdf(html)
