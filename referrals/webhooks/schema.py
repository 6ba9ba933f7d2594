"""The webhooks in the OpenAPI document (``webhooks``, OpenAPI 3.1): one entry per event, with its payload.

Listed by import path in ``SPECTACULAR_SETTINGS["WEBHOOKS"]``. The serializers only describe; payloads are built
by ``payloads.py``, and a test checks that what is sent matches what is written here.
"""

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema, inline_serializer
from rest_framework import serializers

from ..models import Status
from .models import TEST_EVENT, EventType

HEADERS = (
    "Every request is a POST with a JSON body and three Standard Webhooks headers (https://www.standardwebhooks.com): "
    "`webhook-id` (`msg_…`, the same on every retry of this event to this endpoint: drop a repeat), "
    "`webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over "
    "`{webhook-id}.{webhook-timestamp}.{body}` with the base64-decoded part of the endpoint's `whsec_` secret; during "
    "a secret rotation two signatures, separated by a space). Verify the signature over the raw body and refuse a "
    "timestamp more than five minutes away. Answer 2xx within 10 seconds; anything else is retried with "
    "exponential backoff for about a day. 410 Gone disables the endpoint."
)

# One serializer instance for both payloads that carry it: DRF copies declared fields, so it is one component.
PATIENT = inline_serializer(
    name="WebhookPatient",
    fields={
        "first_name": serializers.CharField(),
        "last_name": serializers.CharField(),
        "date_of_birth": serializers.DateField(allow_null=True),
    },
    required=False,
    help_text=(
        "Only to an endpoint registered for the referring practice, and only while the patient's authorization to "
        "share with that practice is valid; otherwise absent."
    ),
)


def _referral_fields():
    return {
        "spa": serializers.SlugField(help_text="The spa's web address (slug)."),
        "referral_id": serializers.UUIDField(help_text="As in `GET /api/v1/referrals/{referral_id}/`."),
        "status": serializers.ChoiceField(choices=Status.choices, help_text="The referral's status after the event."),
        "practice_id": serializers.UUIDField(help_text="The referring practice."),
        "clinician_id": serializers.UUIDField(allow_null=True, help_text="The referring clinician, if one was named."),
        "patient": PATIENT,
    }


REFERRAL_DATA = inline_serializer(name="WebhookReferralData", fields=_referral_fields())
OUTCOME_DATA = inline_serializer(
    name="WebhookOutcomeData",
    fields={
        **_referral_fields(),
        "outcome_report_id": serializers.UUIDField(help_text="The report the practice can now read in its portal."),
        "report_version": serializers.IntegerField(min_value=1),
    },
)
TEST_DATA = inline_serializer(
    name="WebhookTestData",
    fields={
        "spa": serializers.SlugField(),
        "endpoint_id": serializers.UUIDField(),
        "test": serializers.BooleanField(),
    },
)


def _event(event_type, data, summary):
    event_type = str(event_type)  # a plain string: the schema's renderers know no enum members
    body = inline_serializer(
        name="WebhookEvent_" + event_type.replace(".", "_"),
        fields={
            "type": serializers.ChoiceField(choices=[event_type]),
            "timestamp": serializers.DateTimeField(help_text="When the event happened (UTC, ISO 8601)."),
            "data": data,
        },
    )
    return OpenApiWebhook(
        name=event_type,
        decorator=extend_schema(
            summary=summary,
            description=HEADERS,
            request={"application/json": body},
            responses={
                200: OpenApiResponse(description="Received (any 2xx)."),
                410: OpenApiResponse(description="Gone: the endpoint is disabled and receives nothing more."),
            },
        ),
    )


REFERRAL_RECEIVED = _event(EventType.REFERRAL_RECEIVED, REFERRAL_DATA, "A referral arrived (any channel)")
REFERRAL_ACCEPTED = _event(EventType.REFERRAL_ACCEPTED, REFERRAL_DATA, "The spa accepted a referral")
REFERRAL_SCHEDULED = _event(EventType.REFERRAL_SCHEDULED, REFERRAL_DATA, "An appointment was booked (or moved)")
REFERRAL_COMPLETED = _event(EventType.REFERRAL_COMPLETED, REFERRAL_DATA, "The referred patient was seen")
REFERRAL_DECLINED = _event(EventType.REFERRAL_DECLINED, REFERRAL_DATA, "The spa declined a referral")
OUTCOME_SENT = _event(
    EventType.OUTCOME_SENT, OUTCOME_DATA, "An outcome report was delivered to the referring office's portal"
)
WEBHOOK_TEST = _event(TEST_EVENT, TEST_DATA, "An owner sent a test event")
