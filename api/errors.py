"""Every error of the API in one JSON shape:

    {"error": {"status": 404, "code": "not_found", "message": "Not found.", "fields": {}}}

`code` is stable (for programs), `message` is for people, `fields` names the
query or body parameters that were refused and why. Unknown URLs under /api/,
unexpected failures (500) and throttling (429, with Retry-After) answer the
same way."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

logger = logging.getLogger("api")


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: [str(item) for item in (value if isinstance(value, list) else [value])]
                for key, value in detail.items()}
    return {}


def _message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            first = value[0] if isinstance(value, list) and value else value
            return str(first) if key == "non_field_errors" else f"{key}: {first}"
        return "The request is not valid."
    if isinstance(detail, list):
        return str(detail[0]) if detail else "The request is not valid."
    return str(detail)


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def error_body(*, status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        # Not ours to explain: logged with its traceback (as Django logs a 500)
        # and answered in the same shape, never as an HTML page.
        request = context.get("request")
        logger.exception("API error on %s", getattr(request, "path", "?"), exc_info=exc)
        response = Response(
            error_body(status_code=500, code="server_error",
                       message="Something went wrong on our side; it has been logged. Try again later."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
        response.content_type = "application/json"
        return response
    response = exception_handler(exc, context)
    if response is None:  # pragma: no cover - every APIException gets a response
        return None
    response.data = error_body(status_code=response.status_code, code=_code(exc), message=_message(exc.detail),
                               fields=_fields(exc.detail))
    # Whatever the client asked for (a PDF, say), an error is JSON.
    response.content_type = "application/json"
    return response


class NotFoundView(APIView):
    """Any other path under /api/: the same JSON 404 as an unknown object."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    schema = None

    def not_found(self, request, *args, **kwargs):
        raise exceptions.NotFound("There is nothing at this address. The API's addresses are listed at /api/docs/.")

    get = post = put = patch = delete = head = options = http_method_not_allowed = not_found


# -- how the errors look in the schema ------------------------------------------------

class ErrorDetailSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated.")
    code = serializers.CharField(help_text="Stable, for programs: not_found, invalid, not_authenticated, "
                                           "authentication_failed, permission_denied, throttled, "
                                           "method_not_allowed, not_acceptable, server_error.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="The parameters refused, each with why.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
