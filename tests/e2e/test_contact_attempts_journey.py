"""Contact attempts and appointment dates in the browser: a sent message is logged as awaiting a reply (not a
failure) and the referral page shows when to follow up; once the patient is reached, an appointment before the
referral arrived is refused beside the field and one earlier today is recorded after the "record it anyway" tick.
The referral rules page says what counts. Screenshots: referral-follow-up and referral-rules (1366×900)."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from referrals.models import Status
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def accepted_referral(spa, owner):
    now = timezone.now()
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology")
        return ReferralFactory(
            spa=spa,
            practice=practice,
            patient_first_name="Wanda",
            patient_last_name="Waters",
            status=Status.ACCEPTED,
            received_at=now - datetime.timedelta(days=3),
            first_contact_due_at=now - datetime.timedelta(days=1),
            assignee=owner,
        )


def _field_error(page, field):
    return page.locator(f"#schedule_{field}_error")


def test_a_sent_message_awaits_a_reply_and_a_past_appointment_is_confirmed(
    page, login, spa, owner, accepted_referral, screenshot
):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/{accepted_referral.public_id}/")

    sent = page.locator("#referral-timeline li").filter(has_text="Sent a message (awaiting reply)")
    for logged in range(1, 4):
        page.get_by_label("What happened?").select_option(label="Sent a message (awaiting reply)")
        page.get_by_role("button", name="Log attempt").click()
        expect(sent).to_have_count(logged)
    # Three messages: still accepted, no failed attempt, a follow-up owed.
    expect(page.get_by_role("heading", name="Status Accepted")).to_be_visible()
    expect(page.locator("#referral-panel dd").filter(has_text="of 3")).to_contain_text("0 of 3")
    follow_up = page.locator("[data-follow-up]")
    expect(follow_up).to_contain_text("A message was sent; no reply yet.")
    screenshot(page, "referral-follow-up")

    page.get_by_label("What happened?").select_option(label="Reached the patient")
    page.get_by_role("button", name="Log attempt").click()
    expect(page.get_by_role("heading", name="Status Contacted")).to_be_visible()
    expect(page.locator("[data-follow-up]")).to_have_count(0)

    local_now = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(spa.timezone))
    before_receipt = local_now - datetime.timedelta(days=5)
    page.get_by_label("Appointment (date and time)").fill(f"{before_receipt:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Save appointment").click()
    expect(_field_error(page, "scheduled_for")).to_contain_text("cannot be before the referral was received")

    earlier = local_now - datetime.timedelta(hours=1)
    page.get_by_label("Appointment (date and time)").fill(f"{earlier:%Y-%m-%dT%H:%M}")
    page.get_by_role("button", name="Save appointment").click()
    expect(_field_error(page, "scheduled_for")).to_contain_text("This date is in the past")
    page.get_by_label("Yes, the date is in the past: record it anyway").check()
    page.get_by_role("button", name="Save appointment").click()
    expect(page.get_by_role("status")).to_have_text("Appointment saved.")
    expect(page.get_by_role("heading", name="Status Scheduled")).to_be_visible()

    page.goto(f"/s/{spa.slug}/referrals/settings/")
    expect(page.get_by_text("Only failed attempts count: no answer, left a voicemail, wrong number.")).to_be_visible()
    screenshot(page, "referral-rules")
