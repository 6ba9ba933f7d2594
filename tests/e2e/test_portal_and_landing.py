"""Journeys on a phone: clinic staff join the partner portal and refer a patient; a patient scans a pad's code."""

import re

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from infra.models import OutgoingEmail
from partners.models import ReferralCode
from referrals.models import Channel, ConsentMethod, Referral, ReferralEvent, Status
from tests.e2e.conftest import DESKTOP, PHONE
from tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    OfferFactory,
    PortalAccessFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
    UserFactory,
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


def test_the_landing_page_on_a_phone_focuses_its_error_summary_after_a_failed_submit(
    phone_page, spa, dermatology, screenshot, axe, assert_no_horizontal_scroll
):
    spa.phone = "(617) 555-0100"
    spa.save(update_fields=["phone"])
    phone_page.goto("/r/km7qxz")

    # The two ways to get in touch are on the first screen (390×844), before any scrolling.
    ask = phone_page.get_by_role("link", name="Ask us to contact you")
    call = phone_page.get_by_role("link", name="Call us: (617) 555-0100")
    expect(ask).to_be_in_viewport(ratio=1)
    expect(call).to_be_in_viewport(ratio=1)
    assert call.get_attribute("href") == "tel:+1-617-555-0100"
    for target in (ask, call, phone_page.get_by_role("button", name="Send", exact=True)):
        assert target.bounding_box()["height"] >= 44
    assert axe(phone_page) == []

    # A patient taps Send with their first name and the consent box left out.
    ask.click()
    phone_page.get_by_label("Last name").fill("Lopez")
    phone_page.get_by_role("button", name="Send", exact=True).click()

    summary = phone_page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_contain_text("First name")
    # Its links lead to the fields.
    summary.get_by_role("link", name="First name").click()
    expect(phone_page.get_by_label("First name")).to_be_in_viewport()
    assert axe(phone_page) == []
    assert_no_horizontal_scroll(phone_page)
    summary.focus()
    phone_page.evaluate("() => document.querySelector('.error-summary').scrollIntoView({block: 'start'})")
    screenshot(phone_page, "landing-errors-phone")
    with scopes_disabled():
        assert not Referral.objects.exists()


def test_a_patient_types_the_code_from_the_card_when_the_link_was_wrong(
    phone_page, spa, dermatology, screenshot, assert_no_horizontal_scroll
):
    phone_page.goto("/r/KM7QX")
    expect(phone_page.get_by_role("heading", name="We couldn't find that referral code.")).to_be_visible()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "landing-unknown-code-phone")

    phone_page.get_by_label("Referral code").fill("km7 qxz")
    phone_page.get_by_role("button", name="Open my referral").click()

    expect(phone_page.get_by_role("heading", name="Welcome!")).to_be_visible()
    assert phone_page.url.endswith("/r/KM7QXZ")


@pytest.fixture
def front_desk(spa, dermatology):
    user = UserFactory(email=FRONT_DESK, full_name="Frida Frontdesk")
    with scope(spa=spa):
        PortalAccessFactory(spa=spa, practice=dermatology, user=user)
    return user


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_portal_shows_back_what_was_sent_takes_more_information_and_a_withdrawal(
    new_page, login, spa, owner, dermatology, front_desk, screenshot, axe, assert_no_horizontal_scroll, viewport
):
    suffix = "-phone" if viewport == PHONE else ""
    page = new_page(viewport=viewport)
    login(page, FRONT_DESK, TEST_PASSWORD)
    page.goto(f"/portal/{spa.slug}/referrals/new/")

    # The referring clinician comes first.
    first_field = page.locator("form.portal-form select, form.portal-form input:not([type=hidden])").first
    expect(first_field).to_have_attribute("name", "clinician")
    page.get_by_label("Referring clinician").select_option(label="Dana Derm, MD")
    page.get_by_label("Patient's first name").fill("Grace")
    page.get_by_label("Patient's last name").fill("Hopper")
    page.get_by_label("Patient's date of birth (optional)").fill("1961-04-12")
    page.get_by_role("button", name="Send referral").click()

    # Every problem at once: the missing phone-or-email together with the reason and the consent.
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Give a phone number or an email")
    expect(summary).to_contain_text("Reason for referral")
    expect(summary).to_contain_text("Patient's agreement")
    assert_no_horizontal_scroll(page)
    screenshot(page, f"portal-form-errors{suffix}")

    page.get_by_label("Patient's phone").fill("(617) 555-0142")
    page.get_by_label("Reason for referral").select_option(label="Post-procedure skin care")
    page.get_by_label("Calming post-peel facial").check()
    page.get_by_label("Precautions / contraindications").fill("Recent chemical peel")
    page.get_by_label("Anything the spa should know").fill("Prefers afternoons")
    page.get_by_label("The patient agreed to be contacted by Serene Test Spa").check()
    assert axe(page) == []
    screenshot(page, f"portal-form{suffix}")
    page.get_by_role("button", name="Send referral").click()
    page.get_by_role("link", name="Follow its status").click()

    # What the clinic sent, back on the referral's page, and when the spa will call.
    sent = page.locator("#portal-sent")
    for shown in ("Dana Derm, MD", "Post-procedure skin care", "Calming post-peel facial", "Recent chemical peel"):
        expect(sent).to_contain_text(shown)
    expect(sent).to_contain_text("Prefers afternoons")
    expect(sent).to_contain_text("April 12, 1961")
    expect(page.locator("#portal-next-step")).to_contain_text("Serene Test Spa will contact the patient by")

    # The clinic adds information; the spa sees it on its timeline.
    page.get_by_label("Add information for the spa").fill("Mobile changed: (617) 555-0188")
    page.get_by_role("button", name="Add to the referral").click()
    expect(page.get_by_role("alert").first).to_contain_text("Added.")
    expect(page.locator("#portal-timeline")).to_contain_text("Mobile changed: (617) 555-0188")
    assert axe(page) == []
    assert_no_horizontal_scroll(page)
    screenshot(page, f"portal-referral{suffix}")

    # Withdrawing asks first, in the page's own dialog.
    page.get_by_label("Why are you withdrawing it? (optional)").fill("Sent to the wrong spa")
    page.get_by_role("button", name="Withdraw referral").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Withdraw the referral for Grace Hopper?")
    dialog.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_role("alert").first).to_contain_text("Referral withdrawn.")
    expect(page.locator(".pstatus")).to_have_text("Withdrawn by the practice")
    expect(page.get_by_role("button", name="Withdraw referral")).to_have_count(0)
    screenshot(page, f"portal-referral-withdrawn{suffix}")

    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
        assert referral.status == Status.WITHDRAWN
        assert ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.PRACTICE_NOTE).count() == 1
        assert OutgoingEmail.objects.filter(to=owner.email, template="referral-practice-update").count() == 2

    # The spa's page says who took it back.
    spa_page = new_page()
    login(spa_page, owner.email, TEST_PASSWORD)
    spa_page.goto(f"/s/{spa.slug}/referrals/{referral.public_id}/")
    expect(spa_page.locator("#referral-timeline")).to_contain_text("Information from Brookline Dermatology")
    expect(spa_page.locator("#referral-timeline")).to_contain_text("Withdrawn by the practice")


def test_the_landing_page_at_desktop_width_passes_axe(page, spa, dermatology, screenshot, axe):
    spa.phone = "(617) 555-0100"
    spa.save(update_fields=["phone"])
    page.goto("/r/KM7QXZ")

    expect(page.get_by_role("link", name="Ask us to contact you")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("link", name="Call us: (617) 555-0100")).to_be_in_viewport(ratio=1)
    assert axe(page) == []
    screenshot(page, "landing-desktop")
