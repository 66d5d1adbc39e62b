"""Request hygiene shared by every page."""

from django.core.exceptions import BadRequest

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIX = "/api/"


class RejectNulBytesMiddleware:
    """A NUL byte in the address, the query string or a form is never
    legitimate, and PostgreSQL refuses it in any text it is compared with or
    stored in: answer 400 (the shop's "bad request" page) before a view runs,
    instead of a 500 from the database. The REST API answers bad input in its
    own JSON shape (tests/api/test_schema.py holds it to its schema)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)  # the API validates its own input, in its own error shape
        if "\x00" in request.path or _has_nul(request.GET):
            raise BadRequest("NUL byte in the request")
        if request.method == "POST" and request.content_type in FORM_TYPES and _has_nul(request.POST):
            raise BadRequest("NUL byte in the form")
        return self.get_response(request)


def _has_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())
