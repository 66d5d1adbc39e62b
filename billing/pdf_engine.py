"""WeasyPrint, set up once per process: HTML -> PDF bytes for documents.

A plain `HTML(string=...).write_pdf()` parses the stylesheet and builds a
font configuration (a Pango font map, whose font and glyph caches start cold)
on every call, and matches WeasyPrint's whole HTML5 user-agent stylesheet
against every element. Here, built once and reused by every render of the
process: the document stylesheet (templates/billing/document.css), one
FontConfiguration, and a user-agent stylesheet cut down to what documents use
(pdf_user_agent.css). The PDF is byte for byte the one a plain render of the
same HTML with its stylesheet inlined gives (tests/billing/test_pdf.py).

WeasyPrint fetches nothing: only `data:` URLs are allowed; fonts are the
system's DejaVu Sans. A process-wide lock serialises renders, because the
shared Pango font map is not safe to use from two threads at once (gunicorn
runs threads); rendering is CPU-bound under the GIL anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from django.template.loader import get_template

STYLESHEET_TEMPLATE = "billing/document.css"
USER_AGENT_STYLESHEET = Path(__file__).with_name("pdf_user_agent.css")

# Reentrant: a render sets the engine up (under the lock) on first use.
_render_lock = threading.RLock()


def stylesheet_text() -> str:
    """The documents' CSS, as the template engine finds it."""
    return get_template(STYLESHEET_TEMPLATE).template.source


@cache
def _engine():
    # Imported here: WeasyPrint loads pango/cairo, which only the processes
    # that render (workers, the download view) need.
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    font_config = FontConfiguration()
    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
    user_agent = CSS(string=USER_AGENT_STYLESHEET.read_text(), font_config=font_config, url_fetcher=fetcher)
    stylesheet = CSS(string=stylesheet_text(), font_config=font_config, url_fetcher=fetcher)

    class DocumentHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [user_agent]

    return DocumentHTML, font_config, fetcher, stylesheet


def preload() -> None:
    """Import WeasyPrint (no font map, no Pango state yet: safe to fork)."""
    import weasyprint  # noqa: F401
    import weasyprint.text.fonts  # noqa: F401


def url_fetcher():
    """The fetcher renders use: `data:` URLs only (for attachments too)."""
    with _render_lock:
        return _engine()[2]


def html_to_pdf(
    html: str,
    *,
    pdf_variant: str | None = None,
    attachments: Sequence = (),
    before_write: Callable | None = None,
    finisher: Callable | None = None,
) -> bytes:
    """The PDF of a document's HTML (without its stylesheet: it is added here).

    `before_write(document)` may change the laid-out document (metadata)
    before it is written; `pdf_variant`, `attachments` and `finisher` are
    WeasyPrint's."""
    options = {"pdf_variant": pdf_variant} if pdf_variant else {}
    write_options = {**options, "attachments": list(attachments)} if attachments else options
    with _render_lock:
        document_html, font_config, fetcher, stylesheet = _engine()
        document = document_html(string=html, base_url=None, url_fetcher=fetcher).render(
            stylesheets=[stylesheet], font_config=font_config, **options
        )
        if before_write is not None:
            before_write(document)
        return document.write_pdf(finisher=finisher, **write_options)
