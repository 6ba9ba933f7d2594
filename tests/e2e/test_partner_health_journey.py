"""Partner health in the browser: the list sorted by risk with its reasons, then a practice's panel: its
check-in briefing, a refused cadence shown beside the field (htmx, no reload) and a saved one."""

import datetime
import re

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from outreach.activity.selectors import spa_today
from outreach.health.checkins import check_ins_create_due
from outreach.models import CheckInCadence, Touchpoint
from partners.models import Stage
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory, ServiceFactory

pytestmark = pytest.mark.browser


def _partner(
    spa,
    name,
    *,
    stage=Stage.ACTIVE,
    in_stage_days=200,
    recent=0,
    before=0,
    contact_days=None,
    check_in_days=None,
    owner=None,
):
    now = timezone.now()
    practice = PracticeFactory(
        spa=spa, name=name, stage=stage, stage_changed_at=now - datetime.timedelta(days=in_stage_days), owner=owner
    )
    for index in range(recent):
        ReferralFactory(practice=practice, received_at=now - datetime.timedelta(days=5 + index), status="completed")
    for index in range(before):
        ReferralFactory(practice=practice, received_at=now - datetime.timedelta(days=100 + index), status="completed")
    today = spa_today(spa, now)  # the spa's wall clock, as the health figures count (not UTC's date)
    if contact_days is not None:
        Touchpoint.objects.create(
            spa=spa, practice=practice, kind="phone_call", occurred_on=today - datetime.timedelta(days=contact_days)
        )
    if check_in_days is not None:
        Touchpoint.objects.create(
            spa=spa, practice=practice, kind="check_in", occurred_on=today - datetime.timedelta(days=check_in_days)
        )
    return practice


def test_partner_health_list_and_a_practice_s_check_ins(page, login, spa, owner, screenshot):
    with scope(spa=spa):
        _partner(spa, "Glow Dermatology", recent=3, before=3, contact_days=4, check_in_days=20, owner=owner)
        _partner(spa, "Beacon Skin & Laser", stage=Stage.TRIAL, recent=1, before=4, contact_days=70)
        _partner(spa, "Brookline Women's Health", before=4, contact_days=9, check_in_days=91 + 12, owner=owner)
        late = _partner(spa, "Back Bay Physical Therapy", in_stage_days=120, recent=2, contact_days=30, owner=owner)
        ServiceFactory(spa=spa, name="Lymphatic drainage massage")
        check_ins_create_due(spa=spa)

    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/outreach/health/")
    expect(page.get_by_role("heading", name="Partner health")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Brookline Women's Health")
    expect(rows.nth(0)).to_contain_text("No referrals in 3 months (4 the 3 months before)")
    expect(rows.nth(0)).to_contain_text("Check-in overdue by 12 days")
    expect(rows.nth(3)).to_contain_text("Glow Dermatology")
    screenshot(page, "partner-health-list")

    page.get_by_role("link", name=re.compile("^Cooling")).click()
    expect(page.locator("tbody tr")).to_have_count(2)

    # A practice's panel: the open check-in arrives with its briefing.
    page.goto(f"/s/{spa.slug}/partners/{late.public_id}/")
    panel = page.locator("#check-ins")
    expect(panel).to_contain_text("Open check-in")
    expect(panel).to_contain_text("Lymphatic drainage massage")
    expect(panel).to_contain_text("2 received")

    # A refused cadence shows its error beside the field, in place; a good one is saved.
    field = panel.get_by_label("Check in every (days)")
    field.fill("400")
    panel.get_by_role("button", name="Save cadence").click()
    expect(page.locator("#health_cadence_days_error")).to_have_text("Choose a number of days between 7 and 365.")
    screenshot(page, "practice-health-panel-error")
    page.locator("#check-ins").get_by_label("Check in every (days)").fill("60")
    page.locator("#check-ins").get_by_role("button", name="Save cadence").click()
    expect(page.locator("#check-ins").get_by_role("status")).to_contain_text("every 60 days")
    expect(page.locator("#check-ins")).to_contain_text("Every 60 days (set for this practice).")
    page.locator("#check-ins").scroll_into_view_if_needed()
    screenshot(page, "practice-health-panel")
    with scope(spa=spa):
        assert CheckInCadence.objects.get(practice=late).cadence_days == 60


def test_partner_health_on_a_phone(phone_page, login, spa, owner, screenshot, assert_no_horizontal_scroll):
    with scope(spa=spa):
        _partner(spa, "Brookline Women's Health", before=4, contact_days=9, check_in_days=91 + 12, owner=owner)
        _partner(spa, "Glow Dermatology", recent=3, before=3, contact_days=4, check_in_days=20, owner=owner)
    login(phone_page, owner.email, TEST_PASSWORD)
    phone_page.goto(f"/s/{spa.slug}/outreach/health/")
    expect(phone_page.locator("tbody tr").first).to_contain_text("Check-in overdue by 12 days")
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "partner-health-phone")
