"""Every REST API error is JSON: ``{"errors": {"field": ["message"]}}`` for invalid input,
``{"detail": "message"}`` for everything else. Never an HTML page, never a bare 500.
"""

import logging
import sys

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger("django.request")

NON_FIELD = "non_field_errors"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "payload_too_large"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used with a different request body. Use a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class RequestHeaderInvalid(exceptions.ValidationError):
    """A request header's value is refused: a 400 that names the header as if it were a field."""

    def __init__(self, header, reason):
        self.header = header
        self.reason = reason
        super().__init__({header: [reason]})


class JSONObjectParser(JSONParser):
    """DRF's JSON parser, plus: absurdly nested documents are a parse error, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - the document is nested too deeply.")) from None


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """Answer JSON whatever the Accept header says, so an error is never a 406 or an HTML page."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _flatten(detail, prefix=""):
    """{"services": {0: ["bad"]}} → {"services[0]": ["bad"]}: one flat list of messages per field."""
    flat = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if prefix:
                name = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}"
            else:
                name = NON_FIELD if key in ("__all__", NON_FIELD) else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix or NON_FIELD}[{index}]"))
    else:
        messages = detail if isinstance(detail, list) else [detail]
        flat[prefix or NON_FIELD] = [str(message) for message in messages]
    return flat


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A service refused the input (full_clean, a business rule): same shape as a serializer error.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _flatten(exc.detail)}
    else:
        detail = getattr(exc, "detail", None) or response.data.get("detail", "")
        response.data = {"detail": str(detail)}
    return response


def _server_error(exc, context):
    """An unexpected exception: log it like Django would and answer a JSON 500."""
    request = context.get("request")
    django_request = getattr(request, "_request", request)
    logger.error(
        "Internal Server Error: %s",
        getattr(django_request, "path", "?"),
        exc_info=sys.exc_info() if sys.exc_info()[1] is exc else (type(exc), exc, exc.__traceback__),
        extra={"status_code": 500, "request": django_request},
    )
    set_rollback()
    # Error reporting (and the test client) listen for this signal.
    got_request_exception.send(sender=None, request=django_request)
    return Response({"detail": _("Server error.")}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any /api/ address that matches nothing: a JSON 404, not the site's HTML page."""
    return JsonResponse({"detail": _("Not found.")}, status=404)
