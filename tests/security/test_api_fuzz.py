"""API fuzzing: schemathesis generates requests for every operation of the app's own OpenAPI document
(/api/schema/) and sends them in-process through the WSGI app, authenticated with a real API key. No answer
may be a server error, and answers must match the schema (status codes, content types, bodies). Hand-written
cases cover what a generator does not aim at: malformed and hostile bodies, wrong content types, a 10 MB
body, absurd nesting, huge strings, unicode edge cases and Idempotency-Key reuse.

``API_FUZZ_EXAMPLES`` (default 200) sets the generated cases per operation and mode (valid and invalid
input); raise it for a longer run, e.g. ``API_FUZZ_EXAMPLES=2000``.
"""

import hashlib
import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.exceptions import ValidationError
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.phones import normalize_phone
from referrals.api.services import api_key_create
from referrals.models import IdempotencyRecord, Referral
from tests.factories import ClinicianFactory, PracticeFactory, ServiceFactory, SpaFactory, UserFactory

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "200"))
OPERATIONS = ["referral_create", "referral_retrieve", "service_list"]
# FHIR's operations take any JSON object by the schema; test_fhir_fuzz.py fuzzes them with FHIR-shaped documents.
FHIR_OPERATIONS = ["fhir_metadata", "fhir_service_request_create", "fhir_service_request_read", "fhir_transaction"]
# The providers' webhooks for referrals by email and text (signed, not keyed): every answer a documented 4xx.
WEBHOOK_OPERATIONS = ["inbound_email_receive", "inbound_sms_receive"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REFERRALS = "/api/v1/referrals/"


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Django closes "old" connections around each request, which inside a test's transaction means the test's
    own connection; its test client switches that off, and so must a WSGI call made outside it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def practice(db):
    spa = SpaFactory(name="Fuzz Spa", slug="fuzz-spa")
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Fuzz Dermatology", specialty="dermatology")
        ClinicianFactory(spa=spa, practice=practice)
        practice.fuzz_service = ServiceFactory(spa=spa, name="Fuzz facial", specialties=["dermatology"])
    return practice


@pytest.fixture
def raw_key(practice):
    """A real key, made the way an owner makes one (referrals.api_keys.api_key_create)."""
    with scope(spa=practice.spa):
        _api_key, raw_key = api_key_create(spa=practice.spa, practice=practice, name="Fuzzer", actor=UserFactory())
    return raw_key


@pytest.fixture
def api(raw_key):
    return Client(headers={"Authorization": f"Bearer {raw_key}"}, raise_request_exception=False)


def _schema():
    return schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


def test_the_schema_lists_every_api_operation(db):
    operations = {result.ok().definition.raw["operationId"] for result in _schema().get_all_operations()}
    assert operations == {*OPERATIONS, *FHIR_OPERATIONS, *WEBHOOK_OPERATIONS}


def _operation(operation_id):
    schema = _schema()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw["operationId"] == operation_id:
            return schema, operation
    raise LookupError(operation_id)


def _a_valid_phone(value):
    try:
        return isinstance(value, str) and bool(normalize_phone(value))
    except ValidationError:
        return False


def _towards_acceptance(case, schema, practice):
    """Bend a schema-valid referral towards one the app accepts, keeping the generated texts and choices.

    The schema cannot say everything the API checks (a key of printable ASCII, consent that must be true, the
    practice's own clinicians and services, a reason of its specialty, no unknown fields): without this nearly
    every generated body is refused and the create path is never exercised.
    """
    known = schema.raw_schema["components"]["schemas"]["ReferralCreateInput"]["properties"]
    if isinstance(case.body, dict):
        body = {name: value for name, value in case.body.items() if name in known}
        body["patient_consented_to_contact"] = True
        body.pop("clinician", None)
        body["services"] = [str(practice.fuzz_service.public_id)] if body.get("services") else []
        if not _a_valid_phone(body.get("patient_phone")):
            body["patient_phone"] = "617-555-0100"
        if body.get("reason_category") not in (
            None,
            "other",
            "post_procedure_skin_care",
            "sensitive_skin",
            "acne_support",
        ):
            body["reason_category"] = "other"
        case.body = body
    key = (case.headers or {}).get("Idempotency-Key")
    if key is not None:
        # Generated keys repeat ("0" comes up often) while the bodies differ, and a key reused with another body
        # is refused 422 by design (tests/referrals/test_api_idempotency.py): a key of the generated key and the
        # body keeps replays (same key, same body) and lets the create path run.
        seen = key.encode("utf-8", "surrogatepass") + json.dumps(case.body, sort_keys=True, default=str).encode()
        case.headers["Idempotency-Key"] = "fuzz-" + hashlib.sha256(seen).hexdigest()


def _fuzz(practice, raw_key, operation_id, mode, examples):
    """Run ``examples`` generated cases of one operation; raises schemathesis' failure group on a problem."""
    schema, operation = _operation(operation_id)
    headers = {"Authorization": f"Bearer {raw_key}"}
    # Invalid input is answered 400/401/404/415 by design; what is checked of those is the status and type.
    checks = CHECKS if mode == GenerationMode.POSITIVE else [not_a_server_error, content_type_conformance]
    statuses = []

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],  # reported as generated: the cases are small enough to read
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.headers = {**(case.headers or {}), **headers}
        if operation_id == "referral_create" and mode == GenerationMode.POSITIVE:
            _towards_acceptance(case, schema, practice)
        response = case.call()
        statuses.append(response.status_code)
        case.validate_response(response, checks=checks, headers=case.headers)

    run()
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_generated_requests_never_get_a_server_error_and_match_the_schema(practice, raw_key, operation_id, mode):
    statuses = _fuzz(practice, raw_key, operation_id, mode, EXAMPLES)
    assert len(statuses) >= min(EXAMPLES, 50)
    if operation_id == "referral_create" and mode == GenerationMode.POSITIVE:
        assert statuses.count(201) >= len(statuses) // 2, statuses  # the create path itself was exercised


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", WEBHOOK_OPERATIONS)
def test_generated_webhook_requests_are_refused_as_documented_and_write_nothing(
    practice, raw_key, operation_id, mode, settings
):
    from tests.referrals.inbound_helpers import inbound_rows, set_up_inbound

    set_up_inbound(settings)
    statuses = _fuzz(practice, raw_key, operation_id, mode, EXAMPLES)
    assert len(statuses) >= min(EXAMPLES, 50)
    assert all(400 <= status < 500 for status in statuses), sorted(set(statuses))  # nobody can sign a guess
    assert inbound_rows() == {"drafts": 0, "attachments": 0, "signatures": 0}


def test_the_fuzzer_reports_a_server_error(practice, raw_key, monkeypatch):
    from referrals.api import apis

    def broken(*, spa, specialty):
        raise RuntimeError("a bug")

    monkeypatch.setattr(apis, "services_for_specialty", broken)
    with pytest.raises(BaseExceptionGroup) as found:
        _fuzz(practice, raw_key, "service_list", GenerationMode.POSITIVE, 50)
    assert "ServerError" in {type(failure).__name__ for failure in found.value.exceptions}


def test_an_api_address_with_a_newline_is_a_json_404(api):
    """Found by schemathesis (GET /api/v1/referrals/%C3%91%0A%2C…/): the catch-all did not match a newline."""
    response = api.get("/api/v1/referrals/a%0Ab/")
    _assert_json_error(response, 404)


# --- hand-written hostile requests ---------------------------------------------------------------------------


def _post(api, body, content_type="application/json", idempotency_key=None):
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
    return api.post(REFERRALS, body, content_type=content_type, headers=headers)


def _referral_count():
    with scopes_disabled():
        return Referral.objects.count()


def _assert_json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "errors" in body or "detail" in body


def _valid(**extra):
    return {
        "patient_first_name": "Fuzz",
        "patient_last_name": "Patient",
        "patient_phone": "617-555-0100",
        "patient_consented_to_contact": True,
        **extra,
    }


HOSTILE_BODIES = {
    "malformed JSON": b'{"patient_first_name": "Ann", ',
    "a JSON string": b'"just a string"',
    "a JSON array": b'[{"patient_first_name": "Ann"}]',
    "a JSON number": b"42",
    "JSON null": b"null",
    "an empty body": b"",
    "invalid UTF-8": b'{"patient_first_name": "\xff\xfe"}',
    "a lone surrogate": b'{"patient_first_name": "\\ud800", "patient_last_name": "X", "patient_phone": "1"}',
    "a NUL character": json.dumps(_valid(patient_first_name="An\u0000n")).encode(),
    "deep nesting (100,000 levels)": b"[" * 100_000 + b"]" * 100_000,
    "deep nesting inside a field": json.dumps(_valid())[:-1].encode()
    + b', "reason_text": '
    + b"[" * 5000
    + b"]" * 5000
    + b"}",
    "NaN and Infinity": b'{"patient_first_name": NaN, "patient_last_name": Infinity, "patient_phone": -Infinity}',
    "a huge number": b'{"patient_first_name": "A", "patient_last_name": "B", "patient_phone": 1' + b"0" * 5000 + b"}",
    "a 1 MB string": json.dumps(_valid(reason_text="x" * 1_000_000)).encode(),
    "a 2 MB field name": b'{"' + b"k" * 2_000_000 + b'": 1}',
    "wrong types everywhere": json.dumps(
        {
            "patient_first_name": ["A"],
            "patient_last_name": {"x": 1},
            "patient_consented_to_contact": "yes",
            "services": "all",
            "clinician": 7,
            "urgency": None,
        }
    ).encode(),
    "unknown fields": json.dumps(_valid(is_admin=True, spa=1, practice="other")).encode(),
    "too many services": json.dumps(_valid(services=["00000000-0000-0000-0000-000000000000"] * 10_000)).encode(),
    "right-to-left and zero-width characters": json.dumps(
        _valid(patient_first_name="\u202eAnn\u200b\u200d", patient_last_name="\U0001f600" * 50)
    ).encode(),
    "combining characters": json.dumps(_valid(patient_last_name="Z" + "\u0301" * 10_000)).encode(),
    "duplicate keys": b'{"patient_first_name": "A", "patient_first_name": ["B"], "patient_last_name": "C"}',
}


# Odd but valid text: a referral for a patient whose name has these characters is fine.
MAY_BE_ACCEPTED = {"right-to-left and zero-width characters", "combining characters"}


@pytest.mark.parametrize("case", HOSTILE_BODIES)
def test_hostile_bodies_get_a_json_error_and_create_nothing(api, case):
    before = _referral_count()
    response = _post(api, HOSTILE_BODIES[case])
    if case in MAY_BE_ACCEPTED and response.status_code == 201:
        assert _referral_count() == before + 1
        return
    _assert_json_error(response, 400, 413)
    assert _referral_count() == before


def test_a_10_mb_body_is_refused_as_too_large(api):
    before = _referral_count()
    response = _post(api, json.dumps(_valid(reason_text="x" * 10 * 1024 * 1024)))
    _assert_json_error(response, 413)
    assert _referral_count() == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_bodies_that_are_not_json_are_refused_with_415(api, content_type):
    before = _referral_count()
    response = api.generic("POST", REFERRALS, json.dumps(_valid()).encode(), content_type=content_type)
    _assert_json_error(response, 415, 400)
    assert _referral_count() == before


def test_a_wrong_content_length_is_a_json_error(api):
    response = api.generic("POST", REFERRALS, b"{}", content_type="application/json", CONTENT_LENGTH="banana")
    _assert_json_error(response, 400)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer a b", "Bearer \u00e9\u00e9", "Basic dXNlcjpwYXNz", "Bearer sk_" + "x" * 10_000, "bearer sk_"],
)
def test_mangled_authorization_headers_get_401(db, authorization):
    client = Client(headers={"Authorization": authorization}, raise_request_exception=False)
    for method, path in (("post", REFERRALS), ("get", "/api/v1/services/")):
        _assert_json_error(getattr(client, method)(path), 401)


@pytest.mark.parametrize("path", ["/api/v1/referrals/not-a-uuid/", "/api/v1/referrals/%00/", "/api/v1/" + "a" * 5000])
def test_odd_addresses_are_json_404s(api, path):
    _assert_json_error(api.get(path), 404)


@pytest.mark.parametrize("specialty", ["", "x" * 10_000, "\u0000", "dermatology\u200b", "' OR 1=1 --"])
def test_odd_filters_on_the_service_list_are_json_400s(api, specialty):
    _assert_json_error(api.get("/api/v1/services/", {"specialty": specialty}), 400)


def test_the_same_idempotency_key_with_another_body_is_refused_and_creates_nothing(api):
    first = _post(api, json.dumps(_valid()), idempotency_key="fuzz-key-1")
    assert first.status_code == 201
    before = _referral_count()
    for body in (_valid(patient_last_name="Other"), _valid(reason_text="changed"), {"patient_first_name": "X"}):
        response = _post(api, json.dumps(body), idempotency_key="fuzz-key-1")
        _assert_json_error(response, 422, 400)
    replay = _post(api, json.dumps(_valid()), idempotency_key="fuzz-key-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert _referral_count() == before
    with scopes_disabled():
        assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "line\nbreak", "\u0000", "tab\tkey"])
def test_malformed_idempotency_keys_are_json_400s(api, key):
    before = _referral_count()
    response = api.post(
        REFERRALS, json.dumps(_valid()), content_type="application/json", headers={"Idempotency-Key": key}
    )
    _assert_json_error(response, 400)
    assert _referral_count() == before
