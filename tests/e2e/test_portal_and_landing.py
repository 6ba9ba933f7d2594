"""Journeys on a phone: clinic staff join the partner portal and refer a patient; a patient scans a pad's code."""

import re

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from partners.models import ReferralCode
from referrals.models import Channel, ConsentMethod, Referral
from tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    OfferFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.browser

FRONT_DESK = "frida.frontdesk@brookline-derm.example"


@pytest.fixture
def dermatology(spa):
    practice = PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")
    ClinicianFactory(spa=spa, practice=practice, first_name="Dana", last_name="Derm", credentials="MD")
    ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"])
    ServiceFactory(spa=spa, name="LED skin therapy", specialties=["dermatology"])
    OfferFactory(spa=spa, title="20% off your first facial", terms="For referred patients, first visit only.")
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ")
    return practice


def test_clinic_staff_join_the_portal_by_email_code_and_refer_a_patient_from_a_phone(
    page, new_page, login, owner, spa, dermatology, screenshot, email_link, email_code, assert_no_horizontal_scroll
):
    # The spa's owner invites the front desk from the practice's page.
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/{dermatology.public_id}/")
    panel = page.locator("#partner-portal")
    panel.get_by_label("Email of the clinic staff member").fill(FRONT_DESK)
    panel.get_by_role("button", name="Send portal invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Portal invitation sent to {FRONT_DESK}.")
    expect(page.locator(f'[data-portal-invitation="{FRONT_DESK}"]')).to_be_visible()
    screenshot(page, "practice-portal-panel")

    # On her phone she follows the emailed link and signs in with a one-time code: no password.
    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(email_link(FRONT_DESK, subject_contains="partner portal"))
    expect(phone.get_by_role("heading", name=f"Join the {spa.name} partner portal")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "portal-invitation")
    phone.get_by_role("button", name="Email me a sign-in code").click()
    phone.get_by_label("Code").fill(email_code(FRONT_DESK, subject_contains="Sign-In Code"))
    phone.get_by_role("button", name="Confirm").click()
    phone.get_by_role("button", name="Accept invitation").click()

    expect(phone).to_have_url(re.compile(rf"/portal/{spa.slug}/$"))
    expect(phone.get_by_role("alert")).to_contain_text("Welcome to the Serene Test Spa partner portal")
    expect(phone.get_by_text("Partner portal · Brookline Dermatology")).to_be_visible()
    expect(phone.get_by_text("No referrals yet.")).to_be_visible()
    assert_no_horizontal_scroll(phone)

    # She refers a patient in a few taps.
    phone.locator("header").get_by_role("link", name="Refer a patient").click()
    expect(phone.get_by_role("heading", name="Refer a patient")).to_be_visible()
    phone.get_by_label("Patient's first name").fill("Grace")
    phone.get_by_label("Patient's last name").fill("Hopper")
    phone.get_by_label("Patient's phone").fill("(617) 555-0142")
    phone.get_by_label("Reason for referral").select_option(label="Post-procedure skin care")
    phone.get_by_label("Calming post-peel facial").check()
    phone.get_by_label("Referring clinician").select_option(label="Dana Derm, MD")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "portal-form")
    phone.get_by_role("button", name="Send referral").click()

    # Without the attestation nothing is sent, and the reason sits beside the checkbox.
    expect(phone.locator("#id_patient_agreed_error")).to_contain_text("Confirm that the patient agreed")
    phone.get_by_label("The patient agreed to be contacted by Serene Test Spa").check()
    phone.get_by_role("button", name="Send referral").click()

    expect(phone.get_by_role("heading", name="Referral sent")).to_be_visible()
    expect(phone.get_by_text("will contact the patient within 2 business days")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "portal-sent")
    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
    assert referral.channel == Channel.PORTAL
    assert referral.practice == dermatology
    assert referral.consent_method == ConsentMethod.CLINIC_ATTESTATION
    assert FRONT_DESK in referral.consent_captured_by

    phone.get_by_role("link", name="Follow its status").click()
    expect(phone.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(phone.locator("#portal-timeline")).to_contain_text("Received")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "portal-status")
    phone.get_by_role("link", name="All referrals").click()
    expect(phone.locator("#portal-referrals")).to_contain_text("Grace Hopper")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, "portal-home")


def test_a_patient_scans_the_pad_and_asks_to_be_contacted(
    phone_page, spa, dermatology, screenshot, assert_no_horizontal_scroll
):
    phone_page.goto("/r/km7qxz")
    expect(phone_page.get_by_role("heading", name="Welcome!")).to_be_visible()
    expect(phone_page.get_by_text("Brookline Dermatology referred you to Serene Test Spa.")).to_be_visible()
    expect(phone_page.get_by_text("20% off your first facial")).to_be_visible()
    expect(phone_page.locator("#landing-services")).to_contain_text("Calming post-peel facial")
    # The honeypot is in the form but nobody sees it.
    expect(phone_page.locator("input[name=homepage]")).not_to_be_in_viewport()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "landing")

    phone_page.get_by_label("First name").fill("Maya")
    phone_page.get_by_label("Last name").fill("Lopez")
    phone_page.get_by_label("Phone", exact=True).fill("(617) 555-0123")
    phone_page.get_by_label("Text message").check()
    phone_page.get_by_label("Best time to reach you").fill("After 5pm")
    phone_page.get_by_label(re.compile("I agree that Serene Test Spa may contact me")).check()
    phone_page.get_by_role("button", name="Send", exact=True).click()

    expect(phone_page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert "Maya" not in phone_page.url
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "landing-thanks")
    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
        code = ReferralCode.objects.get(code="KM7QXZ")
    assert referral.practice == dermatology == code.practice
    assert referral.channel == Channel.LANDING
    assert referral.consent_method == ConsentMethod.PATIENT_ONLINE
    assert referral.preferred_contact_method == "text"
    assert referral.patient_name == "Maya Lopez"
