"""The patient landing page behind a referral pad's QR code: /r/<code>."""

import re

import pytest
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from referrals.intake.submissions import submission_token_new
from referrals.models import Channel, ConsentMethod, Referral
from tests.rendered_emails import rendered

from ..factories import ClinicianFactory, OfferFactory, ReferralCodeFactory, ServiceFactory
from .portal_helpers import field_error, page_text

PATIENT_IP = "203.0.113.7"


@pytest.fixture
def practice_code(spa, practice_a):
    with scope(spa=spa):
        return ReferralCodeFactory(spa=spa, practice=practice_a, code="KM7QXZ")


@pytest.fixture
def clinician(spa, practice_a):
    return ClinicianFactory(spa=spa, practice=practice_a, first_name="Dana", last_name="Derm", credentials="MD")


@pytest.fixture
def clinician_code(spa, practice_a, clinician):
    with scope(spa=spa):
        return ReferralCodeFactory(spa=spa, practice=practice_a, clinician=clinician, code="DN4RMA")


def landing_url(code):
    return reverse("public:landing", args=[code])


def patient_form(**overrides):
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
        "submission_token": submission_token_new(),  # what the rendered page carries
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def referrals_in(spa):
    with scope(spa=spa):
        return list(Referral.objects.filter(spa=spa))


def submit(client, code="KM7QXZ", ip=PATIENT_IP, **overrides):
    return client.post(landing_url(code), patient_form(**overrides), REMOTE_ADDR=ip)


# --- what the patient sees ----------------------------------------------------------------------


def test_the_page_shows_the_spas_branding_the_referring_practice_the_offer_and_suited_services(
    client, spa, practice_code
):
    spa.brand_colour = "#7a2a55"
    spa.phone = "(617) 555-0100"
    spa.save()
    OfferFactory(spa=spa, title="20% off your first facial", specialties=["dermatology"])
    OfferFactory(spa=spa, title="Free prenatal upgrade", specialties=["ob_gyn"])
    ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"])
    ServiceFactory(spa=spa, name="Prenatal massage", specialties=["ob_gyn"])

    response = client.get(landing_url("KM7QXZ"))

    text = page_text(response)
    assert response.status_code == 200
    assert "Serene Test Spa" in text
    assert "--brand: #7a2a55" in text
    assert "Brookline Dermatology referred you to Serene Test Spa." in text
    assert "20% off your first facial" in text
    assert "Free prenatal upgrade" not in text
    assert "Calming post-peel facial" in text
    assert "Prenatal massage" not in text
    assert "(617) 555-0100" in text
    for field in ("patient_first_name", "patient_last_name", "patient_phone", "patient_email", "consent_to_contact"):
        assert f'name="{field}"' in text
    assert "Privacy notice" in text
    assert "We use it only to contact you about this referral" in text


def test_a_clinician_code_names_the_clinician_too(client, clinician_code):
    text = page_text(client.get(landing_url("DN4RMA")))

    assert "Dana Derm, MD at Brookline Dermatology referred you to Serene Test Spa." in text


def test_codes_are_read_case_insensitively_with_or_without_a_trailing_slash(client, practice_code):
    assert client.get(landing_url("km7qxz")).status_code == 200
    assert client.get("/r/Km7QxZ/").status_code == 200


def test_the_honeypot_is_hidden_by_a_css_class_not_an_inline_style(client, practice_code):
    text = page_text(client.get(landing_url("KM7QXZ")))

    assert '<div class="hp-field" aria-hidden="true">' in text
    assert 'name="homepage"' in text
    assert 'tabindex="-1"' in text


def test_an_unknown_code_gets_a_friendly_404(client, db):
    response = client.get(landing_url("NOPE99"))

    assert response.status_code == 404
    assert "We couldn't find that referral code." in page_text(response)
    assert "check the code on your referral card" in page_text(response)


def test_an_unknown_code_cannot_be_posted_to(client, db):
    response = client.post(landing_url("NOPE99"), patient_form(), REMOTE_ADDR=PATIENT_IP)

    assert response.status_code == 404


def test_a_code_of_another_spa_shows_that_spa_only(client, spa, other_spa, practice_code):
    from ..factories import PracticeFactory

    with scope(spa=other_spa):
        elsewhere = PracticeFactory(spa=other_spa, name="Outsider Dermatology")
        ReferralCodeFactory(spa=other_spa, practice=elsewhere, code="ZZ9TQA")

    text = page_text(client.get(landing_url("ZZ9TQA")))

    assert "Outsider Wellness" in text
    assert "Serene Test Spa" not in text
    assert "Brookline" not in text


# --- submitting ----------------------------------------------------------------------------------


def test_a_patient_refers_themselves_and_the_referral_is_attributed_to_the_practice(
    client, spa, owner, practice_a, practice_code, outbox_rows
):
    response = submit(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("public:landing_thanks", args=["KM7QXZ"])
    [referral] = referrals_in(spa)
    assert referral.practice == practice_a
    assert referral.clinician is None
    assert referral.channel == Channel.LANDING
    assert referral.patient_name == "Maya Lopez"
    assert referral.patient_phone == "+16175550123"  # stored in E.164
    assert referral.preferred_contact_time == "After 5pm"
    assert referral.reason_category == "sensitive_skin"
    assert referral.consent_to_contact is True
    assert referral.consent_method == ConsentMethod.PATIENT_ONLINE
    assert "KM7QXZ" in referral.consent_captured_by
    [notification] = map(rendered, outbox_rows(to=owner.email, template="referral-new"))
    assert "New referral from" in notification.subject
    assert "Maya" not in notification.subject + notification.body_text + notification.body_html
    with scope(spa=spa):
        created = AuditEvent.objects.get(action="referral.created")
    assert created.ip_address == PATIENT_IP
    assert created.actor is None


def test_a_clinician_code_attributes_the_referral_to_the_clinician(client, spa, clinician, clinician_code):
    submit(client, code="DN4RMA")

    [referral] = referrals_in(spa)
    assert referral.clinician == clinician


def test_the_thank_you_page_carries_no_patient_data(client, spa, practice_code):
    response = submit(client, code="km7qxz")

    assert "Maya" not in response["Location"] and "Lopez" not in response["Location"]
    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you!" in page_text(thanks)
    assert "Serene Test Spa will contact you within 2 business days" in page_text(thanks)
    assert "Maya" not in page_text(thanks)


def test_the_reason_is_optional(client, spa, practice_code):
    submit(client, reason_category="")

    [referral] = referrals_in(spa)
    assert referral.reason_category == "other"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"consent_to_contact": None}, "consent_to_contact", "Tick the box so we may contact you about your referral."),
        ({"patient_first_name": ""}, "patient_first_name", "This field is required."),
        (
            {"preferred_contact_method": "email", "patient_email": ""},
            "patient_email",
            "Give your email so we can write to you.",
        ),
        ({"preferred_contact_method": "text", "patient_phone": ""}, "patient_phone", "Give your phone number"),
        ({"reason_category": "prenatal_comfort"}, "reason_category", "Select a valid choice."),
        ({"patient_last_name": "L" * 81}, "patient_last_name", "Ensure this value has at most 80 characters"),
        ({"preferred_contact_time": "t" * 81}, "preferred_contact_time", "at most 80 characters"),
    ],
)
def test_missing_or_wrong_input_is_shown_beside_the_field_and_nothing_is_stored(
    client, spa, practice_code, outbox_rows, overrides, field, message
):
    response = submit(client, **overrides)

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
def test_a_phone_that_is_not_a_number_is_refused_with_an_example_and_nothing_is_stored(
    client, spa, practice_code, outbox_rows, typed, message
):
    response = submit(client, patient_phone=typed)

    assert response.status_code == 400
    assert field_error(response, "patient_phone") == message
    assert referrals_in(spa) == []
    assert outbox_rows(template="referral-new") == []


def test_the_phone_field_is_a_tel_input_that_the_browser_can_fill(client, practice_code):
    text = page_text(client.get(landing_url("KM7QXZ")))

    field = re.search(r'<input[^>]*name="patient_phone"[^>]*>', text).group(0)
    assert 'type="tel"' in field and 'autocomplete="tel"' in field and 'inputmode="tel"' in field


def test_a_phone_is_read_in_the_spas_country(client, spa, practice_code):
    spa.country = "GB"
    spa.save()

    response = submit(client, patient_phone="020 7946 0958")

    assert response.status_code == 302
    assert [referral.patient_phone for referral in referrals_in(spa)] == ["+442079460958"]


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(client, spa, practice_code, outbox_rows):
    response = submit(client, homepage="http://spam.example")

    assert response.status_code == 302
    assert response["Location"] == reverse("public:landing_thanks", args=["KM7QXZ"])
    assert referrals_in(spa) == []
    assert outbox_rows(template="referral-new") == []
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="referral.created").exists()


# --- the per-IP limit ------------------------------------------------------------------------------


def test_a_sixth_submission_from_one_address_within_the_hour_is_refused_politely(client, spa, practice_code):
    for number in range(5):
        assert submit(client, patient_first_name=f"Maya{number}").status_code == 302

    response = submit(client, patient_first_name="Sixth")

    assert response.status_code == 429
    assert "Please try again a little later" in page_text(response)
    assert len(referrals_in(spa)) == 5
    assert "Sixth" not in {referral.patient_first_name for referral in referrals_in(spa)}


def test_the_limit_is_per_address(client, spa, practice_code):
    for number in range(5):
        submit(client, patient_first_name=f"Maya{number}")

    assert submit(client, ip="198.51.100.20").status_code == 302
    assert len(referrals_in(spa)) == 6


def test_typos_do_not_use_up_the_allowance(client, spa, practice_code):
    for _ in range(6):
        assert submit(client, consent_to_contact=None).status_code == 400

    assert submit(client).status_code == 302


def test_honeypot_submissions_count_against_the_limit(client, spa, practice_code):
    for _ in range(5):
        submit(client, homepage="spam")

    assert submit(client).status_code == 429
    assert referrals_in(spa) == []


def test_the_page_can_still_be_read_after_the_limit(client, practice_code):
    for number in range(5):
        submit(client, patient_first_name=f"Maya{number}")

    assert client.get(landing_url("KM7QXZ"), REMOTE_ADDR=PATIENT_IP).status_code == 200
