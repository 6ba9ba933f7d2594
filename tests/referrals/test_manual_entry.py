"""Manual entry of referrals that arrived by phone, fax, email or in person; the new-referral email."""

import io
import json
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope
from PIL import Image

from infra.models import AuditEvent, OutgoingEmail
from referrals.models import ATTACHMENT_MAX_BYTES, Referral, ReferralEvent, ReferralService, Status
from spas.models import Role
from tests.rendered_emails import rendered

from ..factories import ClinicianFactory, MembershipFactory, ServiceFactory, UserFactory
from .spa_helpers import alerts, count, field_error, make_practice, page_text, rows, url

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
WINDOWS_PROGRAM = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 64
    + b"This program cannot be run in DOS mode."
)


def image_bytes(image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 90)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def practice(spa):
    return make_practice(spa, name="Back Bay Dermatology", specialty="dermatology")


def _post_data(practice, /, **overrides):
    data = {
        "channel": "phone",
        "practice": str(practice.public_id),
        "clinician": "",
        "patient_first_name": "Maria",
        "patient_last_name": "Lopez",
        "patient_phone": "617-555-0142",
        "patient_email": "maria.lopez@example.com",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "Weekday mornings",
        "patient_date_of_birth": "1984-02-29",
        "reason_category": "post_procedure_skin_care",
        "reason_text": "Two weeks after laser resurfacing.",
        "precautions": "No retinoids; fragrance-sensitive.",
        "urgency": "soon",
        "consent_to_contact": "on",
        "consent_method": "verbal",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _private_files():
    folder = settings.MEDIA_ROOT / "private"
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


# --- the happy path -------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["phone", "fax", "email", "walk_in"])
def test_a_referral_is_entered_for_each_manual_channel(owner_client, spa, owner, practice, channel):
    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=practice, first_name="Priya", last_name="Patel")
        facial = ServiceFactory(spa=spa, name="Calming facial")
        ServiceFactory(spa=spa, name="Archived wrap", archived_at="2025-01-01T00:00:00Z")

    response = owner_client.post(
        url("create", spa),
        _post_data(practice, channel=channel, clinician=str(clinician.public_id), services=[str(facial.public_id)]),
    )

    referral = rows(Referral, spa=spa)[0]
    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, referral.public_id)
    assert (referral.channel, referral.practice, referral.clinician, referral.status) == (
        channel,
        practice,
        clinician,
        Status.RECEIVED,
    )
    assert (referral.patient_first_name, referral.patient_last_name, referral.patient_phone) == (
        "Maria",
        "Lopez",
        "+16175550142",  # stored in E.164
    )
    assert str(referral.patient_date_of_birth) == "1984-02-29"
    assert (referral.reason_category, referral.urgency) == ("post_procedure_skin_care", "soon")
    assert referral.precautions == "No retinoids; fragrance-sensitive."
    assert (referral.consent_to_contact, referral.consent_method) == (True, "verbal")
    assert referral.consent_captured_by == "Olivia Owner <owner@serene.example>"
    assert (referral.created_by, referral.created_by_label) == (owner, "Olivia Owner")
    assert [row.service for row in rows(ReferralService, referral=referral)] == [facial]
    timeline = rows(ReferralEvent, referral=referral)
    assert [(event.kind, event.to_status, event.actor) for event in timeline] == [("received", "received", owner)]
    created = rows(AuditEvent, spa=spa, action="referral.created")
    assert [(event.actor, event.object_id, event.detail["channel"]) for event in created] == [
        (owner, str(referral.public_id), channel)
    ]

    page = owner_client.get(response["Location"])
    assert any(message.startswith("Referral saved. First contact is due by") for message in alerts(page))


def test_staff_can_enter_referrals_too(staff_client, spa, staff_user, practice):
    response = staff_client.post(url("create", spa), _post_data(practice))

    assert response.status_code == 302
    assert rows(Referral, spa=spa)[0].created_by == staff_user


def test_the_form_offers_only_this_spas_practices_and_active_services(owner_client, spa, other_spa, practice):
    make_practice(other_spa, name="Their Dermatology")
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Calming facial")
        ServiceFactory(spa=spa, name="Archived wrap", archived_at="2025-01-01T00:00:00Z")

    page = page_text(owner_client.get(url("create", spa)))

    assert "Back Bay Dermatology" in page
    assert "Their Dermatology" not in page
    assert "Calming facial" in page
    assert "Archived wrap" not in page
    # Manual channels only: portal, landing page and API referrals arrive on their own.
    channel_select = page.split('name="channel"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([a-z_]+)"', channel_select) == ["phone", "fax", "email", "walk_in"]


def test_without_practices_the_form_says_to_add_one_first(owner_client, spa):
    page = page_text(owner_client.get(url("create", spa)))

    assert "No practices yet" in page
    assert f"/s/{spa.slug}/partners/new/" in page


def test_choosing_a_practice_narrows_clinicians_and_reasons(owner_client, spa, practice):
    physio = make_practice(spa, name="Harbor Physio", specialty="physical_therapy")
    with scope(spa=spa):
        ClinicianFactory(spa=spa, practice=practice, first_name="Priya", last_name="Patel")
        ClinicianFactory(spa=spa, practice=physio, first_name="Sam", last_name="Stretch")

    fragment = page_text(owner_client.get(url("create_options", spa, query=f"practice={physio.public_id}")))

    assert fragment.lstrip().startswith('<div id="practice-fields"')
    assert "Sam Stretch" in fragment
    assert "Priya Patel" not in fragment
    assert "Muscle tension and recovery" in fragment
    assert "Post-procedure skin care" not in fragment
    assert '<option value="other">Other</option>' in fragment


def test_before_a_practice_is_chosen_reasons_and_clinicians_are_grouped(owner_client, spa, practice):
    with scope(spa=spa):
        ClinicianFactory(spa=spa, practice=practice, first_name="Priya", last_name="Patel")

    page = page_text(owner_client.get(url("create", spa)))

    assert '<optgroup label="Dermatology">' in page
    assert '<optgroup label="Back Bay Dermatology">' in page


# --- validation: 400, errors beside the fields, nothing created -----------------------------------------


def _assert_nothing_created(spa):
    assert count(Referral, spa=spa) == 0
    assert count(ReferralEvent, spa=spa) == 0
    assert count(AuditEvent, spa=spa, action="referral.created") == 0
    assert count(OutgoingEmail, spa=spa) == 0
    assert _private_files() == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"consent_to_contact": None}, "consent_to_contact", "Record the patient's consent to be contacted"),
        ({"patient_phone": "", "patient_email": ""}, "patient_phone", "Give a phone number or an email"),
        ({"patient_phone": "call me"}, "patient_phone", "Enter a phone number such as (617) 555-0123."),
        ({"patient_phone": "12"}, "patient_phone", "Enter a phone number such as (617) 555-0123."),
        ({"patient_phone": "555-12"}, "patient_phone", "Enter a phone number such as (617) 555-0123."),
        (
            {"patient_phone": "617-CALL-NOW"},
            "patient_phone",
            "Enter the phone number in digits, such as (617) 555-0123.",
        ),
        ({"patient_first_name": "A" * 81}, "patient_first_name", "at most 80 characters (it has 81)"),
        ({"patient_last_name": "B" * 81}, "patient_last_name", "at most 80 characters (it has 81)"),
        ({"patient_first_name": ""}, "patient_first_name", "This field is required."),
        ({"patient_date_of_birth": "2999-01-01"}, "patient_date_of_birth", "cannot be in the future"),
        ({"patient_date_of_birth": "1850-06-01"}, "patient_date_of_birth", "Check the year of birth."),
        ({"patient_date_of_birth": "1984-02-30"}, "patient_date_of_birth", "Enter a valid date."),
        ({"patient_email": "not-an-email"}, "patient_email", "Enter a valid email address."),
        ({"reason_category": "prenatal_comfort"}, "reason_category", "Choose a reason from the list."),
        ({"reason_category": "made_up"}, "reason_category", "Select a valid choice."),
        ({"channel": "portal"}, "channel", "Select a valid choice."),
        ({"consent_method": "patient_online"}, "consent_method", "Select a valid choice."),
        ({"practice": ""}, "practice", "This field is required."),
        ({"urgency": "yesterday"}, "urgency", "Select a valid choice."),
    ],
)
def test_invalid_entries_are_refused_beside_the_field(owner_client, spa, practice, overrides, field, message):
    response = owner_client.post(url("create", spa), _post_data(practice, **overrides))

    assert response.status_code == 400
    assert message in (field_error(response, field) or "")
    _assert_nothing_created(spa)


def test_a_clinician_of_another_practice_is_refused(owner_client, spa, practice):
    elsewhere = make_practice(spa, name="Harbor Physio", specialty="physical_therapy")
    with scope(spa=spa):
        clinician = ClinicianFactory(spa=spa, practice=elsewhere)

    response = owner_client.post(url("create", spa), _post_data(practice, clinician=str(clinician.public_id)))

    assert response.status_code == 400
    assert field_error(response, "clinician") == "This clinician is not at the referring practice."
    _assert_nothing_created(spa)


def test_another_spas_practice_or_clinician_is_not_a_valid_choice(owner_client, spa, other_spa, practice):
    theirs = make_practice(other_spa, name="Their Dermatology")
    with scope(spa=other_spa):
        their_clinician = ClinicianFactory(spa=other_spa, practice=theirs)

    by_practice = owner_client.post(url("create", spa), _post_data(theirs))
    by_clinician = owner_client.post(url("create", spa), _post_data(practice, clinician=str(their_clinician.public_id)))

    assert "Select a valid choice" in field_error(by_practice, "practice")
    assert "Select a valid choice" in field_error(by_clinician, "clinician")
    assert "Their Dermatology" not in page_text(by_practice)
    _assert_nothing_created(spa)


def test_another_spas_service_is_not_a_valid_choice(owner_client, spa, other_spa, practice):
    with scope(spa=other_spa):
        theirs = ServiceFactory(spa=other_spa)

    response = owner_client.post(url("create", spa), _post_data(practice, services=[str(theirs.public_id)]))

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "services")
    _assert_nothing_created(spa)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("referral.pdf", b"%PDF-" + b"0" * (ATTACHMENT_MAX_BYTES + 1 - 5), "The file is larger than 10 MB."),
        ("referral.pdf", WINDOWS_PROGRAM, "This file is not a real PDF."),
        ("scan.png", b"just some text pretending", "This file is not a real PNG."),
        ("scan.jpg", image_bytes("PNG"), "This file is not a real JPG."),
        ("setup.exe", WINDOWS_PROGRAM, "Attach a PDF or an image"),
        ("notes.html", b"<script>alert(1)</script>", "Attach a PDF or an image"),
        ("no-extension", PDF, "Attach a PDF or an image"),
    ],
)
def test_bad_attachments_are_refused(owner_client, spa, practice, name, content, message):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")

    response = owner_client.post(url("create", spa), _post_data(practice, attachment=upload))

    assert response.status_code == 400
    assert message in field_error(response, "attachment")
    _assert_nothing_created(spa)


@pytest.mark.parametrize(
    ("name", "content", "stored_extension"),
    [
        ("Referral letter.pdf", PDF, "pdf"),
        ("exactly-ten-megabytes.pdf", b"%PDF-" + b"0" * (ATTACHMENT_MAX_BYTES - 5), "pdf"),
        ("photo.PNG", image_bytes("PNG"), "png"),
        ("photo.jpeg", image_bytes("JPEG"), "jpeg"),
        ("photo.webp", image_bytes("WEBP"), "webp"),
        ("iphone.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
    ],
)
def test_pdfs_and_images_are_stored_privately(owner_client, spa, practice, name, content, stored_extension):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")

    response = owner_client.post(url("create", spa), _post_data(practice, attachment=upload))

    assert response.status_code == 302
    referral = rows(Referral, spa=spa)[0]
    assert referral.attachment.name.startswith(f"private/referrals/{spa.public_id}/")
    assert referral.attachment.name.endswith(f".{stored_extension}")
    assert name not in referral.attachment.name  # a random stored name, nothing about the patient
    assert referral.attachment_name == name
    assert [path.read_bytes() for path in _private_files()] == [content]


def test_a_refused_form_keeps_what_was_typed(owner_client, spa, practice):
    response = owner_client.post(url("create", spa), _post_data(practice, consent_to_contact=None))

    page = page_text(response)
    assert 'value="Maria"' in page
    assert "Two weeks after laser resurfacing." in page


# --- the new-referral email -------------------------------------------------------------------------


def test_a_new_referral_emails_the_owners_a_link_and_no_health_information(
    owner_client, spa, owner, staff_user, practice, outbox_rows
):
    second_owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co-owner@serene.example")).user

    owner_client.post(url("create", spa), _post_data(practice))

    referral = rows(Referral, spa=spa)[0]
    emails = [rendered(email) for email in outbox_rows(spa=spa, template="referral-new")]
    assert sorted(email.to for email in emails) == sorted([owner.email, second_owner.email])
    link = settings.SITE_URL + url("detail", spa, referral.public_id)
    for email in emails:
        assert email.subject == "New referral from Back Bay Dermatology"
        assert link in email.body_text
        assert f'href="{link}"' in email.body_html
        for secret in [
            "Maria",
            "Lopez",
            "617-555-0142",
            "5550142",
            "maria.lopez@example.com",
            "Post-procedure",
            "post_procedure",
            "laser",
            "retinoids",
            "1984",
        ]:
            assert secret not in email.subject
            assert secret not in email.body_text
            assert secret not in email.body_html
            assert secret not in json.dumps(email.context)


def test_the_new_referral_email_is_delivered_through_the_outbox(owner_client, spa, practice, deliver_outbox):
    owner_client.post(url("create", spa), _post_data(practice))

    delivered = deliver_outbox()

    assert [mail.subject for mail in delivered] == ["New referral from Back Bay Dermatology"]
    assert "Maria" not in delivered[0].body
