"""Issue 21 §12: the portal form (clinician first and remembered, date of birth, required marks, every error in
one round) and the portal's referral page (what was sent, when first contact is expected, adding information,
withdrawing a referral the spa has not accepted yet)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from infra.templatetags.dates import day
from referrals.models import PortalAccess, Referral, ReferralEvent, Status
from referrals.services import referral_transition
from tests.rendered_emails import rendered

from ..factories import ClinicianFactory, ServiceFactory, UserFactory
from .portal_helpers import field_error, give_portal_access, logged_in, make_referral, page_text, portal_url


@pytest.fixture
def clinician_a(spa, practice_a):
    return ClinicianFactory(spa=spa, practice=practice_a, first_name="Dana", last_name="Derm", credentials="MD")


@pytest.fixture
def facial(spa):
    return ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"])


def valid_form(**overrides):
    data = {
        "clinician": "",
        "patient_first_name": "Grace",
        "patient_last_name": "Hopper",
        "patient_phone": "(617) 555-0142",
        "patient_email": "",
        "preferred_contact_time": "",
        "patient_date_of_birth": "",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "",
        "precautions": "",
        "patient_agreed": "on",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def the_referral(spa):
    with scope(spa=spa):
        return Referral.objects.select_related("clinician").get(spa=spa)


def audit(action, referral):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action=action, object_id=str(referral.public_id)))


# --- the form ------------------------------------------------------------------------------------------


def test_the_referring_clinician_comes_first_in_the_form(portal_client_a, spa, clinician_a):
    text = page_text(portal_client_a.get(portal_url("referral_new", spa)))

    assert text.index('id="id_clinician"') < text.index('id="id_patient_first_name"')


def test_the_form_starts_with_the_clinician_this_person_chose_last(
    portal_client_a, portal_user_a, spa, practice_a, clinician_a
):
    ClinicianFactory(spa=spa, practice=practice_a, first_name="Abe", last_name="Aaron")
    before = page_text(portal_client_a.get(portal_url("referral_new", spa)))
    assert not re.search(rf'<option value="{clinician_a.public_id}" selected>', before)

    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(clinician=str(clinician_a.public_id)))
    assert response.status_code == 302

    after = page_text(portal_client_a.get(portal_url("referral_new", spa)))
    assert re.search(rf'<option value="{clinician_a.public_id}" selected>', after)
    with scopes_disabled():
        assert PortalAccess.objects.get(user=portal_user_a).last_clinician == clinician_a


def test_the_remembered_clinician_is_per_person(portal_client_a, spa, practice_a, clinician_a):
    colleague = UserFactory(email="second.desk@brookline-derm.example")
    give_portal_access(practice_a, colleague)
    portal_client_a.post(portal_url("referral_new", spa), valid_form(clinician=str(clinician_a.public_id)))

    text = page_text(logged_in(colleague).get(portal_url("referral_new", spa)))

    assert not re.search(rf'<option value="{clinician_a.public_id}" selected>', text)


def test_an_optional_date_of_birth_is_stored_and_shown_to_the_spa(portal_client_a, owner_client, spa):
    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(patient_date_of_birth="1961-04-12"))

    assert response.status_code == 302
    referral = the_referral(spa)
    assert referral.patient_date_of_birth == datetime.date(1961, 4, 12)
    spa_page = page_text(owner_client.get(reverse("referrals:detail", args=[spa.slug, referral.public_id])))
    assert "April 12, 1961" in spa_page
    portal_page = page_text(portal_client_a.get(portal_url("referral", spa, referral.public_id)))
    assert "April 12, 1961" in portal_page


def test_a_referral_without_a_date_of_birth_is_fine(portal_client_a, spa):
    assert portal_client_a.post(portal_url("referral_new", spa), valid_form()).status_code == 302
    assert the_referral(spa).patient_date_of_birth is None


@pytest.mark.parametrize(
    ("born", "message"),
    [
        (lambda: (timezone.localdate() + datetime.timedelta(days=1)).isoformat(), "cannot be in the future"),
        (lambda: "1850-01-01", "Check the year of birth."),
        (lambda: "31/31/1990", "Enter a valid date."),
    ],
)
def test_a_wrong_date_of_birth_is_refused_beside_the_field(portal_client_a, spa, born, message):
    response = portal_client_a.post(portal_url("referral_new", spa), valid_form(patient_date_of_birth=born()))

    assert response.status_code == 400
    assert message in field_error(response, "patient_date_of_birth")
    with scopes_disabled():
        assert not Referral.objects.exists()


def test_every_required_field_is_marked_including_consent(portal_client_a, spa):
    text = page_text(portal_client_a.get(portal_url("referral_new", spa)))
    required_mark = '<span class="text-danger" aria-hidden="true">*</span>'

    for label in ("Patient&#x27;s first name", "Patient&#x27;s last name", "Reason for referral"):
        assert re.search(rf">{label} {re.escape(required_mark)}</label>", text), label
    consent_label = re.search(r'<label class="form-check-label" for="id_patient_agreed">(.*?)</label>', text, re.S)
    assert required_mark in consent_label.group(1)
    # Optional fields carry no mark.
    assert not re.search(rf"date of birth \(optional\) {re.escape(required_mark)}", text)


def test_phone_or_email_is_asked_for_in_the_same_round_as_the_other_errors(portal_client_a, spa):
    response = portal_client_a.post(
        portal_url("referral_new", spa),
        valid_form(patient_first_name="", patient_phone="", patient_email="", patient_agreed=None),
    )

    assert response.status_code == 400
    assert "This field is required." in field_error(response, "patient_first_name")
    assert "Confirm that the patient agreed" in field_error(response, "patient_agreed")
    assert "Give a phone number or an email" in field_error(response, "patient_phone")
    summary = re.search(
        r'<div class="alert alert-danger error-summary" role="alert".*?</div>', page_text(response), re.S
    )
    assert summary is not None
    for target in ("id_patient_first_name", "id_patient_phone", "id_patient_agreed"):
        assert f'href="#{target}"' in summary.group(0)


def test_an_email_alone_is_enough(portal_client_a, spa):
    response = portal_client_a.post(
        portal_url("referral_new", spa), valid_form(patient_phone="", patient_email="grace@example.com")
    )

    assert response.status_code == 302


# --- the referral page ---------------------------------------------------------------------------------


@pytest.fixture
def sent(portal_client_a, spa, clinician_a, facial):
    response = portal_client_a.post(
        portal_url("referral_new", spa),
        valid_form(
            clinician=str(clinician_a.public_id),
            services=[str(facial.public_id)],
            precautions="Recent chemical peel: no exfoliation",
            reason_text="Prefers afternoon appointments",
        ),
    )
    assert response.status_code == 302
    return the_referral(spa)


def test_the_referral_page_shows_back_what_was_sent_and_when_contact_is_expected(portal_client_a, spa, sent):
    response = portal_client_a.get(portal_url("referral", spa, sent.public_id))

    text = page_text(response)
    section = re.search(r'id="portal-sent".*?</section>', text, re.S).group(0)
    assert "Post-procedure skin care" in section
    assert "Calming post-peel facial" in section
    assert "Recent chemical peel: no exfoliation" in section
    assert "Prefers afternoon appointments" in section
    assert "Dana Derm, MD" in section
    with timezone.override(spa.timezone):
        due = day(sent.first_contact_due_at)
    next_step = " ".join(re.search(r'id="portal-next-step">(.*?)</p>', text, re.S).group(1).split())
    assert f"Serene Test Spa will contact the patient by {due}." in next_step


def test_the_clinic_adds_information_that_the_spa_sees_and_is_told_about(
    portal_client_a, portal_user_a, owner, owner_client, spa, sent, outbox_rows
):
    response = portal_client_a.post(
        portal_url("referral_information", spa, sent.public_id), {"text": "New mobile: (617) 555-0188"}
    )

    assert response.status_code == 302
    with scope(spa=spa):
        [event] = ReferralEvent.objects.filter(referral=sent, kind=ReferralEvent.Kind.PRACTICE_NOTE)
    assert event.note == "New mobile: (617) 555-0188"
    assert event.actor == portal_user_a
    spa_page = page_text(owner_client.get(reverse("referrals:detail", args=[spa.slug, sent.public_id])))
    assert "Information from Brookline Dermatology" in spa_page
    assert "New mobile: (617) 555-0188" in spa_page
    portal_page = page_text(portal_client_a.get(portal_url("referral", spa, sent.public_id)))
    assert "New mobile: (617) 555-0188" in portal_page
    [email] = map(rendered, outbox_rows(template="referral-practice-update"))
    assert email.to == owner.email
    assert "added information" in email.subject
    assert "555-0188" not in email.body_text  # nothing about the patient in an email
    [entry] = audit("referral.practice_information_added", sent)
    assert entry.actor == portal_user_a


def test_empty_information_is_refused_beside_the_field(portal_client_a, spa, sent):
    response = portal_client_a.post(portal_url("referral_information", spa, sent.public_id), {"text": "  "})

    assert response.status_code == 400
    assert "Write what you want to add first." in field_error(response, "text")
    with scope(spa=spa):
        assert not ReferralEvent.objects.filter(kind=ReferralEvent.Kind.PRACTICE_NOTE).exists()


def test_the_spas_own_notes_stay_hidden_from_the_practice(portal_client_a, owner, spa, sent):
    from referrals.services import referral_add_note

    with scope(spa=spa):
        referral_add_note(referral=sent, note="Internal: VIP", actor=owner)

    assert "Internal: VIP" not in page_text(portal_client_a.get(portal_url("referral", spa, sent.public_id)))


def test_the_clinic_withdraws_a_referral_the_spa_has_not_accepted(
    portal_client_a, portal_user_a, owner, owner_client, spa, sent, outbox_rows
):
    page = page_text(portal_client_a.get(portal_url("referral", spa, sent.public_id)))
    assert portal_url("referral_withdraw", spa, sent.public_id) in page

    response = portal_client_a.post(
        portal_url("referral_withdraw", spa, sent.public_id), {"reason": "Sent to the wrong spa"}
    )

    assert response.status_code == 302
    referral = the_referral(spa)
    assert referral.status == Status.WITHDRAWN
    assert referral.closed_at is not None
    with scope(spa=spa):
        event = ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.STATUS).get()
    assert (event.from_status, event.to_status, event.note) == ("received", "withdrawn", "Sent to the wrong spa")
    [entry] = audit("referral.withdrawn_by_practice", referral)
    assert entry.actor == portal_user_a
    [email] = map(rendered, outbox_rows(template="referral-practice-update"))
    assert email.to == owner.email
    assert "withdrew a referral" in email.subject
    # The spa sees it as withdrawn by the practice, not declined or lost.
    spa_page = page_text(owner_client.get(reverse("referrals:detail", args=[spa.slug, referral.public_id])))
    assert "Withdrawn by the practice" in spa_page
    inbox = page_text(owner_client.get(reverse("referrals:inbox", args=[spa.slug]) + "?status=withdrawn"))
    assert 'referral-status-withdrawn">Withdrawn by the practice<' in inbox
    portal_page = page_text(portal_client_a.get(portal_url("referral", spa, referral.public_id)))
    assert "pstatus-withdrawn" in portal_page
    assert portal_url("referral_withdraw", spa, referral.public_id) not in portal_page


def test_a_referral_the_spa_accepted_cannot_be_withdrawn(portal_client_a, owner, spa, sent, outbox_rows):
    with scope(spa=spa):
        referral_transition(referral=sent, to_status="accepted", actor=owner)
    assert portal_url("referral_withdraw", spa, sent.public_id) not in page_text(
        portal_client_a.get(portal_url("referral", spa, sent.public_id))
    )

    response = portal_client_a.post(portal_url("referral_withdraw", spa, sent.public_id), {"reason": ""})

    assert response.status_code == 400
    assert "has already accepted this referral" in page_text(response)
    assert the_referral(spa).status == Status.ACCEPTED
    assert outbox_rows(template="referral-practice-update") == []


def test_a_withdrawn_referral_is_not_leakage(owner_client, portal_client_a, spa, sent):
    from referrals.models import PracticeMonthFigures

    portal_client_a.post(portal_url("referral_withdraw", spa, sent.public_id), {"reason": ""})

    with scope(spa=spa):
        # The leakage report's columns (reports.leakage_by_practice reads these maintained figures).
        figures = PracticeMonthFigures.objects.get(spa=spa, practice=sent.practice)
        assert (figures.received, figures.open) == (1, 0)
        assert (figures.declined, figures.never_contacted, figures.never_booked, figures.no_shows) == (0, 0, 0, 0)


# --- outsiders -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["referral", "referral_information", "referral_withdraw"])
def test_another_practices_staff_get_404(portal_client_b, spa, practice_a, name):
    referral = make_referral(practice_a)
    method = portal_client_b.get if name == "referral" else portal_client_b.post

    response = method(portal_url(name, spa, referral.public_id), {"text": "x"} if name != "referral" else None)

    assert response.status_code == 404
    assert the_referral(spa).status == Status.RECEIVED
    with scope(spa=spa):
        assert not ReferralEvent.objects.filter(kind=ReferralEvent.Kind.PRACTICE_NOTE).exists()


@pytest.mark.parametrize("name", ["referral_information", "referral_withdraw"])
def test_another_spas_portal_user_and_spa_staff_get_404(
    outsider_client, owner_client, other_spa_practice, spa, practice_a, name
):
    referral = make_referral(practice_a)
    elsewhere = UserFactory(email="desk@outsider.example")
    give_portal_access(other_spa_practice, elsewhere)

    for client in (logged_in(elsewhere), outsider_client, owner_client):
        assert client.post(portal_url(name, spa, referral.public_id), {"text": "x"}).status_code == 404
        # Their own spa's portal does not know this referral either.
        assert (
            client.post(portal_url(name, other_spa_practice.spa, referral.public_id), {"text": "x"}).status_code == 404
        )
    assert the_referral(spa).status == Status.RECEIVED


@pytest.mark.parametrize("name", ["referral_information", "referral_withdraw"])
def test_anonymous_is_sent_to_sign_in(client, spa, practice_a, name):
    referral = make_referral(practice_a)

    response = client.post(portal_url(name, spa, referral.public_id), {"text": "x"})

    assert response.status_code == 302
    assert "/login" in response["Location"] or "accounts" in response["Location"]
    assert the_referral(spa).status == Status.RECEIVED


@pytest.mark.parametrize("name", ["referral_information", "referral_withdraw"])
def test_the_actions_answer_only_post(portal_client_a, spa, practice_a, name):
    referral = make_referral(practice_a)

    assert portal_client_a.get(portal_url(name, spa, referral.public_id)).status_code == 405


def test_nothing_can_be_added_to_a_withdrawn_referral(portal_client_a, spa, sent):
    portal_client_a.post(portal_url("referral_withdraw", spa, sent.public_id), {"reason": ""})
    assert portal_url("referral_information", spa, sent.public_id) not in page_text(
        portal_client_a.get(portal_url("referral", spa, sent.public_id))
    )

    response = portal_client_a.post(portal_url("referral_information", spa, sent.public_id), {"text": "One more thing"})

    assert response.status_code == 400
    assert "You withdrew this referral." in page_text(response)
    with scope(spa=spa):
        assert not ReferralEvent.objects.filter(kind=ReferralEvent.Kind.PRACTICE_NOTE).exists()
