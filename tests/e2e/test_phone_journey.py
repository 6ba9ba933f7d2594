"""Phone numbers in the browser: a patient's vanity number is refused beside the field on a phone, and a referral
whose patient wants a call but gave no number is flagged on its page."""

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from referrals.models import Referral
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralCodeFactory, ReferralFactory

pytestmark = pytest.mark.browser


def test_a_patient_typing_a_vanity_number_is_told_to_use_digits(phone_page, spa, screenshot):
    practice = PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="PH0NE7")

    phone_page.goto("/r/ph0ne7")
    phone_page.get_by_label("First name").fill("Maya")
    phone_page.get_by_label("Last name").fill("Lopez")
    phone_field = phone_page.get_by_label("Phone", exact=True)
    assert phone_field.get_attribute("type") == "tel"
    assert phone_field.get_attribute("autocomplete") == "tel"
    phone_field.fill("617-CALL-NOW")
    phone_page.get_by_label("I agree that Serene Test Spa may contact me", exact=False).check()
    phone_page.get_by_role("button", name="Send", exact=True).click()

    expect(phone_page.locator("#id_patient_phone_error")).to_have_text(
        "Enter the phone number in digits, such as (617) 555-0123."
    )
    expect(phone_field).to_have_value("617-CALL-NOW")  # shown back as typed, not turned into digits
    with scopes_disabled():
        assert not Referral.objects.filter(spa=spa).exists()
    phone_page.locator("#id_patient_phone").scroll_into_view_if_needed()
    screenshot(phone_page, "landing-phone-error-phone")

    phone_field = phone_page.get_by_label("Phone", exact=True)
    phone_field.fill("(617) 555-0123 x12")
    phone_page.get_by_label("I agree that Serene Test Spa may contact me", exact=False).check()
    phone_page.get_by_role("button", name="Send", exact=True).click()
    expect(phone_page.get_by_role("heading", name="Thank you!")).to_be_visible()
    with scopes_disabled():
        assert Referral.objects.get(spa=spa).patient_phone == "+16175550123;ext=12"


def test_a_referral_wanting_a_call_without_a_number_is_flagged(page, login, owner, spa, screenshot):
    with scope(spa=spa):
        referral = ReferralFactory(
            spa=spa,
            practice=PracticeFactory(spa=spa, name="Back Bay Physical Therapy", specialty="physical_therapy"),
            patient_first_name="Rosa",
            patient_last_name="Delgado",
            patient_phone="",
            patient_email="rosa.delgado@example.com",
            preferred_contact_method="phone",
        )

    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/{referral.public_id}/")

    expect(page.locator(".missing-phone")).to_contain_text("Prefers a phone call, but no phone number was given.")
    screenshot(page, "referral-missing-phone")
