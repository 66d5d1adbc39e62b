import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()


def _warm_up_pdf_engine() -> None:
    """Receipts are rendered on their first download, by the web process that
    serves it: WeasyPrint's import (pango, cairo: about 0.9 s) and its cold
    font caches are paid now, in a background thread, not by that customer."""
    from django.conf import settings

    if settings.WEB_PDF_WARM_UP:
        from billing.rendering import warm_up_in_background

        warm_up_in_background()


_warm_up_pdf_engine()
