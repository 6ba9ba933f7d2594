"""Helpers for the REST API tests: a practice with an API key, a client that sends it, a valid body."""

import json
from dataclasses import dataclass

from django.test import Client
from django_scopes import scope

from partners.models import Practice
from referrals.api.services import api_key_create
from spas.models import Spa
from tests.factories import PracticeFactory, UserFactory

REFERRALS_URL = "/api/v1/referrals/"
SERVICES_URL = "/api/v1/services/"


@dataclass
class ApiSetup:
    spa: Spa
    practice: Practice
    api_key: object
    raw_key: str
    client: Client


def bearer_client(raw_key, **client_kwargs):
    return Client(headers={"Authorization": f"Bearer {raw_key}"}, **client_kwargs)


def api_setup(spa, *, practice=None, name="EHR integration", actor=None, **practice_fields):
    """A practice of ``spa`` (dermatology unless told), an API key for it and a client sending that key."""
    with scope(spa=spa):
        practice = practice or PracticeFactory(spa=spa, **practice_fields)
        api_key, raw_key = api_key_create(spa=spa, practice=practice, name=name, actor=actor or UserFactory())
    return ApiSetup(spa=spa, practice=practice, api_key=api_key, raw_key=raw_key, client=bearer_client(raw_key))


def referral_body(**overrides):
    body = {
        "patient_first_name": "Dana",
        "patient_last_name": "Whitfield",
        "patient_phone": "(617) 555-0199",
        "patient_email": "dana@example.com",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "Two weeks after a chemical peel.",
        "patient_consented_to_contact": True,
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not ...}


def post_json(client, url, body, *, idempotency_key=None, **extra):
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, payload, content_type="application/json", headers=headers, **extra)
