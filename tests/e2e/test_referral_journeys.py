"""A referral's two ways in, end to end: clinic staff send one from the partner portal and the spa works it
to completion while the clinic watches its status; a patient scans a pad's code and lands in the spa's inbox."""

import datetime
import re

import pytest
from django.utils import dateformat, timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from referrals.models import Channel, Referral, ReferralEvent, Status
from tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    PortalAccessFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
FRONT_DESK = "frida.frontdesk@brookline-derm.example"
PRACTICE_NAME = "Brookline Dermatology"
ATTEMPT_NOTE = "Spoke with her at lunch; she asked for a Saturday morning."
INTERNAL_NOTE = "Internal only: patient mentioned a latex allergy, use the nitrile gloves."


@pytest.fixture
def dermatology(spa):
    practice = PracticeFactory(spa=spa, name=PRACTICE_NAME, specialty="dermatology")
    ClinicianFactory(spa=spa, practice=practice, first_name="Dana", last_name="Derm", credentials="MD")
    ServiceFactory(spa=spa, name="Calming post-peel facial", specialties=["dermatology"])
    ServiceFactory(spa=spa, name="LED skin therapy", specialties=["dermatology"])
    return practice


@pytest.fixture
def front_desk(dermatology):
    user = UserFactory(email=FRONT_DESK, full_name="Frida Frontdesk")
    with scope(spa=dermatology.spa):
        PortalAccessFactory(spa=dermatology.spa, practice=dermatology, user=user)
    return user


def _inbox_row(page, patient_name):
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=patient_name, exact=True))


def _expect_status(page, label):
    """Both badges on a referral's page (the heading's and the panel's) say ``label``."""
    expect(page.locator("#referral-heading").get_by_text(label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Status\b"))).to_have_text(f"Status {label}")


def test_clinic_staff_refer_a_patient_and_follow_it_until_the_spa_completes_it(
    phone_page, new_page, login, spa, owner, dermatology, front_desk, screenshot, assert_no_horizontal_scroll
):
    # The front desk signs in on her phone and lands in her practice's portal.
    clinic = phone_page
    login(clinic, FRONT_DESK, TEST_PASSWORD)
    expect(clinic).to_have_url(re.compile(rf"/portal/{spa.slug}/$"))
    expect(clinic.get_by_text(f"Partner portal · {PRACTICE_NAME}")).to_be_visible()

    # She refers a patient with the quick form.
    clinic.locator("header").get_by_role("link", name="Refer a patient").click()
    clinic.get_by_label("Patient's first name").fill("Grace")
    clinic.get_by_label("Patient's last name").fill("Hopper")
    clinic.get_by_label("Patient's phone").fill("(617) 555-0142")
    clinic.get_by_label("Reason for referral").select_option(label="Post-procedure skin care")
    clinic.get_by_label("Calming post-peel facial").check()
    clinic.get_by_label("Referring clinician").select_option(label="Dana Derm, MD")
    clinic.get_by_label(f"The patient agreed to be contacted by {spa.name}").check()
    assert_no_horizontal_scroll(clinic)
    clinic.get_by_role("button", name="Send referral").click()
    expect(clinic.get_by_role("heading", name="Referral sent")).to_be_visible()
    expect(clinic.get_by_text(f"{spa.name} will contact the patient within")).to_be_visible()

    # The spa's owner, at her desk, finds it in the inbox, attributed to the practice.
    desk = new_page()
    desk.on("dialog", lambda dialog: dialog.accept())
    login(desk, owner.email, TEST_PASSWORD)
    desk.locator("nav").get_by_role("link", name="Referrals").click()
    expect(desk).to_have_url(re.compile(rf"/s/{spa.slug}/referrals/$"))
    row = _inbox_row(desk, "Grace Hopper")
    expect(row).to_contain_text(PRACTICE_NAME)
    expect(row).to_contain_text("Dana Derm, MD")
    expect(row).to_contain_text("Partner portal")
    expect(row).to_contain_text("Received")
    screenshot(desk, "inbox")

    row.get_by_role("link", name="Grace Hopper").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(desk.get_by_text(f"from {PRACTICE_NAME}, received")).to_be_visible()
    _expect_status(desk, "Received")

    # Accept.
    desk.get_by_role("button", name="Accept").click()
    expect(desk.get_by_role("status")).to_have_text("Referral accepted.")
    _expect_status(desk, "Accepted")

    # Log the call that reached her (the attempt form opens by itself once accepted).
    desk.get_by_label("What happened?").select_option(label="Reached the patient")
    desk.get_by_label("Note (optional)").fill(ATTEMPT_NOTE)
    desk.get_by_role("button", name="Log attempt").click()
    expect(desk.get_by_role("status")).to_have_text("Contact attempt logged.")
    _expect_status(desk, "Contacted")

    # An internal note, which the practice must never see.
    desk.get_by_label("Internal note").fill(INTERNAL_NOTE)
    desk.get_by_role("button", name="Add note").click()
    expect(desk.get_by_role("status")).to_have_text("Note added.")
    note_event = desk.locator("#referral-timeline li").filter(has_text=INTERNAL_NOTE)
    expect(note_event).to_contain_text("Olivia Owner")
    # Only the note's text is boxed; the event itself sits on the timeline like every other one.
    expect(note_event).to_have_css("background-color", "rgba(0, 0, 0, 0)")

    # Book the appointment: next week, 10:30 in the morning, a service from the catalog.
    appointment_day = timezone.localdate() + datetime.timedelta(days=7)
    desk.get_by_label("Appointment (date and time)").fill(f"{appointment_day:%Y-%m-%d}T10:30")
    desk.get_by_label("Service").select_option(label="Calming post-peel facial")
    desk.get_by_role("button", name="Save appointment").click()
    expect(desk.get_by_role("status")).to_have_text("Appointment saved.")
    _expect_status(desk, "Scheduled")
    panel = desk.locator("#referral-panel")
    expect(panel).to_contain_text(f"{dateformat.format(appointment_day, 'N j, Y')}, 10:30 a.m.")
    expect(panel).to_contain_text("Calming post-peel facial")

    # The visit happened.
    desk.get_by_role("button", name="Mark completed").click()
    expect(desk.get_by_role("status")).to_have_text("Marked completed.")
    _expect_status(desk, "Completed")
    expect(desk.get_by_role("button", name="Mark completed")).to_have_count(0)
    timeline = desk.locator("#referral-timeline")
    for change in ["Received → Accepted", "Accepted → Contacted", "Contacted → Scheduled", "Scheduled → Completed"]:
        expect(timeline).to_contain_text(change)
    expect(timeline).to_contain_text("Reached the patient")

    # What the page shows after a fresh load, not only after htmx swaps.
    desk.reload()
    _expect_status(desk, "Completed")
    expect(desk.locator("#referral-timeline")).to_contain_text(INTERNAL_NOTE)
    screenshot(desk, "referral-detail")

    # Back at the clinic: the portal shows it completed, with the status changes and nothing internal.
    clinic.get_by_role("link", name="All referrals").click()
    clinic.reload()
    portal_row = clinic.locator("#portal-referrals").get_by_role("listitem").filter(has_text="Grace Hopper")
    expect(portal_row).to_contain_text("Completed")
    portal_row.get_by_role("link").click()
    expect(clinic.get_by_role("heading", name="Grace Hopper")).to_be_visible()
    expect(clinic.locator("main").get_by_text("Completed", exact=True)).to_have_count(2)  # the badge and the timeline
    steps = clinic.locator("#portal-timeline > li")
    expect(steps).to_have_count(5)
    for step, label in zip(steps.all(), ["Received", "Accepted", "Contacted", "Scheduled", "Completed"], strict=True):
        expect(step).to_contain_text(label)
    body = clinic.locator("body")
    for internal in [INTERNAL_NOTE, ATTEMPT_NOTE, "Reached the patient", owner.full_name]:
        expect(body).not_to_contain_text(internal)
    assert_no_horizontal_scroll(clinic)
    screenshot(clinic, "portal-completed")

    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
        kinds = list(referral.events.order_by("created_at", "id").values_list("kind", flat=True))
    assert referral.practice == dermatology
    assert referral.channel == Channel.PORTAL
    assert referral.status == Status.COMPLETED
    assert referral.scheduled_service.name == "Calming post-peel facial"
    assert ReferralEvent.Kind.NOTE in kinds
    assert ReferralEvent.Kind.ATTEMPT in kinds


def test_a_patient_submits_the_landing_page_and_the_spa_sees_it_attributed_to_the_practice(
    new_page, login, spa, owner, dermatology, screenshot, assert_no_horizontal_scroll
):
    with scope(spa=spa):
        ReferralCodeFactory(spa=spa, practice=dermatology, code="KM7QXZ")

    # The patient scans the pad's code with her phone: no account, no sign-in.
    patient = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    patient.goto("/r/KM7QXZ")
    expect(patient.get_by_role("heading", name="Welcome!")).to_be_visible()
    expect(patient.get_by_text(f"{PRACTICE_NAME} referred you to {spa.name}.")).to_be_visible()

    patient.get_by_label("First name").fill("Maya")
    patient.get_by_label("Last name").fill("Lopez")
    patient.get_by_label("Phone", exact=True).fill("(617) 555-0123")
    patient.get_by_label(re.compile(f"I agree that {spa.name} may contact me")).check()
    patient.get_by_role("button", name="Send", exact=True).click()

    expect(patient.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(patient.get_by_text(f"{spa.name} will contact you within")).to_be_visible()
    assert_no_horizontal_scroll(patient)
    screenshot(patient, "landing-confirmation")

    # The owner's inbox lists it under the practice whose pad it was, as a landing-page referral.
    desk = new_page()
    login(desk, owner.email, TEST_PASSWORD)
    desk.goto(f"/s/{spa.slug}/referrals/")
    row = _inbox_row(desk, "Maya Lopez")
    expect(row).to_contain_text(PRACTICE_NAME)
    expect(row).to_contain_text("Patient landing page")
    expect(row).to_contain_text("Received")

    row.get_by_role("link", name="Maya Lopez").click()
    expect(desk.get_by_text(f"from {PRACTICE_NAME}, received")).to_be_visible()
    referral_section = desk.get_by_role("region", name="Referral", exact=True)
    expect(referral_section.get_by_role("link", name=PRACTICE_NAME)).to_be_visible()
    expect(referral_section).to_contain_text("Patient landing page")

    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
    assert referral.practice == dermatology
    assert referral.channel == Channel.LANDING
