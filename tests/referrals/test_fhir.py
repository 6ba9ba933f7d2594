"""FHIR R4 (/fhir/r4/): clinic systems refer with a ServiceRequest (or a transaction Bundle) and read where it
stands. Every answer is parsed with the same FHIR library the server uses, so a test fails on a resource that is
not valid FHIR R4, not only on a wrong value."""

import io
import json
import re
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django_scopes import scope, scopes_disabled
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.servicerequest import ServiceRequest

from infra.models import AuditEvent, OutgoingEmail
from referrals.fhir.mapping import SERVICE_REQUEST_STATUS, TASK_STATUS
from referrals.models import Channel, ConsentMethod, Referral, ReferralEvent, Status
from referrals.services import referral_log_attempt, referral_transition
from tests.factories import ClinicianFactory, ReferralFactory

from .api_helpers import api_setup
from .fhir_helpers import (
    BASE,
    CONSENT_URL,
    FHIR_JSON,
    METADATA_URL,
    NPI,
    OTHER_NPI,
    SERVICE_REQUEST_URL,
    consent,
    patient,
    post_fhir,
    practitioner,
    service_request,
    transaction_bundle,
    without,
)

SOME_ID = "0b5c6f7e-2a1d-4e3f-9c8b-7a6d5e4f3c2b"  # fixed: parametrized ids must be the same in every xdist worker


def _referrals(spa):
    with scopes_disabled():
        return list(Referral.objects.filter(spa=spa).select_related("clinician"))


def _read_url(referral_id):
    return f"{SERVICE_REQUEST_URL}/{referral_id}"


def _fhir(response, status_code, model=ServiceRequest):
    """The response's body as a validated library model, after checking the status and the FHIR content type."""
    assert response.status_code == status_code, response.content
    assert response["Content-Type"].startswith(FHIR_JSON), response["Content-Type"]
    return model.model_validate(response.json())


def _outcome(response, status_code):
    """The OperationOutcome of an error: [(code, expression or "", diagnostics)] of its issues."""
    outcome = _fhir(response, status_code, OperationOutcome)
    assert outcome.issue, "an OperationOutcome has at least one issue"
    return [(issue.code, (issue.expression or [""])[0], issue.diagnostics) for issue in outcome.issue]


def _task(resource):
    [task] = [contained for contained in resource.contained if contained.get_resource_type() == "Task"]
    return task


@pytest.fixture
def setup(spa, owner):
    return api_setup(spa, name="EHR integration")


@pytest.fixture
def dr_patel(spa, setup):
    with scope(spa=spa):
        return ClinicianFactory(spa=spa, practice=setup.practice, first_name="Priya", last_name="Patel", npi=NPI)


# --- metadata -------------------------------------------------------------------------------------------


def test_metadata_is_a_capability_statement_for_fhir_4_0_1(client, setup):
    response = client.get(METADATA_URL)

    statement = _fhir(response, 200, CapabilityStatement)
    assert statement.fhirVersion == "4.0.1"
    assert "application/fhir+json" in statement.format and "json" in statement.format
    [rest] = statement.rest
    assert rest.mode == "server"
    assert "Bearer" in rest.security.description
    [resource] = rest.resource
    assert resource.type == "ServiceRequest"
    assert {interaction.code for interaction in resource.interaction} == {"read", "create"}
    assert [interaction.code for interaction in rest.interaction] == ["transaction"]
    assert CONSENT_URL in resource.documentation
    # The same for everyone, with or without a key: it names no spa.
    assert setup.client.get(METADATA_URL).content == response.content
    assert setup.spa.name not in response.content.decode()


# --- create: a ServiceRequest with a contained Patient ----------------------------------------------------


def test_a_service_request_with_a_contained_patient_creates_a_referral(spa, owner, setup, dr_patel):
    response = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request())

    created = _fhir(response, 201)
    [referral] = _referrals(spa)
    assert created.id == str(referral.public_id)
    assert response["Location"] == _read_url(referral.public_id)
    assert created.status == "active"
    assert _task(created).status == "received"
    assert created.priority == "urgent"
    assert created.requester.identifier.value == NPI
    text = response.content.decode()
    for private in ("Dana", "Whitfield", "555-0199", "dana@example.com", "chemical peel", "1984"):
        assert private not in text  # no patient details echoed back
    assert referral.channel == Channel.API
    assert referral.practice == setup.practice
    assert referral.clinician == dr_patel  # matched by NPI
    assert (referral.patient_first_name, referral.patient_last_name) == ("Dana Marie", "Whitfield")
    assert referral.patient_phone == "+16175550199"
    assert referral.patient_email == "dana@example.com"
    assert str(referral.patient_date_of_birth) == "1984-03-09"
    assert referral.preferred_contact_method == "phone"
    assert referral.reason_category == "post_procedure_skin_care"
    assert referral.reason_text == "Two weeks after a chemical peel.\nPrefers afternoons."
    assert referral.urgency == "soon"  # FHIR "urgent" is above routine, below asap
    assert referral.consent_to_contact is True
    assert referral.consent_method == ConsentMethod.CLINIC_ATTESTATION
    assert "EHR integration" in referral.consent_captured_by and "FHIR R4" in referral.consent_captured_by
    with scopes_disabled():
        created_events = AuditEvent.objects.filter(
            spa=spa, action="referral.created", object_id=str(referral.public_id)
        )
        assert [event.actor_label for event in created_events] == [referral.created_by_label]
        [email] = OutgoingEmail.objects.filter(spa=spa, template="referral-new")
    assert email.to == owner.email


def test_only_a_name_a_way_to_reach_the_patient_and_the_attestation_are_needed(spa, setup):
    body = {
        "resourceType": "ServiceRequest",
        "contained": [
            {
                "resourceType": "Patient",
                "id": "pat",
                "name": [{"family": "Lee", "given": ["Ana"]}],
                "telecom": [{"system": "email", "value": "ana@example.com"}],
            }
        ],
        "extension": [consent()],
        "status": "active",
        "intent": "order",
        "subject": {"reference": "#pat"},
    }

    created = _fhir(post_fhir(setup.client, SERVICE_REQUEST_URL, body), 201)

    [referral] = _referrals(spa)
    assert created.priority == "routine"
    assert (referral.reason_category, referral.reason_text, referral.urgency) == ("other", "", "routine")
    assert referral.preferred_contact_method == "email"  # only an email: do not ask staff to call
    assert referral.clinician is None


def test_the_best_ranked_telecom_sets_how_the_patient_wants_to_be_contacted(spa, setup):
    telecom = [
        {"system": "phone", "value": "617-555-0100", "rank": 3},
        {"system": "sms", "value": "617-555-0111", "rank": 1},
        {"system": "email", "value": "old@example.com", "use": "old"},
    ]

    post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(contained_patient=patient(telecom=telecom)))

    [referral] = _referrals(spa)
    assert (referral.patient_phone, referral.patient_email) == ("+16175550111", "")
    assert referral.preferred_contact_method == "text"


@pytest.mark.parametrize(("priority", "urgency"), [("routine", "routine"), ("asap", "urgent"), ("stat", "urgent")])
def test_priorities_map_to_the_spas_urgency(spa, setup, priority, urgency):
    post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(priority=priority))

    [referral] = _referrals(spa)
    assert referral.urgency == urgency


def test_an_npi_the_spa_does_not_know_still_refers_from_the_practice_and_leaves_staff_a_note(spa, setup, dr_patel):
    body = service_request(
        contained=[{**patient(), "id": "p1"}, {**practitioner(npi=OTHER_NPI), "id": "dr"}],
        requester={"reference": "#dr"},
    )

    response = post_fhir(setup.client, SERVICE_REQUEST_URL, body)

    _fhir(response, 201)
    [referral] = _referrals(spa)
    assert referral.practice == setup.practice and referral.clinician is None
    with scopes_disabled():
        [note] = ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.NOTE)
        assert AuditEvent.objects.filter(spa=spa, action="referral.note_added").count() == 1
    assert "Priya Patel" in note.note and OTHER_NPI in note.note
    assert not note.visible_to_practice


def test_a_contained_practitioner_with_a_known_npi_is_the_referring_clinician(spa, setup, dr_patel):
    body = service_request(
        contained=[{**patient(), "id": "p1"}, {**practitioner(), "id": "dr"}], requester={"reference": "#dr"}
    )

    _fhir(post_fhir(setup.client, SERVICE_REQUEST_URL, body), 201)

    [referral] = _referrals(spa)
    assert referral.clinician == dr_patel
    with scopes_disabled():
        assert not ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.NOTE).exists()


def test_plain_json_is_accepted_and_answered_in_kind(spa, setup):
    response = post_fhir(
        setup.client,
        SERVICE_REQUEST_URL,
        service_request(),
        content_type="application/json",
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    assert len(_referrals(spa)) == 1


def test_an_html_accept_header_still_gets_fhir_json(setup):
    response = setup.client.get(METADATA_URL, headers={"Accept": "text/html"})

    _fhir(response, 200, CapabilityStatement)


# --- create: a transaction Bundle ----------------------------------------------------------------------------


def test_the_transaction_bundle_sent_is_valid_fhir():
    bundle = Bundle.model_validate(transaction_bundle())

    assert [entry.resource.get_resource_type() for entry in bundle.entry] == [
        "Patient",
        "Practitioner",
        "ServiceRequest",
    ]


@pytest.mark.parametrize("base", [BASE, BASE.rstrip("/")])
def test_a_transaction_bundle_creates_a_referral(spa, setup, dr_patel, base):
    response = post_fhir(setup.client, base, transaction_bundle())

    answer = _fhir(response, 200, Bundle)
    [referral] = _referrals(spa)
    assert answer.type == "transaction-response"
    assert [entry.response.status for entry in answer.entry] == ["200 OK", "200 OK", "201 Created"]
    assert answer.entry[2].response.location == f"ServiceRequest/{referral.public_id}"
    assert answer.entry[2].resource.id == str(referral.public_id)
    assert "Kept with" in answer.entry[0].response.outcome.issue[0].diagnostics
    assert referral.clinician == dr_patel
    assert (referral.patient_first_name, referral.patient_last_name) == ("Dana Marie", "Whitfield")
    assert "Dana" not in response.content.decode()


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (lambda bundle: bundle.update(type="batch"), "Bundle.type"),
        (lambda bundle: bundle["entry"].pop(), "Bundle.entry"),
        (lambda bundle: bundle["entry"].append(bundle["entry"][2]), "Bundle.entry"),
        (lambda bundle: bundle["entry"][0]["request"].update(method="PUT"), "Bundle.entry[0].request"),
        (
            lambda bundle: bundle["entry"].insert(0, {"resource": {"resourceType": "Organization", "name": "X"}}),
            "Bundle.entry[0].resource",
        ),
        (lambda bundle: bundle["entry"].pop(0), "ServiceRequest.subject"),
    ],
)
def test_a_bundle_this_server_cannot_take_is_refused_with_422_and_creates_nothing(spa, setup, change, expression):
    bundle = transaction_bundle()
    change(bundle)

    issues = _outcome(post_fhir(setup.client, BASE, bundle), 422)

    assert [where for _code, where, _text in issues] == [expression]
    assert _referrals(spa) == []


def test_a_service_request_posted_to_the_base_or_a_bundle_to_service_request_is_refused(spa, setup):
    assert _outcome(post_fhir(setup.client, BASE, service_request()), 400)[0][1] == "resourceType"
    assert "base address" in _outcome(post_fhir(setup.client, SERVICE_REQUEST_URL, transaction_bundle()), 400)[0][2]
    assert _referrals(spa) == []


# --- idempotency ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "status"), [(SERVICE_REQUEST_URL, service_request, 201), (BASE, transaction_bundle, 200)]
)
def test_a_retry_with_the_same_idempotency_key_creates_one_referral_and_replays_the_answer(
    spa, setup, url, body, status
):
    first = post_fhir(setup.client, url, body(), idempotency_key="ehr-order-77")
    again = post_fhir(setup.client, url, body(), idempotency_key="ehr-order-77")

    assert first.status_code == again.status_code == status
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again.get("Location") == first.get("Location")
    assert len(_referrals(spa)) == 1


def test_the_same_idempotency_key_with_another_body_is_refused_and_creates_nothing_more(spa, setup):
    post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(), idempotency_key="ehr-order-78")

    response = post_fhir(
        setup.client, SERVICE_REQUEST_URL, service_request(priority="asap"), idempotency_key="ehr-order-78"
    )

    [(code, _where, text)] = _outcome(response, 422)
    assert code == "conflict" and "Idempotency-Key" in text
    assert len(_referrals(spa)) == 1


def test_a_malformed_idempotency_key_is_a_400_outcome(spa, setup):
    [(code, _where, text)] = _outcome(
        post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(), idempotency_key="caf\u00e9"), 400
    )

    assert code == "invalid" and text.startswith("Idempotency-Key")
    assert _referrals(spa) == []


def test_the_idempotency_refusals_name_the_header_in_words_not_as_an_element(spa, setup):
    """The REST API's refusals, reworded: a header is no element of the resource, so no FHIRPath."""
    malformed = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(), idempotency_key="")
    post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(), idempotency_key="ehr-order-79")
    reused = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(note=...), idempotency_key="ehr-order-79")

    assert _outcome(malformed, 400) == [
        ("invalid", "", "Idempotency-Key: Use 1 to 255 printable ASCII characters, for example a UUID.")
    ]
    assert _outcome(reused, 422) == [
        (
            "conflict",
            "",
            "This Idempotency-Key was already used with a different request body. Use a new key for a new request.",
        )
    ]


def test_a_refused_request_leaves_its_idempotency_key_usable(spa, setup):
    refused = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(extension=...), idempotency_key="k-1")
    accepted = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request(), idempotency_key="k-1")

    assert (refused.status_code, accepted.status_code) == (422, 201)


# --- read ----------------------------------------------------------------------------------------------------


def test_every_referral_status_has_a_service_request_status_and_a_task_status():
    assert set(SERVICE_REQUEST_STATUS) == set(Status) == set(TASK_STATUS)
    assert set(SERVICE_REQUEST_STATUS.values()) <= {"active", "completed", "revoked"}


@pytest.mark.parametrize(
    ("status", "request_status", "task_status"),
    [
        ("received", "active", "received"),
        ("accepted", "active", "accepted"),
        ("contacted", "active", "in-progress"),
        ("scheduled", "active", "in-progress"),
        ("no_show", "active", "on-hold"),
        ("unreachable", "active", "on-hold"),
        ("completed", "completed", "completed"),
        ("declined", "revoked", "rejected"),
        ("cancelled", "revoked", "cancelled"),
        ("withdrawn", "revoked", "cancelled"),
    ],
)
def test_reading_a_service_request_maps_the_referrals_status(spa, setup, status, request_status, task_status):
    with scope(spa=spa):
        referral = ReferralFactory(spa=spa, practice=setup.practice, status=status, urgency="urgent")

    resource = _fhir(setup.client.get(_read_url(referral.public_id)), 200)

    assert resource.id == str(referral.public_id)
    assert resource.status == request_status
    assert resource.priority == "asap"
    task = _task(resource)
    assert task.status == task_status
    assert task.businessStatus.coding[0].code == status
    assert task.basedOn[0].reference == "#"


def test_a_read_follows_the_referral_through_the_spas_work_and_shows_none_of_it(spa, owner, setup):
    _fhir(post_fhir(setup.client, SERVICE_REQUEST_URL, service_request()), 201)
    [referral] = _referrals(spa)
    with scope(spa=spa):
        referral = referral_transition(referral=referral, to_status=Status.ACCEPTED, actor=owner)
        referral = referral_log_attempt(referral=referral, outcome="reached", actor=owner, note="Call back Tuesdays")

    response = setup.client.get(_read_url(referral.public_id))

    resource = _fhir(response, 200)
    task = _task(resource)
    assert (resource.status, task.status, task.businessStatus.text) == ("active", "in-progress", "Contacted")
    with scopes_disabled():
        contacted = ReferralEvent.objects.filter(referral=referral, to_status="contacted").get()
    assert task.lastModified == contacted.created_at
    text = response.content.decode()
    for private in ("Call back Tuesdays", "Dana", "Whitfield", owner.email):
        assert private not in text
    with scopes_disabled():
        [view] = AuditEvent.objects.filter(spa=spa, action="referral.viewed", object_id=str(referral.public_id))
    assert view.detail == {"via": "fhir"} and "FHIR R4" in view.actor_label


def test_a_read_runs_a_constant_number_of_queries(spa, owner, setup, django_assert_max_num_queries):
    _fhir(post_fhir(setup.client, SERVICE_REQUEST_URL, service_request()), 201)
    [referral] = _referrals(spa)
    with scope(spa=spa):
        for to_status in (Status.ACCEPTED, Status.CONTACTED):
            referral = referral_transition(referral=referral, to_status=to_status, actor=owner)

    with django_assert_max_num_queries(7):
        response = setup.client.get(_read_url(referral.public_id))
    assert response.status_code == 200


# --- outsiders -----------------------------------------------------------------------------------------------


def test_another_practices_key_of_the_same_spa_gets_the_not_found_outcome(spa, setup):
    sibling = api_setup(spa, name="Sibling EHR")
    with scope(spa=spa):
        referral = ReferralFactory(spa=spa, practice=setup.practice)

    response = sibling.client.get(_read_url(referral.public_id))
    missing = sibling.client.get(_read_url(uuid.uuid4()))

    [(code, _where, _text)] = _outcome(response, 404)
    assert code == "not-found"
    assert response.content == missing.content
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="referral.viewed").exists()
    assert setup.client.get(_read_url(referral.public_id)).status_code == 200


def test_another_spas_key_gets_the_not_found_outcome(spa, other_spa, setup):
    theirs = api_setup(other_spa)
    with scope(spa=spa):
        referral = ReferralFactory(spa=spa, practice=setup.practice)

    response = theirs.client.get(_read_url(referral.public_id))

    assert response.content == theirs.client.get(_read_url(uuid.uuid4())).content
    assert _outcome(response, 404)[0][0] == "not-found"


@pytest.mark.parametrize("authorization", [None, "Bearer sk_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer a b"])
def test_without_a_valid_key_every_fhir_operation_is_a_401_outcome(spa, setup, authorization):
    with scope(spa=spa):
        referral = ReferralFactory(spa=spa, practice=setup.practice)
    client = Client(headers={"Authorization": authorization} if authorization else None)

    answers = [
        post_fhir(client, SERVICE_REQUEST_URL, service_request()),
        post_fhir(client, BASE, transaction_bundle()),
        client.get(_read_url(referral.public_id)),
    ]

    for response in answers:
        assert _outcome(response, 401)[0][0] == "login"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert len(_referrals(spa)) == 1


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("{not json", "structure"),
        ("", "invalid"),
        ("[]", "invalid"),
        ('"ServiceRequest"', "invalid"),
        ('{"resourceType": "Patient"}', "invalid"),
        ('{"resourceType": 5}', "invalid"),
        ("[" * 100_000, "structure"),
    ],
)
def test_a_body_that_is_not_a_service_request_is_a_400_outcome(spa, setup, payload, code):
    issues = _outcome(post_fhir(setup.client, SERVICE_REQUEST_URL, payload), 400)

    assert issues[0][0] == code
    assert _referrals(spa) == []


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        (service_request(contained_patient=patient(birthDate="1984-13-09")), "ServiceRequest.contained[0].birthDate"),
        (service_request(status=...), "ServiceRequest.status"),
        (service_request(subject=...), "ServiceRequest.subject"),
        (service_request(colour="blue"), "ServiceRequest.colour"),
        (service_request(contained=[{"resourceType": "Spaceship", "id": "p1"}]), "ServiceRequest"),
        (service_request(contained=[{"resourceType": 7, "id": "p1"}]), "ServiceRequest"),
        (service_request(priority="whenever"), "ServiceRequest.priority"),
        (
            service_request(
                requester={"identifier": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567890"}}
            ),
            "Practitioner.identifier",
        ),
        (service_request(requester={"reference": "#nobody"}), "ServiceRequest.requester"),
    ],
)
def test_invalid_fhir_is_a_400_outcome_naming_the_element(spa, setup, body, expression):
    issues = _outcome(post_fhir(setup.client, SERVICE_REQUEST_URL, body), 400)

    assert expression in [where for _code, where, _text in issues], issues
    assert _referrals(spa) == []


@pytest.mark.parametrize(
    ("body", "expression", "words"),
    [
        (service_request(extension=...), f"ServiceRequest.extension('{CONSENT_URL}')", "attest"),
        (service_request(extension=[consent(False)]), f"ServiceRequest.extension('{CONSENT_URL}')", "attest"),
        (
            service_request(extension=[{"url": CONSENT_URL, "valueString": "yes"}]),
            f"ServiceRequest.extension('{CONSENT_URL}')",
            "valueBoolean true",
        ),
        (service_request(contained_patient=patient(telecom=[])), "Patient.telecom", "phone number or an email"),
        (
            service_request(contained_patient=patient(telecom=[{"system": "phone", "value": "call me"}])),
            "Patient.telecom",
            "phone number such as",
        ),
        (service_request(contained_patient=without(patient(), "name")), "Patient.name.given", "blank"),
        (service_request(contained_patient=patient(birthDate="1984")), "Patient.birthDate", "full date"),
        (service_request(contained_patient=patient(birthDate="2999-01-01")), "Patient.birthDate", "between 1900"),
        (service_request(status="draft"), "ServiceRequest.status", "active"),
        (service_request(doNotPerform=True), "ServiceRequest.doNotPerform", "not a referral"),
        (service_request(subject={"reference": "Patient/123"}), "ServiceRequest.subject", "contained Patient"),
        (
            service_request(
                reasonCode=[
                    {"coding": [{"system": "urn:spa-referrals:fhir:referral-reason", "code": "prenatal_comfort"}]}
                ]
            ),
            "ServiceRequest.reasonCode",
            "not offered for Dermatology",
        ),
        (service_request(note=[{"text": "x" * 2001}]), "ServiceRequest.note", "2000"),
    ],
)
def test_valid_fhir_that_is_no_referral_here_is_a_422_outcome_naming_the_element(spa, setup, body, expression, words):
    issues = _outcome(post_fhir(setup.client, SERVICE_REQUEST_URL, body), 422)

    assert any(where == expression and words in text for _code, where, text in issues), issues
    assert _referrals(spa) == []
    with scopes_disabled():
        assert not OutgoingEmail.objects.exists()


def test_a_form_encoded_body_is_a_415_outcome(spa, setup):
    response = setup.client.post(SERVICE_REQUEST_URL, {"resourceType": "ServiceRequest"})

    assert _outcome(response, 415)[0][0] == "not-supported"


def test_a_3_mb_body_is_a_413_outcome(spa, setup):
    body = service_request(note=[{"text": "z" * 3 * 1024 * 1024}])

    assert _outcome(post_fhir(setup.client, SERVICE_REQUEST_URL, body), 413)[0][0] == "too-costly"
    assert _referrals(spa) == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/fhir/r4/Patient/1", 404),
        ("get", "/fhir/r4/ServiceRequest/not-a-uuid", 404),
        ("get", "/fhir/r4/ServiceRequest?subject=Patient/1", 405),
        ("delete", f"{SERVICE_REQUEST_URL}/{SOME_ID}", 405),
        ("put", f"{SERVICE_REQUEST_URL}/{SOME_ID}", 405),
        ("get", BASE, 405),
        ("post", METADATA_URL, 405),
        ("get", "/fhir/r5/metadata", None),
    ],
)
def test_what_this_server_does_not_do_is_an_outcome_not_a_page(setup, method, path, status):
    response = getattr(setup.client, method)(path)

    if status is None:  # outside /fhir/r4/: the site's own 404
        assert response.status_code == 404
        return
    assert _outcome(response, status)[0][0] in {"not-found", "not-supported"}


def test_an_unexpected_error_is_a_500_outcome_and_creates_nothing(spa, setup, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("referrals.fhir.apis.service_request_create", explode)
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {setup.raw_key}"})

    response = post_fhir(client, SERVICE_REQUEST_URL, service_request())

    [(code, _where, text)] = _outcome(response, 500)
    assert code == "exception" and "boom" not in text
    assert _referrals(spa) == []


def test_over_the_keys_rate_a_429_outcome_says_when_to_retry(spa, setup, settings):
    settings.API_KEY_THROTTLE_RATE = "2/minute"
    for _ in range(2):
        assert setup.client.get(_read_url(uuid.uuid4())).status_code == 404

    response = post_fhir(setup.client, SERVICE_REQUEST_URL, service_request())

    assert _outcome(response, 429)[0][0] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert _referrals(spa) == []
    assert json.loads(Client().get(METADATA_URL).content)["resourceType"] == "CapabilityStatement"  # never throttled


# --- the README's example ---------------------------------------------------------------------------------


def _readme_fhir_curl():
    """(key, idempotency key, JSON body) of the first curl command in the README's "FHIR R4" section."""
    readme = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("### FHIR R4", 1)[1]
    command = section.split("```sh", 1)[1].split("```", 1)[0]
    key = re.search(r"Authorization: Bearer (\S+)\"", command).group(1)
    idempotency_key = re.search(r"Idempotency-Key: (\S+)\"", command).group(1)
    body = json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])
    return key, idempotency_key, body


def test_the_readmes_example_refers_a_patient_of_dr_patel_with_the_demo_key(db):
    call_command("seed_demo", stdout=io.StringIO())
    key, idempotency_key, body = _readme_fhir_curl()
    client = Client(headers={"Authorization": f"Bearer {key}"})

    response = post_fhir(client, SERVICE_REQUEST_URL, body, idempotency_key=idempotency_key)

    created = _fhir(response, 201)
    with scopes_disabled():
        referral = Referral.objects.select_related("practice", "clinician").get(public_id=created.id)
    assert referral.practice.name == "Glow Dermatology"
    assert (referral.clinician.first_name, referral.clinician.last_name) == ("Priya", "Patel")
    assert (referral.patient_first_name, referral.reason_category) == ("Grace", "post_procedure_skin_care")
    assert _fhir(client.get(response["Location"]), 200).id == created.id
