"""REST API: creating referrals, reading one back, the service list, and JSON errors for bad input."""

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent, OutgoingEmail
from referrals.models import Channel, ConsentMethod, Referral, ReferralService, Status
from referrals.services import referral_add_note, referral_create, referral_log_attempt, referral_transition
from tests.factories import ClinicianFactory, PracticeFactory, ServiceFactory
from tests.rendered_emails import rendered

from .api_helpers import REFERRALS_URL, SERVICES_URL, api_setup, post_json, referral_body


def _referrals(spa):
    with scopes_disabled():
        return list(Referral.objects.filter(spa=spa))


def _detail_url(referral_id):
    return f"{REFERRALS_URL}{referral_id}/"


def _assert_json_error(response, status_code):
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


# --- create ------------------------------------------------------------------------------------


def test_a_practice_system_creates_a_referral(spa, owner):
    setup = api_setup(spa)
    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=setup.practice)
        service = ServiceFactory(spa=spa)

    response = post_json(
        setup.client,
        REFERRALS_URL,
        referral_body(clinician=str(clinician.public_id), services=[str(service.public_id)], urgency="soon"),
    )

    body = _assert_json_error(response, 201)
    [referral] = _referrals(spa)
    assert body["id"] == str(referral.public_id)
    assert response["Location"] == _detail_url(referral.public_id)
    assert body["status"] == "received"
    assert body["channel"] == "api"
    assert body["practice"] == {"id": str(setup.practice.public_id), "name": setup.practice.name}
    assert body["clinician"] == str(clinician.public_id)
    assert body["services"] == [str(service.public_id)]
    assert [entry["status"] for entry in body["timeline"]] == ["received"]
    assert "Dana" not in response.content.decode()  # no patient details echoed back
    assert referral.channel == Channel.API
    assert referral.practice == setup.practice
    assert referral.clinician == clinician
    assert (referral.patient_first_name, referral.patient_last_name) == ("Dana", "Whitfield")
    assert referral.patient_phone == "+16175550199"  # stored in E.164
    assert referral.reason_category == "post_procedure_skin_care"
    assert referral.urgency == "soon"
    assert referral.consent_to_contact is True
    assert referral.consent_method == ConsentMethod.CLINIC_ATTESTATION
    assert "EHR integration" in referral.consent_captured_by
    assert setup.api_key.prefix in referral.consent_captured_by
    assert referral.created_by is None
    with scopes_disabled():
        assert [row.service for row in ReferralService.objects.filter(referral=referral)] == [service]
        created = AuditEvent.objects.filter(spa=spa, action="referral.created", object_id=str(referral.public_id))
        assert created.count() == 1
        assert created.get().actor is None
        assert "EHR integration" in created.get().actor_label
        # The spa hears about it through the outbox; the email carries no patient details.
        [email] = OutgoingEmail.objects.filter(spa=spa, template="referral-new")
    rendered(email)
    assert email.to == owner.email
    assert "New referral from" in email.subject
    assert "Dana" not in email.body_text and "Whitfield" not in email.body_text


def test_only_the_required_fields_are_needed(spa):
    setup = api_setup(spa)
    body = {
        "patient_first_name": "Ana",
        "patient_last_name": "Lee",
        "patient_email": "ana@example.com",
        "patient_consented_to_contact": True,
    }

    response = post_json(setup.client, REFERRALS_URL, body)

    assert response.status_code == 201, response.content
    [referral] = _referrals(spa)
    assert referral.reason_category == "other"
    assert referral.patient_phone == ""
    assert referral.clinician is None


def test_a_logged_in_session_does_not_make_the_owner_the_creator(spa, owner, client_for):
    setup = api_setup(spa)
    session_client = client_for(owner)
    session_client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {setup.raw_key}"

    response = post_json(session_client, REFERRALS_URL, referral_body())

    assert response.status_code == 201
    [referral] = _referrals(spa)
    assert referral.created_by is None
    with scopes_disabled():
        assert AuditEvent.objects.get(spa=spa, action="referral.created").actor is None


# --- the validation matrix -----------------------------------------------------------------------

LONG = "x" * 81


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"patient_first_name": ...}, "patient_first_name"),
        ({"patient_last_name": ...}, "patient_last_name"),
        ({"patient_first_name": ""}, "patient_first_name"),
        ({"patient_first_name": "   "}, "patient_first_name"),
        ({"patient_first_name": None}, "patient_first_name"),
        ({"patient_first_name": 42}, "patient_first_name"),
        ({"patient_first_name": ["Dana"]}, "patient_first_name"),
        ({"patient_first_name": {"first": "Dana"}}, "patient_first_name"),
        ({"patient_first_name": LONG}, "patient_first_name"),
        ({"patient_last_name": LONG}, "patient_last_name"),
        ({"patient_phone": "1" * 31}, "patient_phone"),
        ({"patient_phone": "call me"}, "patient_phone"),
        ({"patient_phone": "12"}, "patient_phone"),
        ({"patient_phone": "555-12"}, "patient_phone"),
        ({"patient_phone": "617-CALL-NOW"}, "patient_phone"),
        ({"patient_phone": 6175550199}, "patient_phone"),
        ({"patient_email": "not-an-email"}, "patient_email"),
        ({"patient_email": "a" * 250 + "@example.com"}, "patient_email"),
        ({"patient_email": 7}, "patient_email"),
        ({"patient_phone": "", "patient_email": ""}, "patient_phone"),
        ({"patient_phone": ..., "patient_email": ...}, "patient_email"),
        ({"patient_consented_to_contact": False}, "patient_consented_to_contact"),
        ({"patient_consented_to_contact": ...}, "patient_consented_to_contact"),
        ({"patient_consented_to_contact": "true"}, "patient_consented_to_contact"),
        ({"patient_consented_to_contact": 1}, "patient_consented_to_contact"),
        ({"patient_consented_to_contact": None}, "patient_consented_to_contact"),
        ({"preferred_contact_method": "pigeon"}, "preferred_contact_method"),
        ({"preferred_contact_time": "y" * 81}, "preferred_contact_time"),
        ({"urgency": "yesterday"}, "urgency"),
        ({"urgency": 1}, "urgency"),
        ({"reason_category": "no_such_reason"}, "reason_category"),
        ({"reason_category": "prenatal_comfort"}, "reason_category"),  # an OB-GYN reason, not dermatology
        ({"reason_text": "z" * 2001}, "reason_text"),
        ({"precautions": "z" * 2001}, "precautions"),
        ({"patient_date_of_birth": "31/12/1980"}, "patient_date_of_birth"),
        ({"patient_date_of_birth": "2999-01-01"}, "patient_date_of_birth"),
        ({"patient_date_of_birth": 19801231}, "patient_date_of_birth"),
        ({"clinician": "not-a-uuid"}, "clinician"),
        ({"clinician": 12}, "clinician"),
        ({"clinician": str(uuid.uuid4())}, "clinician"),
        ({"services": str(uuid.uuid4())}, "services"),
        ({"services": [str(uuid.uuid4())]}, "services"),
        ({"services": ["nope"]}, "services[0]"),
        ({"services": [str(uuid.uuid4()) for _ in range(21)]}, "services"),
        ({"patient_name": "Dana Whitfield"}, "patient_name"),
        ({"channel": "portal"}, "channel"),
        ({"practice": str(uuid.uuid4())}, "practice"),
        ({"consent_method": "verbal"}, "consent_method"),
        ({"status": "completed"}, "status"),
        ({"created_by": 1}, "created_by"),
        ({"patient_first_name": "Dana\x00"}, "patient_first_name"),
        ({"patient_first_name": "\ud800"}, "patient_first_name"),
    ],
)
def test_invalid_input_gets_400_naming_the_field(spa, overrides, field):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(**overrides))

    body = _assert_json_error(response, 400)
    assert field in body["errors"], body
    assert all(isinstance(message, str) and message for message in body["errors"][field])
    assert _referrals(spa) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("call me", "Enter a phone number such as (617) 555-0123."),
        ("12", "Enter a phone number such as (617) 555-0123."),
        ("555-12", "Enter a phone number such as (617) 555-0123."),
        ("617-CALL-NOW", "Enter the phone number in digits, such as (617) 555-0123."),
    ],
)
def test_a_phone_that_is_not_a_number_gets_400_with_an_example(spa, typed, message):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(patient_phone=typed))

    assert _assert_json_error(response, 400)["errors"] == {"patient_phone": [message]}
    assert _referrals(spa) == []


def test_api_phones_are_read_in_the_spas_country_and_keep_their_extension(spa):
    spa.country = "GB"
    spa.save()
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(patient_phone="020 7946 0958 ext. 204"))

    assert response.status_code == 201, response.content
    assert [referral.patient_phone for referral in _referrals(spa)] == ["+442079460958;ext=204"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("617-555-0123 ext. 12", "+16175550123;ext=12"),
        ("(617) 555-0123 x7", "+16175550123;ext=7"),
        ("6175550123", "+16175550123"),  # a US number without the leading 1 …
        ("1 617 555 0123", "+16175550123"),  # … and with it
        ("+1 (617) 555-0123", "+16175550123"),
        ("+44 20 7946 0958", "+442079460958"),  # another country, with its code
    ],
)
def test_api_phones_in_any_form_are_stored_in_e164(spa, typed, stored):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(patient_phone=typed))

    assert response.status_code == 201, response.content
    assert [referral.patient_phone for referral in _referrals(spa)] == [stored]


def test_a_referral_posted_by_api_is_found_with_the_patients_other_referrals_by_phone(spa):
    from referrals.patient_rights.selectors import MatchReason, patient_matches

    setup = api_setup(spa)
    with scope(spa=spa):
        typed_at_the_desk = referral_create(
            spa=spa,
            practice=setup.practice,
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Front desk",
            notify=False,
            patient={"patient_first_name": "D.", "patient_last_name": "W.", "patient_phone": "(617) 555-0199 x3"},
        )

    response = post_json(setup.client, REFERRALS_URL, referral_body(patient_phone="1-617-555-0199"))

    assert response.status_code == 201, response.content
    with scope(spa=spa):
        posted = Referral.objects.get(public_id=response.json()["id"])
        matches = patient_matches(spa=spa, referral=posted)
    assert [(referral.pk, reason) for referral, reason in matches[1:]] == [(typed_at_the_desk.pk, MatchReason.PHONE)]


def test_a_clinician_of_another_practice_is_refused(spa):
    setup = api_setup(spa)
    with scope(spa=spa):
        elsewhere = ClinicianFactory(spa=spa, practice=PracticeFactory(spa=spa))

    response = post_json(setup.client, REFERRALS_URL, referral_body(clinician=str(elsewhere.public_id)))

    assert "clinician" in _assert_json_error(response, 400)["errors"]
    assert _referrals(spa) == []


def test_a_service_of_another_spa_or_an_archived_one_is_refused(spa, other_spa):
    setup = api_setup(spa)
    with scope(spa=other_spa):
        foreign = ServiceFactory(spa=other_spa)
    with scope(spa=spa):
        archived = ServiceFactory(spa=spa, archived_at=timezone.now())

    for service in (foreign, archived):
        response = post_json(setup.client, REFERRALS_URL, referral_body(services=[str(service.public_id)]))

        body = _assert_json_error(response, 400)
        assert str(service.public_id) in body["errors"]["services"][0]
    assert _referrals(spa) == []


def test_a_reason_is_checked_against_the_keys_practice_specialty(spa):
    setup = api_setup(spa, specialty="ob_gyn", name="OB key")

    accepted = post_json(setup.client, REFERRALS_URL, referral_body(reason_category="prenatal_comfort"))
    refused = post_json(setup.client, REFERRALS_URL, referral_body(reason_category="acne_support"))

    assert accepted.status_code == 201
    assert "reason_category" in _assert_json_error(refused, 400)["errors"]


def test_several_unknown_fields_are_all_named(spa):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(ssn="000-00-0000", insurance="Acme"))

    assert set(_assert_json_error(response, 400)["errors"]) == {"ssn", "insurance"}


@pytest.mark.parametrize(
    "payload",
    [
        "{not json",
        '{"patient_first_name": "Dana",}',
        "",
        "null",
        "42",
        '"a string"',
        "[]",
        json.dumps([referral_body()]),
        '{"patient_first_name": NaN}',
        "[" * 50_000 + "]" * 50_000,
        '{"a": ' + "1" * 5000 + "}",
    ],
)
def test_a_body_that_is_not_a_json_object_gets_400(spa, payload):
    setup = api_setup(spa)

    response = setup.client.post(REFERRALS_URL, payload, content_type="application/json")

    body = _assert_json_error(response, 400)
    assert set(body) in ({"errors"}, {"detail"})
    assert _referrals(spa) == []


def test_a_form_encoded_body_gets_415(spa):
    setup = api_setup(spa)

    response = setup.client.post(REFERRALS_URL, {"patient_first_name": "Dana"})  # multipart form
    urlencoded = setup.client.post(
        REFERRALS_URL, "patient_first_name=Dana", content_type="application/x-www-form-urlencoded"
    )

    assert "detail" in _assert_json_error(response, 415)
    assert "detail" in _assert_json_error(urlencoded, 415)
    assert _referrals(spa) == []


def test_a_3_mb_body_gets_413(spa):
    setup = api_setup(spa)

    response = post_json(setup.client, REFERRALS_URL, referral_body(reason_text="z" * 3 * 1024 * 1024))

    assert "detail" in _assert_json_error(response, 413)
    assert _referrals(spa) == []


def test_an_html_accept_header_still_gets_json(spa):
    setup = api_setup(spa)

    response = setup.client.post(
        REFERRALS_URL, json.dumps({}), content_type="application/json", headers={"Accept": "text/html"}
    )

    assert "errors" in _assert_json_error(response, 400)


def test_unknown_api_addresses_and_wrong_methods_get_json(spa):
    setup = api_setup(spa)

    assert _assert_json_error(setup.client.get("/api/v1/nothing-here/"), 404) == {"detail": "Not found."}
    assert _assert_json_error(setup.client.post("/api/v1/referrals"), 404) == {"detail": "Not found."}
    assert _assert_json_error(Client().post("/api/v2/referrals/"), 404) == {"detail": "Not found."}
    assert set(_assert_json_error(setup.client.get(REFERRALS_URL), 405)) == {"detail"}
    assert set(_assert_json_error(setup.client.delete(SERVICES_URL), 405)) == {"detail"}


def test_an_unexpected_error_is_a_json_500(spa, monkeypatch):
    setup = api_setup(spa)

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("referrals.api.services.referral_create", explode)
    client = Client(raise_request_exception=False, headers={"Authorization": f"Bearer {setup.raw_key}"})

    response = post_json(client, REFERRALS_URL, referral_body())

    assert _assert_json_error(response, 500) == {"detail": "Server error."}


# --- detail ------------------------------------------------------------------------------------


def _make_referral(spa, practice, **patient):
    with scope(spa=spa):
        return referral_create(
            spa=spa,
            practice=practice,
            channel=Channel.PHONE,
            consent_method=ConsentMethod.VERBAL,
            consent_captured_by="Front desk",
            notify=False,
            patient={"patient_first_name": "Gia", "patient_last_name": "Moreau", "patient_phone": "617-555-0100"}
            | patient,
        )


def _view_events(spa, referral):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(spa=spa, action="referral.viewed", object_id=str(referral.public_id)))


def test_a_practice_reads_its_referrals_status_and_timeline(spa, owner):
    setup = api_setup(spa)
    referral = _make_referral(spa, setup.practice)
    with scope(spa=spa):
        referral = referral_transition(referral=referral, to_status=Status.ACCEPTED, actor=owner)
        referral = referral_log_attempt(
            referral=referral, outcome="no_answer", actor=owner, note="Patient's husband says she works nights"
        )
        referral = referral_log_attempt(referral=referral, outcome="reached", actor=owner, note="Booked a callback")
        referral_add_note(referral=referral, note="VIP: handle with care", actor=owner)

    response = setup.client.get(_detail_url(referral.public_id))

    body = _assert_json_error(response, 200)
    assert body["id"] == str(referral.public_id)
    assert body["status"] == "contacted"
    assert body["status_label"] == "Contacted"
    assert body["channel"] == "phone"
    assert body["received_at"] and body["first_contact_due_at"]
    assert [(entry["kind"], entry["from_status"], entry["status"]) for entry in body["timeline"]] == [
        ("received", "", "received"),
        ("status", "received", "accepted"),
        ("status", "accepted", "contacted"),
    ]
    text = response.content.decode()
    for private in ("works nights", "Booked a callback", "VIP", "Gia", "Moreau", "617-555-0100", owner.email):
        assert private not in text


def test_each_read_writes_exactly_one_audit_event(spa):
    setup = api_setup(spa)
    referral = _make_referral(spa, setup.practice)

    setup.client.get(_detail_url(referral.public_id))
    setup.client.get(_detail_url(referral.public_id))

    events = _view_events(spa, referral)
    assert len(events) == 2
    assert all(event.detail == {"via": "api"} for event in events)
    assert all("EHR integration" in event.actor_label and event.actor is None for event in events)


def test_another_practices_referral_is_404_like_a_missing_one(spa):
    ours = api_setup(spa)
    theirs = api_setup(spa, name="Their key")
    their_referral = _make_referral(spa, theirs.practice)

    response = ours.client.get(_detail_url(their_referral.public_id))
    missing = ours.client.get(_detail_url(uuid.uuid4()))

    assert _assert_json_error(response, 404) == {"detail": "Not found."}
    assert response.content == missing.content
    assert _view_events(spa, their_referral) == []
    assert theirs.client.get(_detail_url(their_referral.public_id)).status_code == 200


def test_another_spas_referral_is_404(spa, other_spa):
    ours = api_setup(spa)
    theirs = api_setup(other_spa)
    their_referral = _make_referral(other_spa, theirs.practice)

    response = ours.client.get(_detail_url(their_referral.public_id))

    assert _assert_json_error(response, 404) == {"detail": "Not found."}


def test_a_malformed_referral_id_is_a_json_404(spa):
    setup = api_setup(spa)

    assert _assert_json_error(setup.client.get(f"{REFERRALS_URL}12345/"), 404) == {"detail": "Not found."}


def test_reading_a_referral_needs_a_key(spa, client):
    setup = api_setup(spa)
    referral = _make_referral(spa, setup.practice)

    response = client.get(_detail_url(referral.public_id))

    assert set(_assert_json_error(response, 401)) == {"detail"}
    assert _view_events(spa, referral) == []


def test_the_detail_runs_a_constant_number_of_queries(spa, owner, django_assert_max_num_queries):
    setup = api_setup(spa)
    referral = _make_referral(spa, setup.practice)
    with scope(spa=spa):
        for _ in range(5):
            ServiceFactory(spa=spa)
        referral = referral_transition(referral=referral, to_status=Status.ACCEPTED, actor=owner)
        referral = referral_transition(referral=referral, to_status=Status.CONTACTED, actor=owner)

    with django_assert_max_num_queries(7):
        response = setup.client.get(_detail_url(referral.public_id))
    assert len(response.json()["timeline"]) == 3


# --- services ------------------------------------------------------------------------------------


def test_the_service_list_shows_the_spas_active_services(spa, other_spa):
    setup = api_setup(spa)
    with scope(spa=spa):
        facial = ServiceFactory(spa=spa, name="Calming facial", price="95.00", duration_minutes=50)
        massage = ServiceFactory(
            spa=spa, name="Prenatal massage", category="massage", specialties=["ob_gyn"], pregnancy_safe=True
        )
        ServiceFactory(spa=spa, name="Retired wrap", archived_at=timezone.now())
    with scope(spa=other_spa):
        ServiceFactory(spa=other_spa, name="Their facial")

    response = setup.client.get(SERVICES_URL)

    body = _assert_json_error(response, 200)
    assert [service["name"] for service in body] == ["Calming facial", "Prenatal massage"]
    assert body[0] == {
        "id": str(facial.public_id),
        "name": "Calming facial",
        "category": "facial",
        "description": "",
        "duration_minutes": 50,
        "price": "95.00",
        "pregnancy_safe": False,
        "specialties": ["dermatology"],
    }
    only_ob = setup.client.get(SERVICES_URL, {"specialty": "ob_gyn"}).json()
    assert [service["id"] for service in only_ob] == [str(massage.public_id)]
    assert "specialty" in _assert_json_error(setup.client.get(SERVICES_URL, {"specialty": "astrology"}), 400)["errors"]


def test_the_service_list_runs_a_constant_number_of_queries(spa, django_assert_max_num_queries):
    setup = api_setup(spa)
    with scope(spa=spa):
        for _ in range(10):
            ServiceFactory(spa=spa)

    with django_assert_max_num_queries(3):
        response = setup.client.get(SERVICES_URL)
    assert len(response.json()) == 10


def test_creating_runs_the_same_number_of_queries_for_one_service_or_ten(spa, owner):
    setup = api_setup(spa)
    with scope(spa=spa):
        services = [str(ServiceFactory(spa=spa).public_id) for _ in range(10)]
    post_json(setup.client, REFERRALS_URL, referral_body(services=services[:1]))  # settings rows exist from here on

    counts = []
    for chosen in (services[:1], services):
        with CaptureQueriesContext(connection) as queries:
            response = post_json(setup.client, REFERRALS_URL, referral_body(services=chosen))
        assert response.status_code == 201
        counts.append(len(queries))
    assert counts[0] == counts[1]


def _referral_reads(queries):
    return [
        query["sql"]
        for query in queries
        if query["sql"].lstrip().upper().startswith("SELECT")
        and (
            'FROM "referrals_referral"' in query["sql"]
            or 'FROM "referrals_referralevent"' in query["sql"]
            or 'FROM "referrals_referralservice"' in query["sql"]
        )
    ]


@pytest.mark.parametrize("idempotency_key", [None, "order-body-1"])
def test_the_create_answers_with_the_detail_s_body_without_reading_the_referral_back(spa, idempotency_key):
    setup = api_setup(spa)
    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=setup.practice)
        services = [ServiceFactory(spa=spa) for _ in range(3)]
    body = referral_body(clinician=str(clinician.public_id), services=[str(s.public_id) for s in reversed(services)])

    with CaptureQueriesContext(connection) as queries:
        created = post_json(setup.client, REFERRALS_URL, body, idempotency_key=idempotency_key)
    create_queries = queries.captured_queries  # now: the next request clears Django's query log
    detail = setup.client.get(created["Location"])

    assert created.status_code == 201, created.content
    assert created.json() == detail.json()
    assert created.json()["services"] == sorted(
        created.json()["services"], key=[str(s.public_id) for s in services].index
    )
    assert created.json()["clinician"] == str(clinician.public_id)
    assert create_queries, "the capture saw the create's queries"
    assert _referral_reads(create_queries) == []
    # Nor does it ask whether the spa, practice and clinician it was handed exist (full_clean's lookups).
    assert not [query for query in create_queries if 'SELECT 1 AS "a"' in query["sql"]]
