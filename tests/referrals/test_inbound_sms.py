"""Referrals by text: Twilio's signed inbound-message webhook becomes a draft in the spa that owns the number, the
sender's number matched to a practice, and the sender is thanked in TwiML without any health information."""

import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django_scopes import scope

from infra.models import OutgoingEmail
from partners.services import practice_create
from referrals.inbound.signatures import twilio_signature
from referrals.models import InboundReferralDraft, Referral

from ..factories import ClinicianFactory, OfficeContactFactory, SpaFactory
from .inbound_helpers import NOTHING, PUBLIC_SITE, SMS_URL, TWILIO_TOKEN, inbound_rows, post_sms, twilio_params
from .spa_helpers import audit_actions, count, rows

SPA_NUMBER = "+16175550100"
CLINIC_NUMBER = "+16175550142"


@pytest.fixture
def texting_spa(spa):
    call_command("inbound_sms_number", spa.slug, "(617) 555-0100")
    return spa


def _practice(spa, phone, name="Back Bay Physical Therapy"):
    with scope(spa=spa):
        return practice_create(
            spa=spa, actor=None, fields={"name": name, "specialty": "physical_therapy", "phone": phone}
        )


def _only_draft(spa):
    drafts = rows(InboundReferralDraft, spa=spa)
    assert len(drafts) == 1
    return drafts[0]


def _message_of(response):
    root = ET.fromstring(response.content)  # noqa: S314 - our own response, in a test
    assert root.tag == "Response"
    return root.find("Message").text


def test_a_signed_text_becomes_a_draft_and_the_sender_is_thanked_without_health_information(
    inbound, client, texting_spa
):
    practice = _practice(texting_spa, CLINIC_NUMBER)

    response = post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert _message_of(response) == "Thanks — Serene Test Spa received your message and will follow up."
    assert b"Jane" not in response.content
    draft = _only_draft(texting_spa)
    assert (draft.channel, draft.status, draft.sender) == ("sms", "pending", CLINIC_NUMBER)
    assert (draft.practice_id, draft.needs_review) == (practice.pk, False)
    assert draft.body == "Referral: Jane Doe, 617-555-0199"
    assert draft.provider_message_id == "SM0123456789abcdef0123456789abcdef"
    assert count(Referral, spa=texting_spa) == 0
    assert count(OutgoingEmail) == 0
    assert audit_actions(texting_spa)[-1] == "inbound_draft.received"


def test_a_practice_number_saved_before_validation_still_matches(inbound, client, texting_spa):
    practice = _practice(texting_spa, "617.555.0142")

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert _only_draft(texting_spa).practice_id == practice.pk


def test_a_practice_number_with_an_extension_matches_its_line(inbound, client, texting_spa):
    practice = _practice(texting_spa, "617-555-0142 ext. 12")

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert _only_draft(texting_spa).practice_id == practice.pk


def test_a_number_typed_nationally_at_a_spa_abroad_matches(inbound, client, texting_spa):
    # "The same number" is infra.phones.phone_key read in the spa's country, not a US-only last ten digits.
    texting_spa.country = "GB"
    texting_spa.save(update_fields=["country"])
    practice = _practice(texting_spa, "020 7946 0958", name="Harley Street Physio")

    post_sms(client, twilio_params(SPA_NUMBER, sender="+442079460958"))

    draft = _only_draft(texting_spa)
    assert (draft.sender, draft.practice_id, draft.needs_review) == ("+442079460958", practice.pk, False)


def test_a_clinicians_mobile_matches_the_clinician(inbound, client, texting_spa):
    practice = _practice(texting_spa, "+16175550999")
    with scope(spa=texting_spa):
        clinician = ClinicianFactory(spa=texting_spa, practice=practice, phone=CLINIC_NUMBER)

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    draft = _only_draft(texting_spa)
    assert (draft.practice_id, draft.clinician_id) == (practice.pk, clinician.pk)


def test_an_office_contacts_number_with_an_extension_matches(inbound, client, texting_spa):
    practice = _practice(texting_spa, "+16175550999")
    with scope(spa=texting_spa):
        contact = OfficeContactFactory(spa=texting_spa, practice=practice, phone=f"{CLINIC_NUMBER};ext=12")

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert (_only_draft(texting_spa).practice_id, _only_draft(texting_spa).contact_id) == (practice.pk, contact.pk)


def test_an_unknown_number_is_flagged_for_review(inbound, client, texting_spa):
    _practice(texting_spa, "+16175550999")

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert (_only_draft(texting_spa).practice, _only_draft(texting_spa).needs_review) == (None, True)


def test_another_spas_practice_with_the_number_is_not_a_match(inbound, client, texting_spa, other_spa):
    _practice(other_spa, CLINIC_NUMBER, name="Outsider PT")

    post_sms(client, twilio_params(SPA_NUMBER, sender=CLINIC_NUMBER))

    assert _only_draft(texting_spa).needs_review is True
    assert count(InboundReferralDraft, spa=other_spa) == 0


def test_the_number_picks_the_spa(inbound, client, texting_spa, other_spa):
    call_command("inbound_sms_number", other_spa.slug, "+16175550111")

    post_sms(client, twilio_params("+16175550111", sender=CLINIC_NUMBER))

    assert count(InboundReferralDraft, spa=texting_spa) == 0
    assert count(InboundReferralDraft, spa=other_spa) == 1


def test_a_replayed_message_sid_is_thanked_again_and_creates_nothing(inbound, client, texting_spa):
    params = twilio_params(SPA_NUMBER)
    first = post_sms(client, params)

    again = post_sms(client, params)

    assert again.status_code == 200
    assert again.content == first.content
    assert count(InboundReferralDraft, spa=texting_spa) == 1
    assert audit_actions(texting_spa).count("inbound_draft.received") == 1


def test_pictures_are_noted_but_not_fetched(inbound, client, texting_spa):
    params = twilio_params(
        SPA_NUMBER,
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME0",
        MediaContentType0="image/jpeg",
    )

    assert post_sms(client, params).status_code == 200

    refused = _only_draft(texting_spa).attachments_refused
    assert refused == [
        {
            "name": "2 picture(s) sent with the text",
            "reason": "Pictures sent by text are not fetched. Ask the practice to email them.",
        }
    ]


def test_the_requests_own_address_is_accepted_behind_a_proxy(inbound, client, texting_spa):
    # Twilio signed the address the proxy received; the app sees it as http://testserver/…
    response = post_sms(client, twilio_params(SPA_NUMBER), url="http://testserver" + SMS_URL)

    assert response.status_code == 200


def test_a_spa_name_with_markup_is_escaped_in_the_reply(inbound, client, texting_spa):
    texting_spa.name = "Spa & Co <Boston>"
    texting_spa.save(update_fields=["name"])

    response = post_sms(client, twilio_params(SPA_NUMBER))

    assert _message_of(response) == "Thanks — Spa & Co <Boston> received your message and will follow up."


# --- refused ----------------------------------------------------------------------------------------------------


def _signed_elsewhere(params):
    return {"signature": twilio_signature(TWILIO_TOKEN, "https://attacker.example" + SMS_URL, params)}


REFUSALS = {
    "unsigned": (lambda params: {"signature": ""}, 403, "signature_mismatch"),
    "another token": (lambda params: {"token": "someone-elses-token"}, 403, "signature_mismatch"),
    "signed for another address": (_signed_elsewhere, 403, "signature_mismatch"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_requests_not_signed_by_twilio_are_refused(inbound, client, texting_spa, case):
    build, status, error = REFUSALS[case]
    params = twilio_params(SPA_NUMBER)

    response = post_sms(client, params, **build(params))

    assert (response.status_code, response.json()["error"]) == (status, error)
    assert inbound_rows() == NOTHING


def test_a_body_changed_after_signing_is_refused(inbound, client, texting_spa):
    params = twilio_params(SPA_NUMBER)
    signature = twilio_signature(TWILIO_TOKEN, PUBLIC_SITE + SMS_URL, params)

    response = post_sms(client, {**params, "Body": "Something else"}, signature=signature)

    assert response.status_code == 403
    assert inbound_rows() == NOTHING


def test_a_number_no_spa_has_answers_404(inbound, client, texting_spa):
    response = post_sms(client, twilio_params("+16175550177"))

    assert (response.status_code, response.json()["error"]) == (404, "unknown_number")
    assert inbound_rows() == NOTHING


@pytest.mark.parametrize("field", ["From", "To", "MessageSid"])
def test_a_signed_request_without_the_essentials_answers_400(inbound, client, texting_spa, field):
    params = {**twilio_params(SPA_NUMBER), field: ""}

    response = post_sms(client, params)

    assert (response.status_code, response.json()["error"]) == (400, "missing_fields")
    assert field in response.json()["detail"]
    assert inbound_rows() == NOTHING


def test_json_is_not_what_twilio_sends(inbound, client, texting_spa):
    response = client.post(SMS_URL, {"From": CLINIC_NUMBER}, content_type="application/json")

    assert response.status_code == 415


def test_an_oversized_request_answers_413(inbound, client, texting_spa):
    response = post_sms(client, twilio_params(SPA_NUMBER, body="x" * 70_000))

    assert response.status_code == 413
    assert inbound_rows() == NOTHING


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_answered(inbound, client, method):
    assert getattr(client, method)(SMS_URL).status_code == 405


def test_a_server_without_a_twilio_token_answers_503(inbound, client, texting_spa, settings):
    settings.TWILIO_AUTH_TOKEN = ""

    response = post_sms(client, twilio_params(SPA_NUMBER))

    assert (response.status_code, response.json()["error"]) == (503, "not_configured")


# --- the spa's number (the operator's command) -------------------------------------------------------------------


def test_the_operator_assigns_shows_and_clears_a_spas_number(spa, capsys):
    call_command("inbound_sms_number", spa.slug, "(617) 555-0100")
    call_command("inbound_sms_number", spa.slug)
    call_command("inbound_sms_number", spa.slug, "--clear")

    out = capsys.readouterr().out.splitlines()
    assert out == [f"{spa.slug}: +16175550100.", "+16175550100", f"{spa.slug}: no referral text number."]
    assert audit_actions(spa) == ["referral_settings.sms_number_assigned"] * 2


def test_one_number_belongs_to_one_spa(spa, other_spa):
    from django.core.management.base import CommandError

    call_command("inbound_sms_number", spa.slug, "+16175550100")

    with pytest.raises(CommandError, match="another spa's referral text number"):
        call_command("inbound_sms_number", other_spa.slug, "617-555-0100")
    with pytest.raises(CommandError, match="Enter a phone number"):
        call_command("inbound_sms_number", other_spa.slug, "call me")
    with pytest.raises(CommandError, match="No spa"):
        call_command("inbound_sms_number", "no-such-spa", "+16175550100")


def test_a_spas_number_is_read_in_its_country(db):
    british = SpaFactory(country="GB")

    call_command("inbound_sms_number", british.slug, "020 7946 0958")

    with scope(spa=british):
        from referrals.inbound.selectors import sms_number_of

        assert sms_number_of(british) == "+442079460958"


def test_control_characters_in_the_fields_are_dropped_not_a_server_error(inbound, client, texting_spa):
    params = twilio_params(SPA_NUMBER, sender="+1617\x00555\x000142", body="Jane\x00 Doe", sid="SM\x00abc")

    response = post_sms(client, params)

    assert response.status_code == 200
    draft = _only_draft(texting_spa)
    assert (draft.sender, draft.body, draft.provider_message_id) == (CLINIC_NUMBER, "Jane Doe", "SMabc")
