"""Patient-facing legal text gives dates in words ("December 5, 2027"), on the spa's calendar, never ISO: the
authorization the patient signs (and its preview on the landing page), the withdrawal page, the confirmation
email, the offer on the landing page, the patient-rights page and the patient's export."""

import datetime
import re

import pytest
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from referrals.consent import services as consent
from referrals.models import Authorization
from referrals.services import referral_create

from ..factories import ClinicianFactory, OfferFactory, PracticeFactory, ReferralCodeFactory
from .spa_helpers import page_text

TYPED = Authorization.SignatureMethod.TYPED
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# 11 p.m. on December 5 in New York: already December 6 in UTC.
LATE_EVENING = datetime.datetime(2026, 12, 6, 4, 0, tzinfo=datetime.UTC)


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, name="Glow Derm", specialty="dermatology")


@pytest.fixture
def referral(spa, practice):
    with scope(spa=spa):
        return referral_create(
            spa=spa,
            practice=practice,
            channel="landing",
            consent_method="patient_online",
            consent_captured_by="patient",
            notify=False,
            clinician=ClinicianFactory(spa=spa, practice=practice),
            patient={"patient_first_name": "Ada", "patient_last_name": "Lovelace", "patient_email": "ada@example.com"},
        )


def _authorize(referral, **fields):
    with scope(spa=referral.spa):
        return consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name="Ada Lovelace", **fields
        )


def test_the_signed_text_ends_on_a_date_in_words_on_the_spas_calendar(referral):
    with freeze_time("2026-11-01 12:00:00"):
        authorization, _token = _authorize(referral, expires_at=LATE_EVENING)

    assert "This authorization ends on December 5, 2026, unless I revoke it earlier." in authorization.text_signed
    assert not ISO_DATE.search(authorization.text_signed)


@freeze_time("2026-12-05 15:00:00")
def test_the_landing_page_previews_the_end_date_in_words(client, spa, practice):
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ")

    body = page_text(client.get(reverse("public:landing", args=["KM7QXZ"])))

    preview = body.split('id="consent-text">', 1)[1].split("</div>", 1)[0]
    assert "This authorization ends on December 5, 2027, unless I revoke it earlier." in preview
    assert not ISO_DATE.search(preview)


@freeze_time("2026-12-05 15:00:00")
def test_the_landing_page_gives_the_offers_end_in_words(client, spa, practice):
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ")
        OfferFactory(spa=spa, title="20% off your first facial", valid_until=datetime.date(2027, 1, 31))

    body = page_text(client.get(reverse("public:landing", args=["KM7QXZ"])))

    assert "Valid until January 31, 2027." in body


def test_the_withdrawal_page_gives_signed_ends_and_withdrawn_in_words(client, referral, spa):
    with freeze_time(LATE_EVENING):
        authorization, token = _authorize(referral, expires_at=datetime.datetime(2028, 1, 1, 3, 0, tzinfo=datetime.UTC))
    revoke_url = reverse("public:consent_revoke", args=[token])

    with freeze_time(LATE_EVENING + datetime.timedelta(days=1)):
        shown = page_text(client.get(revoke_url))
        withdrawn = page_text(client.post(revoke_url))

    assert "December 5, 2026" in shown  # signed late in the evening, New York's calendar
    assert "December 31, 2027" in shown  # ends 10 p.m. on New Year's Eve there
    assert "Since December 6, 2026," in withdrawn
    assert not re.search(r"\b(Dec|Jan)\. ", shown + withdrawn)


def test_the_confirmation_email_gives_the_links_end_in_words(referral, spa, deliver_outbox):
    with freeze_time("2026-12-05 15:00:00"):
        authorization, token = _authorize(referral)
        with scope(spa=spa):
            Authorization.objects.filter(pk=authorization.pk).update(revocation_token_expires_at=LATE_EVENING)
            authorization.refresh_from_db()
            consent.authorization_confirmation_send(authorization=authorization, raw_token=token, to="ada@example.com")
        [mail] = deliver_outbox()

    assert "The link is valid until December 5, 2026." in mail.body
    html_body = mail.alternatives[0][0]
    assert "The link is valid until December 5, 2026." in html_body


def test_the_patient_rights_page_gives_received_dates_in_words(owner_client, spa, referral):
    with scope(spa=spa):
        type(referral).objects.filter(pk=referral.pk).update(
            received_at=LATE_EVENING, patient_date_of_birth=datetime.date(1985, 3, 4)
        )

    body = page_text(owner_client.get(reverse("patient_rights:page", args=[spa.slug, referral.public_id])))

    assert "December 5, 2026" in body
    assert "March 4, 1985" in body
