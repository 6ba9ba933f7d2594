"""The REST API for practices' systems (/api/v1/…). The API key names the spa and the practice.

Each view reads input, calls a service or a read, and responds. Every request runs inside the
key's spa scope, rendering included, so a query that forgets the tenant raises instead of leaking.
"""

import json
from contextlib import ExitStack

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import reverse
from django.utils.translation import gettext as _
from django_scopes import scope
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from spas.catalog import active_items, services_for_specialty
from spas.models import Service, Specialty

from ..services import referral_record_view
from .auth import ApiKeyAuthentication, HasApiKey
from .errors import JSONObjectParser, JSONOnlyNegotiation, PayloadTooLarge
from .idempotency import IDEMPOTENCY_HEADER, idempotent_request, idempotent_response
from .selectors import referral_of_practice
from .serializers import (
    DetailErrorOutputSerializer,
    ReferralCreateInputSerializer,
    ReferralOutputSerializer,
    ServiceOutputSerializer,
    ValidationErrorOutputSerializer,
)
from .services import api_key_label, referral_create_with_key
from .throttles import ApiKeyRateThrottle

_ERRORS = {
    400: OpenApiResponse(ValidationErrorOutputSerializer, description="Invalid input; messages name the field."),
    401: OpenApiResponse(DetailErrorOutputSerializer, description="Missing, invalid or revoked API key."),
    429: OpenApiResponse(
        DetailErrorOutputSerializer,
        description="Too many requests with this API key; the Retry-After header says how many seconds to wait.",
    ),
}
# The 429's header, declared on each operation (drf-spectacular puts response headers under parameters).
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request with this API key.",
)


class PracticeApi(APIView):
    """Base for every /api/v1/ view: bearer API key, JSON in and out, the key's spa scope."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes = [JSONObjectParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    throttle_classes = [ApiKeyRateThrottle]
    throttle_scope = "api"

    def dispatch(self, request, *args, **kwargs):
        self._tenant_scope = ExitStack()
        with self._tenant_scope:
            response = super().dispatch(request, *args, **kwargs)
            # Responses render lazily; render now, while the spa's scope is still active.
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response = response.render()
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticates and checks the key first
        self._tenant_scope.enter_context(scope(spa=request.auth.spa))
        self._check_body_size(request)

    @staticmethod
    def _check_body_size(request):
        # DRF parses straight from the input stream, skipping Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        # check; reading the body through Django applies it.
        try:
            request._request.body  # noqa: B018 - read for its size check
        except RequestDataTooBig:
            raise PayloadTooLarge(
                _("The request body is larger than %(limit)d bytes.") % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
            ) from None
        except ValueError:  # an unreadable Content-Length
            raise exceptions.ParseError(_("Invalid Content-Length header.")) from None


class ReferralCreateApi(PracticeApi):
    @extend_schema(
        operation_id="referral_create",
        summary="Refer a patient to the spa",
        description=(
            "Creates a referral from the API key's practice. The patient's agreement to be contacted is "
            "attested by your office (`patient_consented_to_contact: true`).\n\n"
            "Send an `Idempotency-Key` header to make retries safe: the same key with the same body returns "
            "the original response (header `Idempotent-Replayed: true`) and creates nothing; the same key "
            "with a different body is refused with 422. Keys are per API key."
        ),
        tags=["referrals"],
        parameters=[
            RETRY_AFTER,
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 255 printable ASCII characters, e.g. a UUID you generate per referral.",
            ),
        ],
        request=ReferralCreateInputSerializer,
        responses={
            201: ReferralOutputSerializer,
            **_ERRORS,
            413: OpenApiResponse(DetailErrorOutputSerializer, description="The body is too large."),
            415: OpenApiResponse(DetailErrorOutputSerializer, description="The body is not JSON."),
            422: OpenApiResponse(
                DetailErrorOutputSerializer, description="The Idempotency-Key was used with a different body."
            ),
        },
    )
    def post(self, request):
        result = idempotent_request(request, lambda: self._create(request))
        return idempotent_response(result, location=reverse("api:referral_detail", args=[result.body["id"]]))

    @staticmethod
    def _create(request):
        api_key = request.auth
        serializer = ReferralCreateInputSerializer(
            data=request.data, context={"practice": api_key.practice, "phone_region": api_key.spa.country}
        )
        serializer.is_valid(raise_exception=True)
        referral = referral_create_with_key(api_key=api_key, data=serializer.validated_data)
        # The created referral carries its practice, clinician, services and first event: the body is the
        # detail endpoint's without reading anything back (a test holds the two equal).
        return status.HTTP_201_CREATED, ReferralOutputSerializer(referral).data


class ReferralDetailApi(PracticeApi):
    @extend_schema(
        operation_id="referral_retrieve",
        summary="Where one of your referrals stands",
        description="Status and timeline of a referral made by the API key's practice. Every read is audited.",
        tags=["referrals"],
        parameters=[RETRY_AFTER],
        responses={
            200: ReferralOutputSerializer,
            401: _ERRORS[401],
            404: OpenApiResponse(DetailErrorOutputSerializer, description="No such referral from your practice."),
            429: _ERRORS[429],
        },
    )
    def get(self, request, referral_id):
        api_key = request.auth
        referral = referral_of_practice(api_key=api_key, public_id=referral_id)
        if referral is None:  # another practice's referral answers exactly like a missing one
            raise exceptions.NotFound
        referral_record_view(referral=referral, actor_label=api_key_label(api_key), channel="api")
        return Response(ReferralOutputSerializer(referral).data)


class ServiceListApi(PracticeApi):
    @extend_schema(
        operation_id="service_list",
        summary="The spa's active services",
        description="Services you can recommend in a referral (`services` takes their ids).",
        tags=["services"],
        parameters=[
            RETRY_AFTER,
            OpenApiParameter(
                "specialty",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                enum=Specialty.values,
                description="Only services suited to this specialty's patients.",
            ),
        ],
        responses={200: ServiceOutputSerializer(many=True), **_ERRORS},
    )
    def get(self, request):
        spa = request.auth.spa
        specialty = request.query_params.get("specialty")
        if specialty is None:
            services = active_items(Service, spa=spa)
        elif specialty in Specialty.values:
            services = services_for_specialty(spa=spa, specialty=specialty)
        else:
            raise exceptions.ValidationError({"specialty": [_("Unknown specialty.")]})
        return Response(ServiceOutputSerializer(services, many=True).data)


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI from the sidecar package's static files; no request leaves for another host."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        # Swagger UI otherwise asks validator.swagger.io for a badge.
        response.data["settings"] = json.dumps({**spectacular_settings.SWAGGER_UI_SETTINGS, "validatorUrl": None})
        return response
