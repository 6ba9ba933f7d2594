"""Patient rights: finding one patient's referrals, exporting everything about them (JSON and a readable
PDF), erasing their health information on request, and who may do which."""

import datetime
import io
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.models.functions import Cast
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from infra.models import AuditEvent, OutgoingEmail
from infra.tasks import outbox_sweep_task
from referrals.consent import services as consent
from referrals.models import Authorization, OutcomeDelivery, OutcomeReport, Referral
from referrals.outcomes.services import outcome_report_save, outcome_report_share
from referrals.patient_rights.selectors import MatchReason, patient_matches
from referrals.patient_rights.services import patient_erase
from referrals.services import referral_add_note, referral_create, referral_log_attempt, referral_transition
from tests.factories import OfficeContactFactory, ServiceFactory

from .portal_helpers import logged_in, make_referral, portal_url

PDF = b"%PDF-1.7\n% signed authorization scan\n%%EOF\n"

# Strings that belong to the patient whose data is erased: none may survive anywhere in the database.
FIRST, LAST = "Zephyrine", "Quarrington"
EMAIL = "zephyrine.q@patients.example"
PHONE = "(617) 555-0177"
DETAILS = "Rosacea flare after fractional laser"
PRECAUTIONS = "Allergic to lanolin"
ATTEMPT_NOTE = "Zephyrine asked us to call after her biopsy results"
STAFF_NOTE = "Prefers unscented products because of the rosacea"
INTERNAL_NOTE = "Mentioned a history of eczema"
OBSERVATION = "Erythema calmed noticeably by the third session"
RECOMMENDATION = "Monthly barrier repair; avoid retinol for a week"
BIRTH_DATE = datetime.date(1984, 7, 9)
PATIENT_STRINGS = [
    FIRST,
    LAST,
    EMAIL,
    "555-0177",
    DETAILS,
    PRECAUTIONS,
    ATTEMPT_NOTE,
    STAFF_NOTE,
    INTERNAL_NOTE,
    OBSERVATION,
    RECOMMENDATION,
]


def page_url(name, referral):
    return reverse(f"patient_rights:{name}", args=[referral.spa.slug, referral.public_id])


def _text_fields(model):
    for field in model._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField | models.JSONField):
            yield field


def rows_mentioning(needle):
    """Every (model, field) in the whole database whose value contains ``needle``, case-insensitively."""
    found = []
    with scopes_disabled():
        for model in apps.get_models():
            manager = model._base_manager
            for field in _text_fields(model):
                if isinstance(field, models.JSONField):
                    queryset = manager.annotate(_as_text=Cast(field.name, models.TextField())).filter(
                        _as_text__icontains=needle
                    )
                else:
                    queryset = manager.filter(**{f"{field.name}__icontains": needle})
                if queryset.exists():
                    found.append(f"{model._meta.label}.{field.name}")
    return found


def birth_date_rows():
    found = []
    with scopes_disabled():
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                is_date = isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField)
                if is_date and model._base_manager.filter(**{field.name: BIRTH_DATE}).exists():
                    found.append(f"{model._meta.label}.{field.name}")
    return found


@pytest.fixture
def service(spa):
    with scope(spa=spa):
        return ServiceFactory(spa=spa, name="Barrier repair facial")


@pytest.fixture
def contact(practice_a):
    with scope(spa=practice_a.spa):
        return OfficeContactFactory(practice=practice_a, email="office@brookline-derm.example")


@pytest.fixture
def patient_referral(spa, practice_a, owner, service, contact, django_capture_on_commit_callbacks):
    """Everything a patient can leave behind: a landing-style referral with an attachment, notes, an attempt,
    a signed paper authorization and its confirmation email, and an outcome report delivered to the office."""
    with scope(spa=spa):
        referral = referral_create(
            spa=spa,
            practice=practice_a,
            channel="landing",
            consent_method="patient_online",
            consent_captured_by="Patient (landing page)",
            notify=False,
            patient={
                "patient_first_name": FIRST,
                "patient_last_name": LAST,
                "patient_phone": PHONE,
                "patient_email": EMAIL,
                "patient_date_of_birth": BIRTH_DATE,
                "preferred_contact_time": "Weekday mornings",
            },
            details={"reason_category": "sensitive_skin", "reason_text": DETAILS, "precautions": PRECAUTIONS},
            services=[service],
            attachment=SimpleUploadedFile("letter.pdf", PDF),
        )
        Referral.objects.filter(pk=referral.pk).update(internal_notes=INTERNAL_NOTE)
        referral.refresh_from_db()
        referral_transition(referral=referral, to_status="accepted", actor=owner)
        referral_log_attempt(referral=referral, outcome="reached", actor=owner, note=ATTEMPT_NOTE)
        referral_add_note(referral=referral, note=STAFF_NOTE, actor=owner)
        authorization, token = consent.authorization_create(
            referral=referral,
            signature_method=Authorization.SignatureMethod.PAPER,
            signer_name=f"{FIRST} {LAST}",
            signed_form=SimpleUploadedFile("signed.pdf", PDF),
            recorded_by=owner,
        )
        consent.authorization_confirmation_send(authorization=authorization, raw_token=token, to=EMAIL)
        report = outcome_report_save(
            referral=referral,
            author=owner,
            services=[service.public_id],
            sessions=3,
            observations=OBSERVATION,
            recommendations=RECOMMENDATION,
            measures={"skin_response": "improved"},
        )
        with django_capture_on_commit_callbacks(execute=True):
            outcome_report_share(report=report, actor=owner)
    return _reload(referral)


def _reload(referral):
    with scope(spa=referral.spa):
        return Referral.objects.select_related("spa", "practice").get(pk=referral.pk)


def _referral(practice, *, first, last, phone="", email="", birth_date=None):
    with scope(spa=practice.spa):
        return referral_create(
            spa=practice.spa,
            practice=practice,
            channel="phone",
            consent_method="verbal",
            consent_captured_by="Front desk",
            notify=False,
            patient={
                "patient_first_name": first,
                "patient_last_name": last,
                "patient_phone": phone,
                "patient_email": email,
                "patient_date_of_birth": birth_date,
            },
        )


# --- finding one patient --------------------------------------------------------------------------


def _phone_matches(spa, anchor):
    with scope(spa=spa):
        return {referral.pk for referral, reason in patient_matches(spa=spa, referral=anchor)[1:] if reason == "phone"}


@pytest.mark.parametrize("anchor_phone", ["+16175550101", "(617) 555-0101 x4", "1 617 555 0101", "6175550101"])
def test_it_finds_the_patients_referrals_by_phone_in_any_form_the_number_was_stored(
    spa, practice_a, practice_b, anchor_phone
):
    anchor = _referral(practice_a, first="Ada", last="Byron", phone=anchor_phone)
    # E.164 as the forms store it, and forms typed before validation (the data migration rewrites them; these
    # rows were saved as given, after it)
    same_line_forms = ["+16175550101", "+16175550101;ext=12", "(617) 555-0101", "617.555.0101", "1-617-555-0101"]
    same_line = [
        _referral(practice_b, first="Ada", last=f"Other{index}", phone=phone)
        for index, phone in enumerate([*same_line_forms, "+1 617 555 0101"])
    ]
    other_lines = [
        _referral(practice_b, first="Ada", last=f"Stranger{index}", phone=phone)
        for index, phone in enumerate(["+16175550102", "+442079460101", "555-0101", "+16175550110"])
    ]

    found = _phone_matches(spa, anchor)

    assert found == {referral.pk for referral in same_line}
    assert not found & {referral.pk for referral in other_lines}


def test_a_national_number_is_read_in_the_spas_country_when_finding_the_patient(spa, practice_a, practice_b):
    spa.country = "GB"
    spa.save()
    anchor = _referral(practice_a, first="Ada", last="Byron", phone="+442079460958")
    typed_in_london = _referral(practice_b, first="Ada", last="Other", phone="020 7946 0958")
    with_the_trunk_zero = _referral(practice_b, first="Ada", last="Another", phone="+44 (0)20 7946 0958 ext. 3")

    assert _phone_matches(spa, anchor) == {typed_in_london.pk, with_the_trunk_zero.pk}


def test_an_old_number_that_names_no_valid_number_still_finds_the_same_digits(spa, practice_a, practice_b):
    anchor = _referral(practice_a, first="Ada", last="Byron", phone="555-0101")  # typed before validation
    same_digits = _referral(practice_b, first="Ada", last="Other", phone="555 0101")
    valid_number = _referral(practice_b, first="Ada", last="Another", phone="+16175550101")

    found = _phone_matches(spa, anchor)

    assert same_digits.pk in found
    assert valid_number.pk not in found


def test_it_finds_the_patients_other_referrals_and_says_why(spa, practice_a, practice_b, other_spa_practice):
    anchor = _referral(
        practice_a, first="Ada", last="Byron", phone="617-555-0101", email="ada@x.example", birth_date=BIRTH_DATE
    )
    same_email = _referral(practice_b, first="A.", last="King", email="ADA@x.example")
    same_phone = _referral(practice_b, first="Augusta", last="Byron", phone="+1 (617) 555 0101")
    same_name_and_birth = _referral(practice_b, first="ada", last="BYRON", phone="555-0000", birth_date=BIRTH_DATE)
    same_name_only = _referral(practice_b, first="Ada", last="Byron", phone="555-1111")
    _referral(practice_b, first="Grace", last="Hopper", phone="617-555-0102", email="grace@x.example")
    _referral(other_spa_practice, first="Ada", last="Byron", phone="617-555-0101", email="ada@x.example")
    with scope(spa=spa):
        found = {referral.pk: reason for referral, reason in patient_matches(spa=spa, referral=anchor)}
    assert found == {
        anchor.pk: MatchReason.ANCHOR,
        same_email.pk: MatchReason.EMAIL,
        same_phone.pk: MatchReason.PHONE,
        same_name_and_birth.pk: MatchReason.NAME_AND_BIRTH_DATE,
        same_name_only.pk: MatchReason.NAME,
    }


def test_the_page_lists_matches_and_leaves_name_only_matches_unticked(owner_client, spa, practice_a, practice_b):
    anchor = _referral(practice_a, first="Ada", last="Byron", phone="617-555-0101")
    phone_match = _referral(practice_b, first="Augusta", last="Byron", phone="6175550101")
    name_only = _referral(practice_b, first="Ada", last="Byron", phone="555-1111")
    response = owner_client.get(page_url("page", anchor))
    assert response.status_code == 200
    body = response.content.decode()
    assert " checked" in _checkbox(body, anchor) and " disabled" in _checkbox(body, anchor)
    assert " checked" in _checkbox(body, phone_match)
    assert " checked" not in _checkbox(body, name_only)
    assert "Same name only" in body
    assert "Erase for good" in body
    with scopes_disabled():
        views = AuditEvent.objects.filter(action="referral.viewed").values_list("object_id", flat=True)
    assert sorted(views) == sorted(str(r.public_id) for r in (anchor, phone_match, name_only))


def _checkbox(body, referral):
    match = re.search(rf'<input[^>]*value="{referral.public_id}"[^>]*>', body)
    assert match, f"no checkbox for {referral}"
    return match.group(0)


def test_managers_export_but_only_owners_erase(client_for, manager_user, staff_client, spa, practice_a):
    referral = make_referral(practice_a)
    manager = client_for(manager_user)
    page = manager.get(page_url("page", referral))
    assert page.status_code == 200
    assert "Erase for good" not in page.content.decode()
    assert "Only an owner" in page.content.decode()
    assert manager.post(page_url("erase", referral), {"request_channel": "email", "confirm": "on"}).status_code == 403
    assert staff_client.get(page_url("page", referral)).status_code == 403
    assert staff_client.post(page_url("export", referral), {"format": "json"}).status_code == 403
    with scope(spa=spa):
        assert Referral.objects.get(pk=referral.pk).health_fields_purged_at is None


@pytest.mark.parametrize("name", ["page", "export", "erase"])
def test_outsiders_get_404_and_anonymous_visitors_the_login_page(name, outsider_client, client, spa, practice_a):
    referral = make_referral(practice_a)
    method = "get" if name == "page" else "post"
    data = {} if name == "page" else {"format": "json", "request_channel": "email", "confirm": "on"}
    assert getattr(outsider_client, method)(page_url(name, referral), data).status_code == 404
    anonymous = getattr(client, method)(page_url(name, referral), data)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    with scope(spa=spa):
        assert Referral.objects.get(pk=referral.pk).health_fields_purged_at is None


# --- export -------------------------------------------------------------------------------------


def test_the_json_export_holds_everything_about_the_patient(owner_client, patient_referral, practice_b):
    second = _referral(practice_b, first="Z.", last="Q.", email=EMAIL.upper())
    response = owner_client.post(
        page_url("export", patient_referral), {"format": "json", "referrals": [str(second.public_id)]}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert [item["id"] for item in data["referrals"]] == [str(patient_referral.public_id), str(second.public_id)]
    first = data["referrals"][0]
    assert first["patient"]["email"] == EMAIL
    assert first["patient"]["date_of_birth"] == "1984-07-09"
    assert first["details"] == DETAILS
    assert first["precautions"] == PRECAUTIONS
    assert first["internal_notes"] == INTERNAL_NOTE
    assert {event["note"] for event in first["timeline"]} >= {ATTEMPT_NOTE, STAFF_NOTE}
    assert f"I, {FIRST} {LAST}, authorize" in first["authorizations"][0]["text_signed"]
    assert first["outcome_report"]["current"]["observations"] == OBSERVATION
    assert first["outcome_report"]["deliveries"][0]["status"] == "Delivered"
    assert first["outcome_report"]["deliveries"][0]["content"]["recommendations"] == RECOMMENDATION
    assert {"referral.created", "authorization.created", "outcome_report.delivered"} <= {
        entry["action"] for entry in first["access_log"]
    }
    with scopes_disabled():
        exported = AuditEvent.objects.filter(action="referral.exported").values_list("object_id", flat=True)
    assert sorted(exported) == sorted([str(patient_referral.public_id), str(second.public_id)])


def test_the_pdf_export_is_readable(owner_client, patient_referral):
    response = owner_client.post(page_url("export", patient_referral), {"format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    for expected in (f"{FIRST} {LAST}", EMAIL, DETAILS, OBSERVATION, "Brookline Dermatology", "Timeline"):
        assert expected in text
    # Dates are written for people ("December 1, 2026, 4:12 p.m."), not as ISO timestamps.
    assert re.search(
        r"Exported (January|February|March|April|May|June|July|August|September|October|November|"
        r"December) \d{1,2}, \d{4}, \d",
        text,
    )
    assert "p.m.." not in text and "a.m.." not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", text)


@pytest.mark.parametrize(
    ("data", "message"),
    [({"format": "xml"}, "Choose JSON or PDF."), ({"format": "json", "referrals": ["not-a-uuid"]}, "Choose among")],
)
def test_a_bad_export_request_is_refused_with_a_message(owner_client, practice_a, data, message):
    referral = make_referral(practice_a)
    response = owner_client.post(page_url("export", referral), data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_another_spas_referral_cannot_be_slipped_into_an_export(owner_client, practice_a, other_spa_practice):
    referral = make_referral(practice_a, first="Ada", last="Byron")
    foreign = _referral(other_spa_practice, first="Ada", last="Byron", phone="617-555-0199")
    response = owner_client.post(
        page_url("export", referral), {"format": "json", "referrals": [str(foreign.public_id)]}
    )
    assert response.status_code == 400
    assert str(foreign.public_id) not in response.content.decode()


# --- erasure ------------------------------------------------------------------------------------


def test_erasure_leaves_no_health_field_content_for_that_patient(
    owner_client, patient_referral, practice_a, settings, django_capture_on_commit_callbacks
):
    other_patient = _referral(practice_a, first="Grace", last="Hopper", phone="617-555-0102")
    # The scan finds the patient everywhere before the erasure (so it can fail) ...
    for needle in PATIENT_STRINGS:
        assert rows_mentioning(needle), f"{needle!r} should be in the database before erasure"
    assert birth_date_rows() == ["referrals.Referral.patient_date_of_birth"]
    with scope(spa=patient_referral.spa):
        authorization = Authorization.objects.get(referral=patient_referral)
    stored_files = [
        Path(settings.MEDIA_ROOT) / patient_referral.attachment.name,
        Path(settings.MEDIA_ROOT) / authorization.signed_form.name,
    ]
    assert all(path.exists() for path in stored_files)
    events_before = _audit_count()

    with django_capture_on_commit_callbacks(execute=True):  # the files go once the erasure has committed
        response = owner_client.post(
            page_url("erase", patient_referral), {"request_channel": "in_writing", "confirm": "on"}, follow=True
        )

    assert response.status_code == 200
    assert "was erased from 1 referral" in response.content.decode()
    # ... and nowhere after it.
    leftovers = {needle: rows_mentioning(needle) for needle in PATIENT_STRINGS}
    assert leftovers == {needle: [] for needle in PATIENT_STRINGS}
    assert birth_date_rows() == []
    assert not any(path.exists() for path in stored_files)
    # The history stays: the referral row, its status, its audit trail (plus the erasure itself).
    with scope(spa=patient_referral.spa):
        erased = Referral.objects.get(pk=patient_referral.pk)
        assert erased.status == "contacted"
        assert erased.health_fields_purged_at is not None
        assert erased.patient_name == "Patient details erased"
        assert Authorization.objects.get(pk=authorization.pk).revoked_at is not None
        assert OutcomeDelivery.objects.get(report__referral=erased).status == "delivered"
        assert Referral.objects.get(pk=other_patient.pk).patient_first_name == "Grace"
    assert _audit_count() == events_before + 2  # kept, plus the erasure and the view of the page that followed
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="referral.erased", detail__requested="in_writing").count() == 1


def _audit_count():
    with scopes_disabled():
        return AuditEvent.objects.count()


def test_after_erasure_the_clinic_no_longer_sees_the_report(owner_client, patient_referral, portal_client_a, spa):
    with scope(spa=spa):
        report = OutcomeReport.objects.get(referral=patient_referral)
    assert portal_client_a.get(portal_url("outcome", spa, report.public_id)).status_code == 200
    owner_client.post(page_url("erase", patient_referral), {"request_channel": "phone", "confirm": "on"})
    assert portal_client_a.get(portal_url("outcome", spa, report.public_id)).status_code == 404
    assert str(report.public_id) not in portal_client_a.get(portal_url("outcomes", spa)).content.decode()


def test_an_email_still_waiting_for_the_patient_is_never_sent(owner_client, practice_a, spa, mailoutbox):
    referral = _referral(practice_a, first="Ada", last="Byron", email="ada@x.example")
    with scope(spa=spa):
        authorization, token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Byron"
        )
        consent.authorization_confirmation_send(authorization=authorization, raw_token=token, to="ada@x.example")
    # Not yet sent (the on-commit send never ran here): the erasure comes while it waits in the outbox.
    owner_client.post(page_url("erase", referral), {"request_channel": "email", "confirm": "on"})

    outbox_sweep_task()
    assert [message.to for message in mailoutbox] == []
    with scopes_disabled():
        email = OutgoingEmail.objects.get(template="referral-confirmation")
    assert (email.status, email.to, email.body_text, email.context) == ("failed", "", "", {})


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"request_channel": "email"}, "confirm", "cannot be undone"),
        ({"confirm": "on"}, "request_channel", "Say how the patient asked"),
        ({"request_channel": "carrier pigeon", "confirm": "on"}, "request_channel", "Select a valid choice"),
    ],
)
def test_erasure_needs_a_confirmation_and_how_the_patient_asked(owner_client, practice_a, spa, data, field, message):
    referral = _referral(practice_a, first="Ada", last="Byron", phone="617-555-0101")
    response = owner_client.post(page_url("erase", referral), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="erase_{field}_error"' in body
    assert message in body
    with scope(spa=spa):
        assert Referral.objects.get(pk=referral.pk).patient_first_name == "Ada"


def test_erasing_twice_changes_nothing_more(owner, patient_referral, spa):
    with scope(spa=spa):
        assert patient_erase(spa=spa, referrals=[patient_referral], actor=owner, request_channel="phone") == 1
        assert patient_erase(spa=spa, referrals=[patient_referral], actor=owner, request_channel="phone") == 0
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="referral.erased").count() == 1


def test_an_erased_referral_still_opens(owner_client, patient_referral, spa, owner):
    with scope(spa=spa):
        patient_erase(spa=spa, referrals=[patient_referral], actor=owner, request_channel="phone")
    detail = owner_client.get(reverse("referrals:detail", args=[spa.slug, patient_referral.public_id]))
    assert detail.status_code == 200
    assert "health information was erased" in detail.content.decode()
    assert owner_client.get(page_url("page", patient_referral)).status_code == 200
    assert owner_client.get(reverse("referrals:inbox", args=[spa.slug])).status_code == 200
    assert owner_client.get(reverse("outcomes:edit", args=[spa.slug, patient_referral.public_id])).status_code == 200


def test_the_portal_user_cannot_reach_the_patient_rights_pages(practice_a, portal_user_a):
    referral = make_referral(practice_a)
    portal = logged_in(portal_user_a)
    assert portal.get(page_url("page", referral)).status_code == 404
