"""The dashboard and the reports in a browser, with demo-like data (long practice names, several specialties):
the charts render with their accessible names (pictures as images, charts of links as groups of links), no
chart text is clipped at any edge (measured by the browser, on the desktop and on a phone), the key figures
say what they compare, and the leakage report keeps declined referrals out of leakage.

Screenshots: dashboard, dashboard-phone, reports-leakage (docs/screenshots)."""

import datetime
import itertools

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from outreach.activity.selectors import spa_today
from outreach.activity.services import task_create
from partners.models import Stage
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory

pytestmark = pytest.mark.browser

PRACTICES = [
    ("Brookline Women's Health", "ob_gyn", Stage.ACTIVE, 9),
    ("Somerville Acupuncture Collective", "other", Stage.ACTIVE, 7),
    ("Riverside Physical Therapy", "physical_therapy", Stage.ACTIVE, 6),
    ("Glow Dermatology", "dermatology", Stage.ACTIVE, 6),
    ("Back Bay Plastic Surgery Associates", "plastic_surgery", Stage.TRIAL, 4),
    ("Charles River Sports Medicine Clinic", "sports_medicine", Stage.TRIAL, 3),
    ("Hope Cancer Center", "oncology", Stage.ACTIVE, 3),
    ("Coolidge Corner Chiropractic", "chiropractic", Stage.MEETING, 2),
    ("Mind & Body Integrative Health", "primary_care", Stage.CONTACTED, 0),
    ("Watertown Family Practice", "primary_care", Stage.PROSPECT, 0),
]
# What became of the referrals, in turn: (status, reached, booked).
STORIES = itertools.cycle(
    [
        ("completed", True, True),
        ("scheduled", True, True),
        ("declined", False, False),
        ("contacted", True, False),
        ("cancelled", False, False),
        ("no_show", True, True),
        ("completed", True, True),
        ("received", False, False),
        ("cancelled", True, False),
    ]
)
TEXT_INSIDE_ITS_CHART = """() => {
    const clipped = [];
    for (const svg of document.querySelectorAll("svg.chart")) {
        const box = svg.getBoundingClientRect();
        for (const text of svg.querySelectorAll("text")) {
            const r = text.getBoundingClientRect();
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
                || r.bottom > box.bottom + 0.5) {
                clipped.push(`${svg.querySelector("title").textContent}: "${text.textContent}"`);
            }
        }
    }
    return clipped;
}"""


@pytest.fixture
def busy_spa(spa, owner):
    """Ten practices with long names, forty referrals over the last twelve weeks and tasks for today."""
    now = timezone.now()
    with scope(spa=spa):
        stories = iter(STORIES)
        for index, (name, specialty, stage, count) in enumerate(PRACTICES):
            practice = PracticeFactory(spa=spa, name=name, specialty=specialty, stage=stage)
            for number in range(count):
                status, reached, booked = next(stories)
                received = now - datetime.timedelta(days=2 + number * 11 + index, hours=index)
                first_attempt = received + datetime.timedelta(hours=2 + (number * 7 + index) % 30)
                ReferralFactory(
                    spa=spa,
                    practice=practice,
                    received_at=received,
                    status=status,
                    decline_reason="Outside our services" if status == "declined" else "",
                    first_contact_attempt_at=first_attempt if status not in ("received", "declined") else None,
                    contacted_at=first_attempt if reached else None,
                    scheduled_for=first_attempt + datetime.timedelta(days=4) if booked else None,
                    closed_at=first_attempt + datetime.timedelta(days=5)
                    if status in ("completed", "cancelled", "declined")
                    else None,
                )
        today = spa_today(spa)
        for title, days in [("Call Glow Dermatology", 0), ("Thank-you note", 0), ("Quarterly check-in", -3)]:
            task_create(spa=spa, title=title, due_on=today + datetime.timedelta(days=days), assignee=owner)
    return spa


def test_the_dashboard_s_charts_are_whole_and_accessible(page, phone_page, login, owner, busy_spa, screenshot):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{busy_spa.slug}/")
    expect(page.get_by_role("heading", name="Referrals per week, by specialty")).to_be_visible()
    # Pictures are images named by their title; charts whose names are links are groups of those links.
    for role, name in (
        ("img", "Referrals per week by specialty"),
        ("img", "Referral funnel, last 90 days"),
        ("group", "Top referring practices, last 3 months"),
        ("group", "Practices by pipeline stage"),
    ):
        chart = page.get_by_role(role, name=name)
        expect(chart).to_be_visible()
        assert chart.bounding_box()["height"] > 60
    top = page.get_by_role("group", name="Top referring practices, last 3 months")
    expect(top.get_by_role("link", name="Somerville Acupuncture Collective")).to_be_visible()
    assert page.locator("svg[role=img] a").count() == 0
    assert page.evaluate(TEXT_INSIDE_ITS_CHART) == []

    figures = page.locator("#key-figures")
    expect(figures.locator("#kpi-month-change")).to_contain_text("vs ")
    expect(figures.locator("#kpi-tasks")).to_have_text("3")
    expect(figures.locator("#kpi-tasks-detail")).to_have_text("2 today · 1 overdue · 3 yours")
    expect(figures.locator("#kpi-median-sample")).to_contain_text("last 30 days")
    page.locator("#funnel-title").locator("xpath=..").get_by_text("Show as a table").click()
    expect(page.locator("#funnel-table")).to_be_visible()
    top.get_by_role("link", name="Somerville Acupuncture Collective").click()
    expect(page.get_by_role("heading", name="Somerville Acupuncture Collective")).to_be_visible()
    page.go_back()
    screenshot(page, "dashboard")

    login(phone_page, owner.email, TEST_PASSWORD)
    phone_page.goto(f"/s/{busy_spa.slug}/")
    expect(phone_page.get_by_role("group", name="Top referring practices, last 3 months")).to_be_visible()
    assert phone_page.evaluate(TEXT_INSIDE_ITS_CHART) == []
    screenshot(phone_page, "dashboard-phone")


def test_every_report_s_chart_is_whole_and_leakage_leaves_out_declines(page, login, owner, busy_spa, screenshot):
    login(page, owner.email, TEST_PASSWORD)
    for report in ("practices", "clinicians", "specialties", "channels", "revenue", "campaigns", "leakage"):
        page.goto(f"/s/{busy_spa.slug}/reports/?report={report}&preset=last_3_months")
        expect(page.locator("#report-title")).to_be_visible()
        assert page.evaluate(TEXT_INSIDE_ITS_CHART) == [], report
    expect(page.get_by_role("img", name="Referrals lost by practice")).to_be_visible()
    table = page.locator("#report-table")
    expect(table.locator("thead")).to_contain_text("Declined by the spa")
    totals = table.locator("tfoot td")
    expect(totals.first).to_have_text("Total")
    assert totals.last.inner_text().endswith("%")  # the totals row fills its percentage
    screenshot(page, "reports-leakage")
