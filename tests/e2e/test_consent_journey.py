"""Closing the loop with the patient's permission, end to end: a patient self-refers and signs the
authorization on her phone → the spa completes the referral → writes and shares an outcome report → the
clinic's front desk reads it in the portal → the patient withdraws her permission through the link in her
confirmation email → the clinic can no longer see the report."""

import datetime
import re

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from referrals.models import Authorization, OutcomeDelivery, Referral
from referrals.services import referral_create
from tests.factories import (
    TEST_PASSWORD,
    PortalAccessFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PRACTICE_NAME = "Brookline Dermatology"
FRONT_DESK = "frida.frontdesk@brookline-derm.example"
PATIENT_EMAIL = "maya.lopez@patients.example"
OBSERVATION = "Redness settled after the second session; skin tolerated the enzyme peel well."


@pytest.fixture
def dermatology(spa):
    practice = PracticeFactory(spa=spa, name=PRACTICE_NAME, specialty="dermatology")
    ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"])
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=practice, code="KM7QXZ")
    return practice


@pytest.fixture
def front_desk(dermatology):
    user = UserFactory(email=FRONT_DESK, full_name="Frida Frontdesk")
    with scope(spa=dermatology.spa):
        PortalAccessFactory(spa=dermatology.spa, practice=dermatology, user=user)
    return user


def _work_the_referral_to_completion(desk):
    desk.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("status")).to_have_text("Referral accepted.")
    desk.get_by_label("What happened?").select_option(label="Reached the patient")
    desk.get_by_role("button", name="Log attempt").click()
    expect(desk.get_by_role("status")).to_have_text("Contact attempt logged.")
    appointment_day = timezone.localdate() + datetime.timedelta(days=3)
    desk.get_by_label("Appointment (date and time)").fill(f"{appointment_day:%Y-%m-%d}T10:30")
    desk.get_by_label("Service").select_option(label="Calming post-peel facial")
    desk.get_by_role("button", name="Save appointment").click()
    expect(desk.get_by_role("status")).to_have_text("Appointment saved.")
    desk.get_by_role("button", name="Mark completed").click()
    expect(desk.get_by_role("status")).to_have_text("Marked completed.")


def test_a_shared_outcome_report_disappears_from_the_portal_when_the_patient_withdraws_permission(
    new_page,
    login,
    spa,
    owner,
    dermatology,
    front_desk,
    email_link,
    screenshot,
    assert_no_horizontal_scroll,
):
    # 1. The patient scans the pad, refers herself and signs the authorization to share outcomes.
    patient = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    patient.goto("/r/KM7QXZ")
    patient.get_by_label("First name").fill("Maya")
    patient.get_by_label("Last name").fill("Lopez")
    patient.get_by_label("Phone", exact=True).fill("(617) 555-0123")
    patient.get_by_role("textbox", name="Email").fill(PATIENT_EMAIL)
    patient.get_by_label(re.compile(f"I agree that {spa.name} may contact me")).check()
    patient.get_by_text("Read the authorization").click()
    expect(patient.locator("#consent-text")).to_contain_text("My right to revoke")
    patient.get_by_label(re.compile("I sign the authorization above")).check()
    patient.get_by_label("Your full name, as your signature").fill("Maya Lopez")
    assert_no_horizontal_scroll(patient)
    patient.get_by_role("button", name="Send", exact=True).click()
    expect(patient.get_by_role("heading", name="Thank you!")).to_be_visible()

    # 2. The spa works the referral to completion; the authorization shows as valid on its page.
    desk = new_page()
    login(desk, owner.email, TEST_PASSWORD)
    desk.goto(f"/s/{spa.slug}/referrals/")
    desk.get_by_role("link", name="Maya Lopez", exact=True).click()
    consent_card = desk.locator("#authorizations")
    expect(consent_card).to_contain_text("Valid")
    expect(consent_card).to_contain_text("Contact and outcome sharing")
    _work_the_referral_to_completion(desk)

    # 3. She writes the outcome report and shares it with the referring office.
    desk.get_by_role("link", name="Write or update the outcome report").click()
    expect(desk.get_by_role("heading", name="Outcome report", level=1)).to_be_visible()
    desk.get_by_label("Calming post-peel facial").check()
    desk.get_by_label("Number of sessions").fill("2")
    desk.get_by_label("Observations").fill(OBSERVATION)
    desk.get_by_label("Recommendations and next steps").fill("A calming facial monthly.")
    desk.get_by_label("Skin response").select_option(label="Improved")
    desk.get_by_role("button", name="Save draft").click()
    expect(desk.get_by_text("Outcome report saved as a draft.")).to_be_visible()
    desk.get_by_role("button", name=f"Share with {PRACTICE_NAME}").click()
    expect(desk.get_by_text("Outcome report queued for delivery")).to_be_visible()
    expect(desk.locator("#outcome-deliveries")).to_contain_text("Version 1: Delivered")
    screenshot(desk, "outcome-report-shared")

    # 4. The clinic's front desk reads it in the portal, on her phone.
    clinic = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    login(clinic, FRONT_DESK, TEST_PASSWORD)
    clinic.get_by_role("link", name="Outcome reports").click()
    clinic.locator("#portal-outcomes").get_by_role("link", name=re.compile("Maya Lopez")).click()
    expect(clinic.locator("main")).to_contain_text(OBSERVATION)
    expect(clinic.locator("main")).to_contain_text("Improved")
    report_url = clinic.url
    assert_no_horizontal_scroll(clinic)
    screenshot(clinic, "portal-outcome-report")

    # 5. The patient withdraws her permission through the link in her confirmation email.
    patient.goto(email_link(PATIENT_EMAIL))
    expect(patient.get_by_role("heading", name="Your authorization to share information")).to_be_visible()
    patient.get_by_role("button", name="Withdraw my permission").click()
    expect(patient.get_by_role("heading", name="Your permission is withdrawn.")).to_be_visible()
    screenshot(patient, "consent-withdrawn")

    # 6. The report is gone from the clinic's portal: the page answers "not found", the list is empty.
    response = clinic.goto(report_url)
    assert response.status == 404
    clinic.goto(f"/portal/{spa.slug}/outcomes/")
    expect(clinic.get_by_text("No outcome reports have been shared with your office yet.")).to_be_visible()

    with scopes_disabled():
        authorization = Authorization.objects.get(spa=spa)
        assert authorization.revocation_channel == "patient_link"
        assert OutcomeDelivery.objects.filter(spa=spa, status="delivered").count() == 1


def test_an_owner_exports_and_erases_a_patient_from_the_referral_page(
    new_page, login, spa, owner, dermatology, screenshot
):
    with scope(spa=spa):
        for phone in ("(617) 555-0123", "617.555.0123"):
            referral = referral_create(
                spa=spa,
                practice=dermatology,
                channel="phone",
                consent_method="verbal",
                consent_captured_by="Front desk",
                notify=False,
                patient={"patient_first_name": "Maya", "patient_last_name": "Lopez", "patient_phone": phone},
                details={"reason_text": "Rosacea flare"},
            )
    desk = new_page()
    login(desk, owner.email, TEST_PASSWORD)
    desk.goto(f"/s/{spa.slug}/referrals/{referral.public_id}/")
    desk.get_by_role("link", name="Export or erase").click()
    expect(desk.get_by_role("heading", name="Export or erase this patient's information")).to_be_visible()
    expect(desk.locator("tbody tr")).to_have_count(2)
    expect(desk.locator("tbody")).to_contain_text("Same phone number")
    screenshot(desk, "patient-rights")

    with desk.expect_download() as download_info:
        desk.get_by_role("button", name="Download PDF (readable)").click()
    assert download_info.value.suggested_filename.endswith(".pdf")

    desk.get_by_role("button", name="Erase for good").click()  # without confirming: refused beside the box
    expect(desk.get_by_text("Tick the box to confirm: erasing cannot be undone.")).to_be_visible()
    desk.get_by_label("How the patient asked").select_option(label="By phone")
    desk.get_by_label("I understand this cannot be undone").check()
    desk.get_by_role("button", name="Erase for good").click()
    expect(desk.get_by_text("The patient's health information was erased from 2 referrals.")).to_be_visible()
    expect(desk.get_by_text("The patient's health information was erased on")).to_be_visible()
    with scopes_disabled():
        assert not Referral.objects.filter(patient_last_name="Lopez").exists()
