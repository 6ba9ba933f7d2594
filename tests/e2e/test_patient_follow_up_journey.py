"""Patient follow-up, end to end: the spa completes a referral and sees the thank-you scheduled → the beat sends it
→ the patient opens the link on her phone, rates the visit and allows her comment to be shared → the practice
page shows how its patients rate the spa → the patient opts out of anything more."""

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from infra.models import OutgoingEmail
from infra.tasks import outbox_sweep_task
from referrals.models import PatientFollowUp
from referrals.tasks import follow_ups_send_task
from tests.factories import TEST_PASSWORD
from tests.referrals.follow_up_helpers import completed_referral

pytestmark = pytest.mark.browser


def _links(live_server):
    with scopes_disabled():
        email = OutgoingEmail.objects.get(template="patient-follow-up")
    urls = re.findall(r"https?://\S+", email.body_text)
    feedback = next(url for url in urls if not url.endswith("/stop/"))
    stop = next(url for url in urls if url.endswith("/stop/"))
    return (url.replace(settings.SITE_URL, live_server.url) for url in (feedback, stop))


def test_a_patient_rates_her_visit_and_the_practice_page_shows_it(
    spa, owner, page, phone_page, login, screenshot, live_server
):
    visit = timezone.now() - datetime.timedelta(days=1)
    referral = completed_referral(spa, owner, visit=visit, patient_first_name="Maya", patient_last_name="Lopez")
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/{referral.public_id}/")
    panel = page.locator("#follow-up")
    expect(panel).to_contain_text("A thank-you email with a satisfaction question goes to the patient on")
    expect(panel.get_by_role("button", name="Cancel the follow-up")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, "patient-follow-up-referral")

    with scopes_disabled():  # the day it is due has come
        PatientFollowUp.objects.update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    follow_ups_send_task()
    outbox_sweep_task()
    feedback, stop = _links(live_server)

    phone_page.goto(feedback)
    expect(phone_page.get_by_role("heading", level=1)).to_contain_text(f"How was your visit to {spa.name}?")
    share = phone_page.get_by_label(re.compile("may share my comment"))
    expect(share).not_to_be_checked()
    phone_page.get_by_role("button", name="Send my answer").click()
    expect(phone_page.locator("#error-summary")).to_contain_text("Choose a rating from 1 to 5.")
    screenshot(phone_page, "patient-follow-up-errors-phone")
    phone_page.get_by_label("5", exact=True).check()
    phone_page.get_by_label(re.compile("Anything you would like to tell us")).fill("Calm, kind and on time.")
    share.check()
    screenshot(phone_page, "patient-follow-up-phone")
    phone_page.get_by_role("button", name="Send my answer").click()
    expect(phone_page.locator("#feedback-done")).to_have_text("Thank you for your answer!")
    expect(phone_page.locator("#testimonial-granted")).to_be_visible()
    screenshot(phone_page, "patient-follow-up-answered-phone")

    desktop_patient = page.context.browser.new_page(viewport={"width": 1366, "height": 900})
    desktop_patient.goto(feedback)
    expect(desktop_patient.locator("#feedback-done")).to_have_text("You already answered. Thank you!")
    screenshot(desktop_patient, "patient-follow-up-answered")
    desktop_patient.goto(stop)
    screenshot(desktop_patient, "patient-follow-up-stop")
    desktop_patient.get_by_role("button", name="Stop all follow-up messages").click()
    expect(desktop_patient.locator("#stopped")).to_be_visible()
    screenshot(desktop_patient, "patient-follow-up-stopped")
    desktop_patient.goto(feedback.replace("/follow-up/", "/follow-up/x"))
    expect(desktop_patient.locator("#link-invalid")).to_be_visible()
    screenshot(desktop_patient, "patient-follow-up-bad-link")
    desktop_patient.close()

    page.goto(f"/s/{spa.slug}/partners/{referral.practice.public_id}/")
    expect(page.locator("#patient-rating-summary")).to_have_text(
        "Patients referred by Glow Dermatology rate us 5.0 (1 answer)."
    )
    screenshot(page, "patient-follow-up-practice")
    page.goto(f"/s/{spa.slug}/referrals/{referral.public_id}/")
    expect(page.locator("#follow-up-score")).to_have_text("5 / 5")
    page.locator("#follow-up").scroll_into_view_if_needed()
    screenshot(page, "patient-follow-up-referral-answered")
