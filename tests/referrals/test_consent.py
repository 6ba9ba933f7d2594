"""Authorizations: the signed text, validity, revocation (staff and patient link) and the sharing check."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from infra.models import AuditEvent
from referrals.consent import selectors as consent_selectors
from referrals.consent import services as consent
from referrals.models import Authorization
from referrals.services import referral_create
from tests.factories import ClinicianFactory, PracticeFactory

TYPED = Authorization.SignatureMethod.TYPED


@pytest.fixture
def referral(spa, owner):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Derm")
        return referral_create(
            spa=spa,
            practice=practice,
            channel="landing",
            consent_method="patient_online",
            consent_captured_by="patient",
            notify=False,
            clinician=ClinicianFactory(spa=spa, practice=practice),
            patient={"patient_first_name": "Ada", "patient_last_name": "Lovelace", "patient_phone": "555-0101"},
        )


def test_the_signed_text_holds_every_core_element_and_survives_template_edits(referral, spa, owner):
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace"
        )
        signed = authorization.text_signed
        for element in (
            "Ada Lovelace",
            spa.name,
            "Glow Derm",
            "Whether I attended",
            "keep my referring provider",
            "ends on",
            "revoke",
            "not condition my treatment",
            "redisclosed",
        ):
            assert element in signed
        assert authorization.template.version == 1
        consent.consent_template_save(spa=spa, body="New wording for {patient_name}.", actor=owner)
        authorization.refresh_from_db()
        assert authorization.text_signed == signed
        assert consent.consent_template_current(spa=spa).version == 2


def test_unknown_placeholders_are_refused_when_the_wording_is_saved(spa, owner):
    with scope(spa=spa), pytest.raises(ValidationError) as error:
        consent.consent_template_save(spa=spa, body="Hello {patient_name} and {ssn}", actor=owner)
    assert "ssn" in str(error.value)


def test_values_are_substituted_once_and_never_executed(referral, spa):
    with scope(spa=spa):
        authorization, _ = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="{spa_name} {{ 7*7 }}"
        )
    assert "{spa_name} {{ 7*7 }}" in authorization.text_signed
    assert "49" not in authorization.text_signed


def test_a_clinic_attestation_or_paper_signature_needs_the_signed_form(referral, spa, owner):
    with scope(spa=spa):
        with pytest.raises(ValidationError):
            consent.authorization_create(
                referral=referral, signature_method="paper", signer_name="Ada Lovelace", recorded_by=owner
            )
        form = SimpleUploadedFile("signed.pdf", b"%PDF-1.4 signed", content_type="application/pdf")
        authorization, _ = consent.authorization_create(
            referral=referral, signature_method="paper", signer_name="Ada Lovelace", recorded_by=owner, signed_form=form
        )
    assert authorization.signed_form.name.startswith("private/authorizations/")


def test_sharing_is_allowed_only_while_valid_unexpired_and_unrevoked(referral, spa, owner):
    with scope(spa=spa):
        assert consent_selectors.sharing_authorization_for(referral=referral) is None
        authorization, _ = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace"
        )
        assert consent_selectors.sharing_authorization_for(referral=referral) == authorization
        later = authorization.expires_at + timedelta(seconds=1)
        assert consent_selectors.sharing_authorization_for(referral=referral, at=later) is None
        consent.authorization_revoke(authorization=authorization, channel="staff", actor=owner)
        assert consent_selectors.sharing_authorization_for(referral=referral) is None


def test_contact_only_authorizations_do_not_allow_sharing(referral, spa):
    with scope(spa=spa):
        consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace", allows_outcome_sharing=False
        )
        assert consent_selectors.sharing_authorization_for(referral=referral) is None


def test_another_practice_is_never_a_covered_recipient(referral, spa):
    with scope(spa=spa):
        authorization, _ = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace"
        )
        other = PracticeFactory(spa=spa)
        assert not authorization.covers_outcome_sharing_with(other)
        assert authorization.covers_outcome_sharing_with(referral.practice)


def test_the_patient_link_revokes_at_once_and_only_with_the_genuine_unexpired_token(referral, spa):
    with scope(spa=spa):
        authorization, token = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace"
        )
    assert consent_selectors.authorization_by_revocation_token("not-the-token") is None
    found = consent_selectors.authorization_by_revocation_token(token)
    assert found == authorization
    with scope(spa=spa):
        consent.authorization_revoke(authorization=found, channel="patient_link")
        authorization.refresh_from_db()
        assert authorization.revoked_at is not None
        assert authorization.revocation_channel == "patient_link"
        assert (
            AuditEvent.objects.filter(action="authorization.revoked", object_id=str(authorization.public_id)).count()
            == 1
        )
        Authorization.objects.filter(pk=authorization.pk).update(revocation_token_expires_at=timezone.now())
    assert consent_selectors.authorization_by_revocation_token(token) is None


def test_expired_authorizations_are_marked_once(referral, spa):
    with scope(spa=spa):
        authorization, _ = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace"
        )
        later = authorization.expires_at + timedelta(minutes=1)
        assert consent.authorizations_mark_expired(spa=spa, now=later) == [authorization]
        assert AuditEvent.objects.filter(action="authorization.expired").count() == 1
        assert consent.authorizations_mark_expired(spa=spa, now=later) == []


def test_an_authorization_must_end_in_the_future(referral, spa):
    with scope(spa=spa), pytest.raises(ValidationError):
        consent.authorization_create(
            referral=referral,
            signature_method=TYPED,
            signer_name="Ada Lovelace",
            expires_at=timezone.now() - timedelta(days=1),
        )
