"""What a webhook says: Standard Webhooks' ``{"type", "timestamp", "data"}`` with ids and status only.

Every endpoint reads the same thin payload. Patient details (``patient_details``) are added at delivery time,
and only for the referring practice's own endpoint while the patient's authorization covers that practice
(``delivery.py``); they are never stored with the delivery. schema.py documents these shapes.
"""

import json
from datetime import UTC

from .models import TEST_EVENT


def moment(at):
    """An aware datetime as ISO 8601 in UTC with a ``Z`` (``2026-12-05T14:03:07.123456Z``)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def referral_data(referral):
    """The ids and status every subscribed endpoint may read about a referral."""
    return {
        "spa": referral.spa.slug,
        "referral_id": str(referral.public_id),
        "status": referral.status,
        "practice_id": str(referral.practice.public_id),
        "clinician_id": str(referral.clinician.public_id) if referral.clinician_id else None,
    }


def event_payload(*, event_type, at, data):
    return {"type": event_type, "timestamp": moment(at), "data": data}


def endpoint_test_payload(*, endpoint, at):
    """What "Send a test event" sends: no referral, nothing about a patient."""
    return event_payload(
        event_type=TEST_EVENT,
        at=at,
        data={"spa": endpoint.spa.slug, "endpoint_id": str(endpoint.public_id), "test": True},
    )


def patient_details(referral):
    """The patient as the referring practice knows them: enough to match its own record, no health information."""
    return {
        "first_name": referral.patient_first_name,
        "last_name": referral.patient_last_name,
        "date_of_birth": referral.patient_date_of_birth.isoformat() if referral.patient_date_of_birth else None,
    }


def body_text(payload):
    """The body exactly as sent and signed: compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
