"""The HTTP shape of /fhir/r4/: FHIR JSON in and out, and every error an ``OperationOutcome``.

A FHIR client reads a refusal from the body, not from a status line: each 4xx and 5xx carries an
``OperationOutcome`` whose issues say what went wrong (``code``), in words (``diagnostics``) and where
(``expression``, a FHIRPath such as ``ServiceRequest.subject``). Errors raised by the machinery shared with the
REST API (authentication, throttling, body size, a service's ``ValidationError``, an unexpected exception) are
answered by that API's handler first, so logging, rollback and headers (``WWW-Authenticate``, ``Retry-After``)
stay the same, and then reworded here.
"""

from dataclasses import dataclass

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ..api.errors import (
    IdempotencyKeyReused,
    JSONObjectParser,
    PayloadTooLarge,
    RequestHeaderInvalid,
    api_exception_handler,
)

FHIR_JSON = "application/fhir+json"
MAX_ISSUES = 20

# The IssueType (http://hl7.org/fhir/issue-type) of a refusal by its status, where the exception says no more.
ISSUE_CODE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "business-rule",
    429: "throttled",
}
ISSUE_CODE_BY_EXCEPTION = [
    (exceptions.ParseError, "structure"),
    (exceptions.NotAuthenticated, "login"),
    (exceptions.AuthenticationFailed, "login"),
    (exceptions.Throttled, "throttled"),
    (PayloadTooLarge, "too-costly"),
    (IdempotencyKeyReused, "conflict"),
]


@dataclass(frozen=True)
class Issue:
    """One ``OperationOutcome.issue``: ``code`` is an IssueType, ``expression`` a FHIRPath (or empty)."""

    code: str
    diagnostics: str
    expression: str = ""
    severity: str = "error"

    def as_fhir(self):
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def operation_outcome(issues):
    """An ``OperationOutcome`` resource (a dict) with ``issues`` (at most MAX_ISSUES of them)."""
    return {"resourceType": "OperationOutcome", "issue": [issue.as_fhir() for issue in list(issues)[:MAX_ISSUES]]}


class FhirError(exceptions.APIException):
    """A refusal with its issues: 400 for a resource that is not valid FHIR, 422 for one this server cannot
    take as a referral (FHIR's "violated … server business rules"), 404, 405 …"""

    def __init__(self, issues, status_code=status.HTTP_400_BAD_REQUEST):
        self.issues = list(issues)
        self.status_code = status_code
        super().__init__(detail=self.issues[0].diagnostics if self.issues else "")


def refuse(diagnostics, *, expression="", code="business-rule", status_code=status.HTTP_422_UNPROCESSABLE_ENTITY):
    """Raise a FhirError with one issue (by default: a business rule, 422)."""
    raise FhirError([Issue(code=code, diagnostics=diagnostics, expression=expression)], status_code=status_code)


def fhir_exception_handler(exc, context, *, expression_for_field=lambda name: ""):
    """DRF's exception handler for the FHIR views: every error an OperationOutcome."""
    if isinstance(exc, RequestHeaderInvalid):
        # A header is no element of the resource: no FHIRPath, the header named in the words instead.
        exc = FhirError([Issue(code="invalid", diagnostics=f"{exc.header}: {exc.reason}")])
    if isinstance(exc, FhirError):
        set_rollback()
        return Response(operation_outcome(exc.issues), status=exc.status_code)
    response = api_exception_handler(exc, context)
    body = response.data if isinstance(response.data, dict) else {}
    if "errors" in body:  # a service refused the input: name each field as FHIR sees it
        issues = [
            Issue(
                code="invalid" if response.status_code == 400 else "business-rule",
                diagnostics=message,
                expression=expression_for_field(field),
            )
            for field, messages in body["errors"].items()
            for message in messages
        ]
    else:
        issues = [Issue(code=_issue_code(exc, response.status_code), diagnostics=str(body.get("detail", "")))]
    response.data = operation_outcome(issues)
    return response


def _issue_code(exc, status_code):
    for exception_class, code in ISSUE_CODE_BY_EXCEPTION:
        if isinstance(exc, exception_class):
            return code
    return ISSUE_CODE_BY_STATUS.get(status_code, "exception")


class FhirJSONParser(JSONObjectParser):
    """``application/fhir+json`` (``;fhirVersion=4.0`` and a charset are fine): the REST API's JSON parser."""

    media_type = FHIR_JSON


class LegacyFhirJSONParser(JSONObjectParser):
    """``application/json+fhir``, what DSTU2-era clients still send."""

    media_type = "application/json+fhir"


class FhirJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"


class FhirNegotiation(DefaultContentNegotiation):
    """FHIR JSON unless the client asks for plain ``application/json``; never a 406 or an HTML page."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (exceptions.NotAcceptable, Http404):
            return renderers[0], renderers[0].media_type


@csrf_exempt
def fhir_not_found(request, *args, **kwargs):
    """Any /fhir/r4/ address that matches nothing (another resource type, a malformed id): an OperationOutcome."""
    issue = Issue(
        code="not-found",
        diagnostics=_("Not found. This server has ServiceRequest (read, create), a transaction Bundle and metadata."),
    )
    return JsonResponse(operation_outcome([issue]), status=404, content_type=FHIR_JSON)
