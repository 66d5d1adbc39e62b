"""Document downloads. Anyone who may not see a document gets the same 404 as
for a document that does not exist; a signed link (core.signed_links, from an
e-mail or the order page) opens its one document without a session, and an
altered or expired one gets a page that says so."""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from core.signed_links import LinkState, link_error_response, request_link_state

from .selectors import document_get, document_get_for_download
from .services import document_pdf_ensure


@require_GET
def document_pdf(request, pk: int):
    link = request_link_state(request)
    if link == LinkState.VALID:
        document = document_get(pk=pk)
    else:
        document = document_get_for_download(pk=pk, user=request.user, order_reference=request.GET.get("ref"))
        if document is None and link != LinkState.MISSING:
            return link_error_response(request, link)
    if document is None:
        raise Http404("No such document.")
    # A receipt's first download renders it (so may a worker behind, or a
    # lost file): from the same snapshot, so the same bytes.
    document = document_pdf_ensure(document=document)
    response = FileResponse(
        document.pdf.open("rb"),
        as_attachment=True,
        filename=document.pdf_filename,
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
