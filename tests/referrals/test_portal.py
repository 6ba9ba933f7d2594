"""The partner portal's pages: the practice's own referrals with their status, the audited status page,
and the quick referral form with the clinic's attestation of the patient's consent."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.models import Channel, ConsentMethod, Referral, ReferralEvent, ReferralService
from referrals.services import referral_add_note, referral_assign, referral_log_attempt, referral_transition
from tests.rendered_emails import rendered

from ..factories import ClinicianFactory, ServiceFactory
from .portal_helpers import field_error, make_referral, page_text, portal_url


def referrals_in(spa):
    with scope(spa=spa):
        return list(Referral.objects.filter(spa=spa))


def views_of(referral):
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                action="referral.viewed", object_type="referrals.referral", object_id=str(referral.public_id)
            )
        )


# --- the list ---------------------------------------------------------------------------------


def test_the_portal_lists_only_the_practices_own_referrals(
    portal_client_a, spa, practice_a, practice_b, other_spa_practice
):
    ours = make_referral(practice_a, first="Alice", last="Ours")
    make_referral(practice_b, first="Bob", last="Theirs")
    make_referral(other_spa_practice, first="Carol", last="Elsewhere")

    response = portal_client_a.get(portal_url("home", spa))

    text = page_text(response)
    assert response.status_code == 200
    assert "Alice Ours" in text
    assert f'data-referral="{ours.public_id}"' in text
    assert "Bob Theirs" not in text
    assert "Carol Elsewhere" not in text
    assert "Received" in text
    assert "Brookline Dermatology" in text
    assert "Serene Test Spa" in text


def test_staff_of_practice_b_see_only_b(portal_client_b, spa, practice_a, practice_b):
    make_referral(practice_a, first="Alice", last="Ours")
    make_referral(practice_b, first="Bob", last="Theirs")

    text = page_text(portal_client_b.get(portal_url("home", spa)))

    assert "Bob Theirs" in text
    assert "Alice Ours" not in text


def test_the_list_shows_each_referrals_current_status(portal_client_a, spa, owner, practice_a):
    referral = make_referral(practice_a, first="Alice", last="Ours")
    with scope(spa=spa):
        referral_transition(referral=referral, to_status="accepted", actor=owner)

    text = page_text(portal_client_a.get(portal_url("home", spa)))

    assert 'pstatus-accepted">Accepted<' in text


def test_the_list_filters_open_and_closed(portal_client_a, spa, owner, practice_a):
    make_referral(practice_a, first="Olive", last="Open")
    closed = make_referral(practice_a, first="Clara", last="Closed")
    with scope(spa=spa):
        referral_transition(referral=closed, to_status="declined", actor=owner, reason="Not a fit")

    open_page = page_text(portal_client_a.get(portal_url("home", spa) + "?show=open"))
    closed_page = page_text(portal_client_a.get(portal_url("home", spa) + "?show=closed"))

    assert "Olive Open" in open_page and "Clara Closed" not in open_page
    assert "Clara Closed" in closed_page and "Olive Open" not in closed_page


def test_an_empty_portal_invites_a_first_referral(portal_client_a, spa):
    text = page_text(portal_client_a.get(portal_url("home", spa)))

    assert "No referrals yet." in text
    assert portal_url("referral_new", spa) in text


def test_the_portal_shows_the_spas_referral_line_nationally_with_a_tel_link(portal_client_a, spa):
    spa.referral_phone = "+16175550199"
    spa.save()

    text = page_text(portal_client_a.get(portal_url("home", spa)))

    assert '<a class="link-secondary" href="tel:+1-617-555-0199">(617) 555-0199</a>' in text


def test_the_list_reads_in_constant_queries(portal_client_a, spa, practice_a):
    def queries_for_list():
        with CaptureQueriesContext(connection) as context:
            assert portal_client_a.get(portal_url("home", spa)).status_code == 200
        return len(context.captured_queries)

    clinician = ClinicianFactory(spa=spa, practice=practice_a)
    make_referral(practice_a, clinician=clinician)
    few = queries_for_list()
    for number in range(6):
        make_referral(practice_a, first=f"Pat{number}", clinician=ClinicianFactory(spa=spa, practice=practice_a))

    assert queries_for_list() == few


# --- one referral's status page ----------------------------------------------------------------


def test_the_status_page_shows_status_changes_but_nothing_internal(portal_client_a, spa, owner, staff_user, practice_a):
    referral = make_referral(practice_a, first="Alice", last="Ours")
    with scope(spa=spa):
        referral = referral_transition(referral=referral, to_status="accepted", actor=owner)
        referral = referral_log_attempt(
            referral=referral, outcome="voicemail", note="Secret attempt note about her husband", actor=owner
        )
        referral = referral_log_attempt(referral=referral, outcome="reached", actor=owner)
        referral_add_note(referral=referral, note="Internal timeline note: VIP", actor=owner)
        referral_assign(referral=referral, assignee=staff_user, actor=owner)
        Referral.objects.filter(pk=referral.pk).update(internal_notes="INTERNAL-NOTES-DO-NOT-SHARE")

    response = portal_client_a.get(portal_url("referral", spa, referral.public_id))

    text = page_text(response)
    assert response.status_code == 200
    assert "Alice Ours" in text
    for status in ("Received", "Accepted", "Contacted"):
        assert status in text
    for secret in (
        "Secret attempt note",
        "Internal timeline note",
        "INTERNAL-NOTES-DO-NOT-SHARE",
        "Stacy Staff",
        "Olivia Owner",
        "voicemail",
        "Left a voicemail",
    ):
        assert secret not in text


def test_the_status_page_never_shows_a_decline_reason(portal_client_a, spa, owner, practice_a):
    referral = make_referral(practice_a)
    with scope(spa=spa):
        referral_transition(referral=referral, to_status="declined", actor=owner, reason="Spa staff shortage in May")

    text = page_text(portal_client_a.get(portal_url("referral", spa, referral.public_id)))

    assert "Declined" in text
    assert "staff shortage" not in text


def test_each_view_of_a_status_page_writes_exactly_one_audit_event(portal_client_a, portal_user_a, spa, practice_a):
    referral = make_referral(practice_a)

    portal_client_a.get(portal_url("referral", spa, referral.public_id))
    assert len(views_of(referral)) == 1
    portal_client_a.get(portal_url("referral", spa, referral.public_id))

    events = views_of(referral)
    assert len(events) == 2
    assert {event.actor for event in events} == {portal_user_a}
    assert {event.detail["via"] for event in events} == {"portal"}


def test_times_are_shown_on_the_spas_clock(portal_client_a, spa, practice_a):
    referral = make_referral(practice_a)
    at = datetime.datetime(2026, 3, 10, 15, 30, tzinfo=datetime.UTC)  # 11:30 a.m. in New York (EDT)
    with scope(spa=spa):
        Referral.objects.filter(pk=referral.pk).update(received_at=at)
        ReferralEvent.objects.filter(referral=referral).update(created_at=at)

    text = page_text(portal_client_a.get(portal_url("referral", spa, referral.public_id)))

    assert "Sent March 10, 2026, 11:30 a.m." in text
    assert "3:30 p.m." not in text


def test_the_status_page_answers_only_get(portal_client_a, spa, practice_a):
    referral = make_referral(practice_a)

    response = portal_client_a.post(portal_url("referral", spa, referral.public_id))

    assert response.status_code == 405
    assert views_of(referral) == []


def test_the_list_itself_records_no_referral_view(portal_client_a, spa, practice_a):
    referral = make_referral(practice_a)

    portal_client_a.get(portal_url("home", spa))

    assert views_of(referral) == []


def test_another_practices_referral_is_404_even_in_the_same_spa(portal_client_a, spa, practice_b):
    theirs = make_referral(practice_b, first="Bob", last="Theirs")

    response = portal_client_a.get(portal_url("referral", spa, theirs.public_id))

    assert response.status_code == 404
    assert "Bob" not in page_text(response)
    assert views_of(theirs) == []


def test_another_spas_referral_is_404(portal_client_a, spa, other_spa_practice):
    theirs = make_referral(other_spa_practice)

    assert portal_client_a.get(portal_url("referral", spa, theirs.public_id)).status_code == 404


def test_an_unknown_referral_is_404(portal_client_a, spa):
    assert portal_client_a.get(portal_url("referral", spa, "00000000-0000-0000-0000-000000000000")).status_code == 404


# --- the quick referral form -----------------------------------------------------------------


@pytest.fixture
def derm_services(spa):
    return [
        ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"]),
        ServiceFactory(spa=spa, name="LED skin therapy", specialties=["dermatology", "plastic_surgery"]),
    ]


@pytest.fixture
def prenatal_service(spa):
    return ServiceFactory(spa=spa, name="Prenatal massage", specialties=["ob_gyn"], category="massage")


@pytest.fixture
def clinician_a(spa, practice_a):
    return ClinicianFactory(spa=spa, practice=practice_a, first_name="Dana", last_name="Derm", credentials="MD")


def valid_form(**overrides):
    data = {
        "patient_first_name": "Grace",
        "patient_last_name": "Hopper",
        "patient_phone": "(617) 555-0142",
        "patient_email": "",
        "preferred_contact_time": "Weekday mornings",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "",
        "precautions": "Recent chemical peel",
        "clinician": "",
        "patient_agreed": "on",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def test_the_form_lists_the_services_for_the_practices_specialty_and_its_clinicians(
    portal_client_a, spa, practice_b, derm_services, prenatal_service, clinician_a
):
    other_clinician = ClinicianFactory(spa=spa, practice=practice_b, last_name="Elsewhereson")

    response = portal_client_a.get(portal_url("referral_new", spa))

    text = page_text(response)
    assert response.status_code == 200
    assert "Calming post-peel facial" in text
    assert "LED skin therapy" in text
    assert 'type="checkbox" name="services"' in text
    assert "Prenatal massage" not in text
    assert "Dana Derm, MD" in text
    assert other_clinician.last_name not in text
    assert "Post-procedure skin care" in text
    assert "Prenatal comfort" not in text
    assert "The patient agreed to be contacted by Serene Test Spa" in text


def test_a_portal_referral_records_the_clinics_attestation_and_notifies_the_spa(
    portal_client_a, portal_user_a, owner, spa, practice_a, derm_services, clinician_a, outbox_rows
):
    response = portal_client_a.post(
        portal_url("referral_new", spa),
        valid_form(
            services=[str(service.public_id) for service in derm_services], clinician=str(clinician_a.public_id)
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == portal_url("sent", spa)
    [referral] = referrals_in(spa)
    assert referral.channel == Channel.PORTAL
    assert referral.practice == practice_a
    assert referral.clinician == clinician_a
    assert referral.patient_name == "Grace Hopper"
    assert referral.preferred_contact_time == "Weekday mornings"
    assert referral.precautions == "Recent chemical peel"
    assert referral.consent_to_contact is True
    assert referral.consent_method == ConsentMethod.CLINIC_ATTESTATION
    assert "Frida Frontdesk" in referral.consent_captured_by
    assert "frida.frontdesk@brookline-derm.example" in referral.consent_captured_by
    assert "Brookline Dermatology" in referral.consent_captured_by
    assert referral.created_by == portal_user_a
    with scope(spa=spa):
        assert {row.service for row in ReferralService.objects.filter(referral=referral)} == set(derm_services)
    [notification] = map(rendered, outbox_rows(to=owner.email, template="referral-new"))
    assert "Brookline Dermatology" in notification.subject
    for patient_detail in ("Grace", "Hopper", "555-0142", "5550142", "peel"):
        assert patient_detail not in notification.subject + notification.body_text + notification.body_html


def test_the_confirmation_page_links_to_the_new_referrals_status(portal_client_a, spa, practice_a):
    portal_client_a.post(portal_url("referral_new", spa), valid_form())
    [referral] = referrals_in(spa)

    response = portal_client_a.get(portal_url("sent", spa))

    text = page_text(response)
    assert response.status_code == 200
    assert "Referral sent" in text
    assert "within 2 business days" in text
    assert portal_url("referral", spa, referral.public_id) in text
    assert "Grace" not in text


def test_an_email_alone_is_enough_to_reach_the_patient(portal_client_a, spa, practice_a):
    response = portal_client_a.post(
        portal_url("referral_new", spa), valid_form(patient_phone="", patient_email="grace@example.com")
    )

    assert response.status_code == 302
    [referral] = referrals_in(spa)
    assert referral.preferred_contact_method == "email"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"patient_agreed": None},
            "patient_agreed",
            "Confirm that the patient agreed to be contacted before sending.",
        ),
        (
            {"patient_phone": "", "patient_email": ""},
            "patient_phone",
            "Give a phone number or an email so the spa can reach the patient.",
        ),
        ({"reason_category": "prenatal_comfort"}, "reason_category", "Select a valid choice."),
        ({"patient_first_name": "G" * 81}, "patient_first_name", "Ensure this value has at most 80 characters"),
        ({"precautions": "x" * 2001}, "precautions", "Ensure this value has at most 2000 characters"),
        ({"patient_email": "not-an-email"}, "patient_email", "Enter a valid email address."),
    ],
)
def test_the_form_refuses_incomplete_or_wrong_input_beside_the_field(
    portal_client_a, spa, practice_a, outbox_rows, overrides, field, message
):
    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(**overrides))

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert referrals_in(spa) == []
    assert outbox_rows(template="referral-new") == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("call me", "Enter a phone number such as (617) 555-0123."),
        ("12", "Enter a phone number such as (617) 555-0123."),
        ("555-12", "Enter a phone number such as (617) 555-0123."),
        ("617-CALL-NOW", "Enter the phone number in digits, such as (617) 555-0123."),
    ],
)
def test_a_phone_that_is_not_a_number_is_refused_with_an_example(
    portal_client_a, spa, practice_a, outbox_rows, typed, message
):
    response = portal_client_a.post(
        portal_url("referral_new", spa), valid_form(patient_phone=typed, patient_email="grace@example.com")
    )

    assert response.status_code == 400
    assert field_error(response, "patient_phone") == message
    assert referrals_in(spa) == []
    assert outbox_rows(template="referral-new") == []


def test_a_portal_phone_is_stored_in_e164_with_its_extension(portal_client_a, spa, practice_a):
    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(patient_phone="617.555.0142 x7"))

    assert response.status_code == 302
    [referral] = referrals_in(spa)
    assert referral.patient_phone == "+16175550142;ext=7"


def test_a_clinician_of_another_practice_is_refused(portal_client_a, spa, practice_b):
    elsewhere = ClinicianFactory(spa=spa, practice=practice_b)

    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(clinician=str(elsewhere.public_id)))

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "clinician")
    assert referrals_in(spa) == []


def test_a_service_not_offered_for_the_specialty_is_refused(portal_client_a, spa, prenatal_service):
    response = portal_client_a.post(
        portal_url("referral_new", spa), valid_form(services=[str(prenatal_service.public_id)])
    )

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "services")
    assert referrals_in(spa) == []


def test_the_form_keeps_what_was_typed_after_an_error(portal_client_a, spa, derm_services):
    response = portal_client_a.post(
        portal_url("referral_new", spa),
        valid_form(patient_agreed=None, services=[str(derm_services[0].public_id)]),
    )

    text = page_text(response)
    assert 'value="Grace"' in text
    assert f'value="{derm_services[0].public_id}" id="id_services_0" checked' in text


def test_a_spa_member_cannot_use_the_portal_form(owner_client, spa, practice_a):
    response = owner_client.post(portal_url("referral_new", spa), valid_form())

    assert response.status_code == 404
    assert referrals_in(spa) == []


def test_an_anonymous_post_is_sent_to_sign_in(client, spa, practice_a):
    response = client.post(portal_url("referral_new", spa), valid_form())

    assert response.status_code == 302
    assert referrals_in(spa) == []
