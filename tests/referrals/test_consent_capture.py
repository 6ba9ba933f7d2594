"""Capturing authorizations on every path (landing page, portal, spa) and revoking them (patient link, staff)."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.intake.submissions import submission_token_new
from referrals.models import Authorization, Referral
from tests.rendered_emails import rendered

from ..factories import ReferralCodeFactory
from .portal_helpers import field_error, page_text, portal_url
from .spa_helpers import field_error as spa_field_error
from .spa_helpers import receive_referral

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REVOKE_LINK = re.compile(r"/consent/revoke/([A-Za-z0-9_-]+)/")


def pdf_upload(name="signed.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def authorizations_in(spa):
    with scope(spa=spa):
        return list(Authorization.objects.filter(spa=spa).select_related("referral"))


@pytest.fixture
def practice_code(spa, practice_a):
    with scope(spa=spa):
        return ReferralCodeFactory(spa=spa, practice=practice_a, code="KM7QXZ")


def landing_post(client, **overrides):
    data = {
        "patient_first_name": "Maya",
        "patient_last_name": "Lopez",
        "patient_phone": "(617) 555-0123",
        "patient_email": "maya@example.com",
        "preferred_contact_method": "phone",
        "preferred_contact_time": "After 5pm",
        "reason_category": "sensitive_skin",
        "consent_to_contact": "on",
        "homepage": "",
        "share_outcomes": "on",
        "sharing_signer_name": "Maya Lopez",
        "submission_token": submission_token_new(),
    }
    data.update(overrides)
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(reverse("public:landing", args=["KM7QXZ"]), data, REMOTE_ADDR="203.0.113.7")


# --- landing page ---------------------------------------------------------------------------------


def test_the_landing_page_shows_the_current_wording_filled_for_the_patient(client, spa, practice_code):
    response = client.get(reverse("public:landing", args=["KM7QXZ"]))

    text = page_text(response)
    assert response.status_code == 200
    assert "Let us tell your provider how it went" in text
    assert f"authorize {spa.name} to disclose" in text
    assert "Brookline Dermatology" in text
    assert 'name="share_outcomes"' in text
    assert 'name="sharing_signer_name"' in text


def test_a_patient_signing_on_the_landing_page_creates_a_typed_authorization_with_the_referral(
    client, spa, practice_code
):
    response = landing_post(client, HTTP_USER_AGENT="PatientPhone/1.0")

    assert response.status_code == 302
    [authorization] = authorizations_in(spa)
    assert authorization.signature_method == Authorization.SignatureMethod.TYPED
    assert authorization.signer_name == "Maya Lopez"
    assert authorization.allows_outcome_sharing is True
    assert spa.name in authorization.text_signed
    assert "Maya Lopez" in authorization.text_signed
    assert authorization.ip_address == "203.0.113.7"
    assert authorization.referral.patient_last_name == "Lopez"


def test_the_user_agent_of_the_signing_patient_is_kept(client, spa, practice_code):
    client.post(
        reverse("public:landing", args=["KM7QXZ"]),
        {
            "patient_first_name": "Maya",
            "patient_last_name": "Lopez",
            "patient_phone": "(617) 555-0123",
            "preferred_contact_method": "phone",
            "consent_to_contact": "on",
            "share_outcomes": "on",
            "sharing_signer_name": "Maya Lopez",
            "submission_token": submission_token_new(),
        },
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="PatientPhone/1.0",
    )

    [authorization] = authorizations_in(spa)
    assert authorization.user_agent == "PatientPhone/1.0"


def test_without_the_box_ticked_no_authorization_is_made(client, spa, practice_code, outbox_rows):
    response = landing_post(client, share_outcomes=None, sharing_signer_name="")

    assert response.status_code == 302
    assert authorizations_in(spa) == []
    assert outbox_rows(template="referral-confirmation") == []


def test_ticking_the_box_without_a_typed_name_is_refused_and_nothing_is_stored(client, spa, practice_code):
    response = landing_post(client, sharing_signer_name="  ")

    assert response.status_code == 400
    assert field_error(response, "sharing_signer_name") == "Type your full name to sign the authorization."
    with scope(spa=spa):
        assert not Referral.objects.filter(spa=spa).exists()
    assert authorizations_in(spa) == []


def test_the_confirmation_email_has_the_revocation_link_and_nothing_about_the_patient(
    client, spa, practice_code, outbox_rows
):
    landing_post(client)

    [email] = map(rendered, outbox_rows(template="referral-confirmation"))
    assert email.to == "maya@example.com"
    assert REVOKE_LINK.search(email.body_text)
    assert REVOKE_LINK.search(email.body_html)
    for content in (email.subject, email.body_text, email.body_html, json.dumps(email.context)):
        for detail in ("Maya", "Lopez", "555-0123", "5550123", "sensitive", "Sensitive", "After 5pm", "Brookline"):
            assert detail not in content


def test_no_confirmation_email_without_an_email_address(client, spa, practice_code, outbox_rows):
    landing_post(client, patient_email="")

    assert len(authorizations_in(spa)) == 1
    assert outbox_rows(template="referral-confirmation") == []


# --- the patient's revocation link ------------------------------------------------------------------


def _revoke_path(outbox_rows):
    [email] = map(rendered, outbox_rows(template="referral-confirmation"))
    return REVOKE_LINK.search(email.body_text).group(0)


def test_the_link_shows_what_is_authorized_and_revokes_it_at_once(client, spa, practice_code, outbox_rows):
    landing_post(client)
    path = _revoke_path(outbox_rows)

    shown = client.get(path)
    assert shown.status_code == 200
    assert "Brookline Dermatology" in page_text(shown)
    assert "Withdraw my permission" in page_text(shown)
    [authorization] = authorizations_in(spa)
    assert authorization.revoked_at is None

    revoked = client.post(path)

    assert revoked.status_code == 200
    assert "Your permission is withdrawn." in page_text(revoked)
    [authorization] = authorizations_in(spa)
    assert authorization.revoked_at is not None
    assert authorization.revocation_channel == "patient_link"
    assert not authorization.is_valid()
    with scopes_disabled():
        event = AuditEvent.objects.get(spa=spa, action="authorization.revoked")
    assert event.detail == {"channel": "patient_link"}
    assert event.actor is None

    again = client.post(path)
    assert again.status_code == 200
    assert "You already withdrew this permission." in page_text(again)
    with scopes_disabled():
        assert AuditEvent.objects.filter(spa=spa, action="authorization.revoked").count() == 1


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 43])
def test_a_bad_link_is_a_friendly_404(client, spa, practice_code, token):
    response = client.get(reverse("public:consent_revoke", args=[token]))

    assert response.status_code == 404
    assert "This link is not valid any more." in page_text(response)
    assert spa.name not in page_text(response)


def test_an_expired_link_is_a_friendly_404(client, spa, practice_code, outbox_rows):
    landing_post(client)
    path = _revoke_path(outbox_rows)
    with scopes_disabled():
        Authorization.objects.update(revocation_token_expires_at="2020-01-01T00:00:00Z")

    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    [authorization] = authorizations_in(spa)
    assert authorization.revoked_at is None


# --- spa side -------------------------------------------------------------------------------------


@pytest.fixture
def referral(spa, practice_a):
    return receive_referral(spa, practice=practice_a, patient_first_name="Rosa", patient_last_name="Referred")


def detail_url(spa, referral):
    return reverse("referrals:detail", args=[spa.slug, referral.public_id])


def record_url(spa, referral):
    return reverse("consent:record", args=[spa.slug, referral.public_id])


def test_staff_record_a_paper_authorization_with_its_scan(owner_client, owner, spa, referral):
    response = owner_client.post(
        record_url(spa, referral),
        {"signer_name": "Rosa Referred", "allows_outcome_sharing": "on", "signed_form": pdf_upload()},
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(spa, referral)
    [authorization] = authorizations_in(spa)
    assert authorization.signature_method == Authorization.SignatureMethod.PAPER
    assert authorization.signer_name == "Rosa Referred"
    assert authorization.recorded_by == owner
    assert authorization.signed_form.name.endswith(".pdf")
    assert spa.name in authorization.text_signed

    page = page_text(owner_client.get(detail_url(spa, referral)))
    assert "Consent to share outcomes" in page
    assert "Valid" in page
    assert "Brookline Dermatology" in page
    assert "<details>" in page


def test_the_chosen_end_date_is_kept(owner_client, spa, referral):
    owner_client.post(
        record_url(spa, referral),
        {"signer_name": "Rosa Referred", "expires_on": "2099-06-30", "signed_form": pdf_upload()},
    )

    [authorization] = authorizations_in(spa)
    assert authorization.allows_outcome_sharing is False
    # The signed text gives the end date in words, as the patient reads it.
    assert "This authorization ends on June 30, 2099, unless I revoke it earlier." in authorization.text_signed
    assert "2099-06-30" not in authorization.text_signed


def test_recording_without_the_scan_is_refused_beside_the_field(owner_client, spa, referral):
    response = owner_client.post(record_url(spa, referral), {"signer_name": "Rosa Referred"})

    assert response.status_code == 400
    assert spa_field_error(response, "signed_form", prefix="consent_") == "Upload the signed authorization form."
    assert authorizations_in(spa) == []


def test_a_program_renamed_to_pdf_is_refused(owner_client, spa, referral):
    response = owner_client.post(
        record_url(spa, referral),
        {"signer_name": "Rosa Referred", "signed_form": pdf_upload(content=b"MZ\x90\x00 not a pdf")},
    )

    assert response.status_code == 400
    assert authorizations_in(spa) == []


def test_staff_revoke_at_the_patients_request_and_it_is_audited(owner_client, owner, spa, referral):
    owner_client.post(
        record_url(spa, referral),
        {"signer_name": "Rosa Referred", "allows_outcome_sharing": "on", "signed_form": pdf_upload()},
    )
    [authorization] = authorizations_in(spa)

    response = owner_client.post(
        reverse("consent:revoke", args=[spa.slug, referral.public_id, authorization.public_id])
    )

    assert response.status_code == 302
    [authorization] = authorizations_in(spa)
    assert authorization.revocation_channel == "staff"
    assert authorization.revoked_by == owner
    with scopes_disabled():
        event = AuditEvent.objects.get(spa=spa, action="authorization.revoked")
    assert event.actor == owner
    assert event.detail == {"channel": "staff"}
    assert "Revoked" in page_text(owner_client.get(detail_url(spa, referral)))


def test_another_spas_member_cannot_record_or_revoke(outsider_client, owner_client, spa, referral):
    owner_client.post(
        record_url(spa, referral),
        {"signer_name": "Rosa Referred", "allows_outcome_sharing": "on", "signed_form": pdf_upload()},
    )
    [authorization] = authorizations_in(spa)

    recorded = outsider_client.post(record_url(spa, referral), {"signer_name": "Mallory", "signed_form": pdf_upload()})
    revoked = outsider_client.post(
        reverse("consent:revoke", args=[spa.slug, referral.public_id, authorization.public_id])
    )

    assert recorded.status_code == 404
    assert revoked.status_code == 404
    [authorization] = authorizations_in(spa)
    assert authorization.revoked_at is None


# --- portal ---------------------------------------------------------------------------------------


def portal_form(**overrides):
    data = {
        "patient_first_name": "Grace",
        "patient_last_name": "Hopper",
        "patient_phone": "(617) 555-0142",
        "preferred_contact_time": "Weekday mornings",
        "reason_category": "post_procedure_skin_care",
        "patient_agreed": "on",
    }
    data.update(overrides)
    return data


def test_the_portal_records_the_clinics_attestation_with_the_signed_form(
    portal_client_a, portal_user_a, spa, practice_a
):
    response = portal_client_a.post(
        portal_url("referral_new", spa), portal_form(sharing_signed="on", signed_form=pdf_upload())
    )

    assert response.status_code == 302
    [authorization] = authorizations_in(spa)
    assert authorization.signature_method == Authorization.SignatureMethod.CLINIC_ATTESTATION
    assert authorization.signer_name == "Grace Hopper"
    assert authorization.recorded_by == portal_user_a
    assert "Frida Frontdesk" in authorization.recorded_by_label
    assert spa.name in authorization.text_signed
    assert authorization.signed_form.name.endswith(".pdf")


def test_the_portal_form_without_the_box_makes_no_authorization(portal_client_a, spa, practice_a):
    response = portal_client_a.post(portal_url("referral_new", spa), portal_form())

    assert response.status_code == 302
    assert authorizations_in(spa) == []


def test_the_portal_attestation_needs_the_signed_form(portal_client_a, spa, practice_a):
    response = portal_client_a.post(portal_url("referral_new", spa), portal_form(sharing_signed="on"))

    assert response.status_code == 400
    assert field_error(response, "signed_form") == "Upload the signed authorization form."
    with scope(spa=spa):
        assert not Referral.objects.filter(spa=spa).exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (pdf_upload(name="signed.exe", content=b"MZ"), "Attach a PDF or an image"),
        (pdf_upload(content=b"MZ\x90\x00 not a pdf"), "This file is not a real PDF"),
    ],
)
def test_the_portal_refuses_a_file_that_is_not_a_pdf_or_image(portal_client_a, spa, practice_a, upload, message):
    response = portal_client_a.post(
        portal_url("referral_new", spa), portal_form(sharing_signed="on", signed_form=upload)
    )

    assert response.status_code == 400
    assert message in field_error(response, "signed_form")
    assert authorizations_in(spa) == []


def test_the_portal_refuses_a_file_over_10_mb(portal_client_a, spa, practice_a):
    big = pdf_upload(content=PDF + b"0" * (10 * 1024 * 1024))

    response = portal_client_a.post(portal_url("referral_new", spa), portal_form(sharing_signed="on", signed_form=big))

    assert response.status_code == 400
    assert "larger than 10 MB" in field_error(response, "signed_form")
