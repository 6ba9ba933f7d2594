"""Phone numbers on a referral's page: shown nationally, dialled whole, and a call preference without a number."""

import pytest

from .spa_helpers import make_referral, page_text, url

MISSING_CALL = "Prefers a phone call, but no phone number was given."
MISSING_TEXT = "Prefers a text message, but no phone number was given."


def detail(client, referral):
    response = client.get(url("detail", referral.spa, referral.public_id))
    assert response.status_code == 200
    return page_text(response)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+16175550123;ext=12", '<a href="tel:+1-617-555-0123;ext=12">(617) 555-0123 ext. 12</a>'),
        ("+442079460958", '<a href="tel:+44-20-7946-0958">+44 20 7946 0958</a>'),
        ("617.555.0142", '<a href="tel:+1-617-555-0142">(617) 555-0142</a>'),  # typed before validation
        ("call me", "call me"),  # not a number: shown as it was stored, with nothing to dial
    ],
)
def test_the_patients_phone_is_shown_the_way_people_read_it(owner_client, spa, stored, shown):
    referral = make_referral(spa, patient_phone=stored)

    page = detail(owner_client, referral)

    assert shown in page
    assert 'href="tel:call' not in page


def test_a_spa_abroad_sees_its_own_numbers_nationally(owner_client, spa):
    spa.country = "GB"
    spa.save()
    referral = make_referral(spa, patient_phone="+442079460958")

    assert '<a href="tel:+44-20-7946-0958">020 7946 0958</a>' in detail(owner_client, referral)


def test_a_patient_who_prefers_a_call_but_gave_no_phone_is_flagged(owner_client, spa):
    referral = make_referral(spa, patient_phone="", patient_email="rosa@example.com", preferred_contact_method="phone")

    page = detail(owner_client, referral)

    assert MISSING_CALL in page
    assert "Write to the patient by email to ask for a number" in page


def test_a_patient_who_prefers_texts_but_gave_no_phone_is_flagged(owner_client, spa):
    referral = make_referral(spa, patient_phone="  ", patient_email="", preferred_contact_method="text")

    page = detail(owner_client, referral)

    assert MISSING_TEXT in page
    assert "Ask the referring office for a number." in page


@pytest.mark.parametrize(
    ("phone", "method"),
    [("+16175550123", "phone"), ("+16175550123", "text"), ("", "email")],
)
def test_no_flag_when_the_preference_can_be_met(owner_client, spa, phone, method):
    referral = make_referral(
        spa, patient_phone=phone, patient_email="rosa@example.com", preferred_contact_method=method
    )

    page = detail(owner_client, referral)

    assert MISSING_CALL not in page and MISSING_TEXT not in page
