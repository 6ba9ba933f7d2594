"""The OpenAPI document describes every webhook event, and what is really sent matches it."""

import jsonschema
import pytest
from django_scopes import scope
from drf_spectacular.validation import validate_schema

from referrals.consent import services as consent
from referrals.models import Authorization
from referrals.services import referral_transition
from referrals.webhooks.models import TEST_EVENT, EventType
from referrals.webhooks.services import webhook_endpoint_send_test
from referrals.webhooks.tasks import webhook_sweep_task

from .portal_helpers import make_referral
from .webhook_helpers import Receiver, make_endpoint


def _schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _conforms(schema, event):
    """Validate one sent body against the schema of its event's request body (JSON Schema 2020-12, OpenAPI 3.1)."""
    body = schema["webhooks"][event["type"]]["post"]["requestBody"]["content"]["application/json"]["schema"]
    document = {**body, "components": schema["components"]}
    jsonschema.Draft202012Validator(document, format_checker=jsonschema.FormatChecker()).validate(event)


def test_the_schema_is_openapi_3_1_and_lists_every_event(client):
    schema = _schema(client)

    validate_schema(schema)
    assert schema["openapi"] == "3.1.0"
    assert set(schema["webhooks"]) == {*EventType.values, TEST_EVENT}
    received = schema["webhooks"]["referral.received"]["post"]
    assert "webhook-signature" in received["description"] and {"200", "410"} <= set(received["responses"])
    patient = schema["components"]["schemas"]["WebhookPatient"]
    assert set(patient["properties"]) == {"first_name", "last_name", "date_of_birth"}


def test_what_is_sent_matches_the_schema(client, spa, practice_a, owner, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    schema = _schema(client)
    with Receiver() as receiver:
        endpoint, _secret = make_endpoint(
            spa, receiver.url, practice=practice_a, events=["referral.received", "referral.accepted"], actor=owner
        )
        referral = make_referral(practice_a, first="Ada", last="Lovelace")
        with scope(spa=spa):
            consent.authorization_create(
                referral=referral, signature_method=Authorization.SignatureMethod.TYPED, signer_name="Ada Lovelace"
            )
            referral_transition(referral=referral, to_status="accepted", actor=owner)
            webhook_endpoint_send_test(endpoint=endpoint, actor=owner)
        webhook_sweep_task()

    sent = [request.json for request in receiver.received]
    assert sorted(event["type"] for event in sent) == ["referral.accepted", "referral.received", "webhook.test"]
    assert any("patient" in event["data"] for event in sent)
    for event in sent:
        _conforms(schema, event)
    with pytest.raises(jsonschema.ValidationError):
        _conforms(schema, {**sent[0], "data": {**sent[0]["data"], "referral_id": "not-a-uuid"}})
