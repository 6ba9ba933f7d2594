"""FHIR R4 for clinic systems (/fhir/r4/). The API key names the spa and the practice, as in the REST API.

Each view reads input, calls a read or a service, and responds: the REST API's base view (``PracticeApi``)
authenticates the key, throttles per key, checks the body's size and runs everything — rendering included —
inside the key's spa scope; this room adds FHIR JSON in and out and an ``OperationOutcome`` for every error.
"""

import functools

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.apis import RETRY_AFTER, PracticeApi
from ..api.errors import JSONObjectParser
from ..api.idempotency import IDEMPOTENCY_HEADER, idempotent_request, idempotent_response
from ..api.selectors import referral_of_practice
from ..services import referral_record_view
from .capability import capability_statement
from .mapping import expression_for_field, service_request_of, transaction_response
from .resources import read_resource, resolve_contained, resolve_transaction
from .services import fhir_label, service_request_create
from .wire import (
    FHIR_JSON,
    FhirError,
    FhirJSONParser,
    FhirJSONRenderer,
    FhirNegotiation,
    Issue,
    LegacyFhirJSONParser,
    fhir_exception_handler,
    refuse,
)

TAG = "FHIR R4"


class FhirWire:
    """FHIR JSON in and out (plain JSON too), every error an OperationOutcome."""

    parser_classes = [FhirJSONParser, JSONObjectParser, LegacyFhirJSONParser]
    renderer_classes = [FhirJSONRenderer, JSONRenderer]
    content_negotiation_class = FhirNegotiation

    def get_exception_handler(self):
        return functools.partial(fhir_exception_handler, expression_for_field=expression_for_field)


class FhirApi(FhirWire, PracticeApi):
    """Base for the views that need a practice's API key."""


class OperationOutcomeIssueSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["fatal", "error", "warning", "information"])
    code = serializers.CharField(help_text="An IssueType: invalid, structure, required, business-rule, not-found, …")
    diagnostics = serializers.CharField()
    expression = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Where: FHIRPath, e.g. ServiceRequest.subject."
    )


class OperationOutcomeSerializer(serializers.Serializer):
    resourceType = serializers.ChoiceField(choices=["OperationOutcome"])  # noqa: N815 - FHIR's element name
    issue = OperationOutcomeIssueSerializer(many=True)


def _outcome(description):
    return OpenApiResponse(OperationOutcomeSerializer, description=description)


ERRORS = {
    400: _outcome("Not valid FHIR R4: the issues name each element (expression)."),
    401: _outcome("Missing, invalid or revoked API key."),
    413: _outcome("The body is too large."),
    415: _outcome("The body is not JSON."),
    422: _outcome(
        "Valid FHIR that is not a referral this server can take (no attestation of consent, no way to reach the "
        "patient, an inactive request …), or an Idempotency-Key used with a different body."
    ),
    429: _outcome("Too many requests with this API key; the Retry-After header says how many seconds to wait."),
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Up to 255 printable ASCII characters, e.g. a UUID you generate per referral.",
)
SERVICE_REQUEST_EXAMPLE = {
    "resourceType": "ServiceRequest",
    "contained": [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Miller", "given": ["Grace"]}],
            "telecom": [{"system": "phone", "value": "(617) 555-0142"}],
            "birthDate": "1984-03-09",
        }
    ],
    "extension": [{"url": "urn:spa-referrals:fhir:patient-consented-to-contact", "valueBoolean": True}],
    "status": "active",
    "intent": "order",
    "priority": "routine",
    "subject": {"reference": "#p1"},
    "requester": {"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}},
    "reasonCode": [{"text": "Skin care two weeks after a chemical peel"}],
}


class MetadataApi(FhirWire, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        operation_id="fhir_metadata",
        summary="FHIR CapabilityStatement",
        description="What the FHIR R4 endpoint does (fhirVersion 4.0.1). Needs no key; the same for everyone.",
        tags=[TAG],
        auth=[],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="A CapabilityStatement resource.")},
    )
    def get(self, request):
        return Response(capability_statement())


class ServiceRequestCreateApi(FhirApi):
    @extend_schema(
        operation_id="fhir_service_request_create",
        summary="Refer a patient with a FHIR ServiceRequest",
        description=(
            "A ServiceRequest (status `active`) whose `subject` is a contained Patient (`#p1`): name, telecom "
            "(phone or email), birthDate. The referring office attests the patient's agreement to be contacted "
            "with the extension `urn:spa-referrals:fhir:patient-consented-to-contact` (valueBoolean true). The "
            "requester, a contained Practitioner or an identifier, is matched to the practice's clinicians by NPI "
            "(`http://hl7.org/fhir/sid/us-npi`). Answers 201 with the ServiceRequest as read back and a Location "
            "header. `Idempotency-Key` works as in the REST API."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER, IDEMPOTENCY_PARAMETER],
        request=OpenApiTypes.OBJECT,
        examples=[
            OpenApiExample(
                "A contained Patient", value=SERVICE_REQUEST_EXAMPLE, request_only=True, media_type=FHIR_JSON
            )
        ],
        responses={201: OpenApiResponse(OpenApiTypes.OBJECT, description="The ServiceRequest created."), **ERRORS},
    )
    def post(self, request):
        result = idempotent_request(request, lambda: self._create(request))
        return idempotent_response(result, location=reverse("fhir:service_request_read", args=[result.body["id"]]))

    @staticmethod
    def _create(request):
        if isinstance(request.data, dict) and request.data.get("resourceType") == "Bundle":
            refuse(
                _("POST a transaction Bundle to the base address, /fhir/r4/."),
                expression="Bundle",
                code="invalid",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        service_request = read_resource(request.data, expected=("ServiceRequest",))
        referral = service_request_create(api_key=request.auth, referred=resolve_contained(service_request))
        return status.HTTP_201_CREATED, service_request_of(referral)


class TransactionApi(FhirApi):
    @extend_schema(
        operation_id="fhir_transaction",
        summary="Refer a patient with a FHIR transaction Bundle",
        description=(
            "A Bundle of type `transaction` with a Patient, optionally a Practitioner (identified by NPI), and one "
            "ServiceRequest whose subject and requester point at them by `fullUrl` (`urn:uuid:…`). Answers 200 "
            "with a `transaction-response` Bundle: the ServiceRequest `201 Created` with its location; the Patient "
            "and Practitioner are kept with the referral, not as resources of their own (`200 OK` with an "
            "informational outcome)."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER, IDEMPOTENCY_PARAMETER],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="A transaction-response Bundle."), **ERRORS},
    )
    def post(self, request):
        return idempotent_response(idempotent_request(request, lambda: self._transact(request)))

    @staticmethod
    def _transact(request):
        bundle = read_resource(request.data, expected=("Bundle",))
        referral = service_request_create(api_key=request.auth, referred=resolve_transaction(bundle))
        return status.HTTP_200_OK, transaction_response(bundle, service_request_of(referral))


class ServiceRequestReadApi(FhirApi):
    @extend_schema(
        operation_id="fhir_service_request_read",
        summary="Where one of your FHIR referrals stands",
        description=(
            "The ServiceRequest's `status` (active, completed, revoked) and a contained Task whose `status` and "
            "`businessStatus` give the referral's status. No patient details. Every read is audited."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The ServiceRequest."),
            401: ERRORS[401],
            404: _outcome("No such referral from your practice."),
            429: ERRORS[429],
        },
    )
    def get(self, request, referral_id):
        api_key = request.auth
        referral = referral_of_practice(api_key=api_key, public_id=referral_id)
        if referral is None:  # another practice's referral answers exactly like a missing one
            raise FhirError(
                [Issue(code="not-found", diagnostics=_("No ServiceRequest with this id from your practice."))],
                status_code=status.HTTP_404_NOT_FOUND,
            )
        referral_record_view(referral=referral, actor_label=fhir_label(api_key), channel="fhir")
        return Response(service_request_of(referral))


@extend_schema(exclude=True)
class TransactionWithSlashApi(TransactionApi):
    """The base with a trailing slash (/fhir/r4/), as some clients write it; the schema lists /fhir/r4 once."""
