"""The dashboard in a browser: it loads, its charts render (as SVG with their accessible names), the
table fallback opens, and the reports page draws its chart. Screenshots: dashboard, report-leakage."""

import datetime

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from partners.models import Stage
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def busy_spa(spa):
    now = timezone.now()
    with scope(spa=spa):
        for index, (name, specialty) in enumerate(
            [("Glow Dermatology", "dermatology"), ("Back Bay OB-GYN", "ob_gyn"), ("Riverside PT", "physical_therapy")]
        ):
            practice = PracticeFactory(spa=spa, name=name, specialty=specialty, stage=Stage.ACTIVE)
            for days in range(0, 70, 4 + index * 3):
                status = "completed" if days % 3 == 0 else "received"
                ReferralFactory(
                    spa=spa,
                    practice=practice,
                    received_at=now - datetime.timedelta(days=days, hours=1),
                    status=status,
                    contacted_at=now - datetime.timedelta(days=days) if status == "completed" else None,
                    scheduled_for=now - datetime.timedelta(days=days) if status == "completed" else None,
                )
    return spa


def test_the_dashboard_loads_with_its_charts(page, login, owner, busy_spa, screenshot):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{busy_spa.slug}/")
    expect(page.get_by_role("heading", name="Referrals per week, by specialty")).to_be_visible()
    for name in (
        "Referrals per week by specialty",
        "Referral funnel, last 90 days",
        "Top referring practices, last 90 days",
        "Practices by pipeline stage",
    ):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        assert chart.bounding_box()["height"] > 60
    expect(page.locator("#key-figures")).to_contain_text("Active partners")
    page.locator("#funnel-title").locator("xpath=..").get_by_text("Show as a table").click()
    expect(page.locator("#funnel-table")).to_be_visible()
    screenshot(page, "dashboard")

    page.goto(f"/s/{busy_spa.slug}/reports/?report=practices&preset=last_90_days")
    expect(page.get_by_role("img", name="Referrals received by practice")).to_be_visible()
    expect(page.locator("#report-table")).to_contain_text("Glow Dermatology")
    screenshot(page, "report-practices")
