"""Document downloads. Anyone who may not see a document gets the same 404 as
for a document that does not exist."""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from .selectors import document_get_for_download
from .services import document_render_pdf


@require_GET
def document_pdf(request, pk: int):
    document = document_get_for_download(pk=pk, user=request.user, order_reference=request.GET.get("ref"))
    if document is None:
        raise Http404("No such document.")
    if not document.has_pdf or not document.pdf.storage.exists(document.pdf.name):
        # Not rendered yet (the worker is behind): render it now; it is the
        # same snapshot, so the result is the one the worker would store.
        document = document_render_pdf(document_id=document.pk)
    response = FileResponse(
        document.pdf.open("rb"),
        as_attachment=True,
        filename=document.pdf_filename,
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
