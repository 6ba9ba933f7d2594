"""The gift ledger journey: from a practice's page an owner records gifts to a clinician; a gift card is
refused with the reason, the 80% warning shows, going over needs the owner's reason; the ledger and the
report show the year against the limit (desktop and phone)."""

import datetime
import re
from decimal import Decimal

from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from outreach.activity.selectors import spa_today
from outreach.gifts.services import gift_record
from outreach.models import Gift
from spas.models import Role
from tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    MembershipFactory,
    OfficeContactFactory,
    PracticeFactory,
    SpaFactory,
    UserFactory,
)

OWNER_EMAIL = "gina.owner@juniper-journey.example"
SPA_SLUG = "juniper-spa"


def _spa_with_a_practice():
    spa = SpaFactory(name="Juniper Day Spa", slug=SPA_SLUG)
    owner = UserFactory(email=OWNER_EMAIL, full_name="Gina Owner")
    MembershipFactory(spa=spa, user=owner, role=Role.OWNER)
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology", stage="active")
        patel = ClinicianFactory(spa=spa, practice=practice, first_name="Priya", last_name="Patel", credentials="MD")
        OfficeContactFactory(spa=spa, practice=practice, name="Rosa Alvarez", role="office_manager")
        other = PracticeFactory(spa=spa, name="Back Bay OB-GYN")
        ClinicianFactory(spa=spa, practice=other, first_name="Grace", last_name="Liu", credentials="MD")
        today = spa_today(spa)
        gift_record(
            spa=spa,
            practice=practice,
            recipient=patel,
            given_on=today - datetime.timedelta(days=min(today.timetuple().tm_yday - 1, 20)),
            kind="complimentary_service",
            description="Signature facial (retail price)",
            fair_market_value=Decimal("400.00"),
            actor=owner,
        )
    return spa, practice


def test_an_owner_records_gifts_within_and_past_the_limit(page, phone_page, login, screenshot):
    spa, practice = _spa_with_a_practice()
    year = spa_today(spa).year
    login(page, OWNER_EMAIL, TEST_PASSWORD)

    # The practice page's card shows this year's total for each person.
    page.goto(f"/s/{SPA_SLUG}/partners/{practice.public_id}/")
    card = page.locator("#practice-gifts")
    expect(card).to_contain_text(f"Gifts in {year}")
    expect(card).to_contain_text("$400.00 of $535.00")
    expect(card).to_contain_text("74% used")
    screenshot(page, "gifts-practice-card")
    card.get_by_role("link", name="Record a gift to Priya Patel, MD").click()

    # The form arrives filled in for Dr. Patel, with her year so far.
    expect(page.get_by_role("heading", name="Record a gift", level=1)).to_be_visible()
    expect(page.get_by_label("Given to")).to_have_value(re.compile("^clinician:"))
    expect(page.locator("#recipient-standing")).to_contain_text("$400.00 of $535.00")

    # A gift card is refused beside the kind, with the reason.
    page.get_by_label("Kind").select_option(label="Gift card or voucher (cash equivalent)")
    page.get_by_label("What was given").fill("Coffee shop gift card")
    page.get_by_label("Fair market value (US$)").fill("25")
    page.get_by_role("button", name="Record the gift").click()
    expect(page.locator("#id_kind_error")).to_contain_text("never allowed for referral sources")
    screenshot(page, "gifts-gift-card-refused")

    # A meal that reaches 80% is recorded with a warning.
    page.get_by_label("Kind").select_option(label="Meal")
    page.get_by_label("What was given").fill("Lunch presentation (her share)")
    page.get_by_label("Fair market value (US$)").fill("30.00")
    page.get_by_role("button", name="Record the gift").click()
    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/outreach/gifts/$"))
    expect(page.locator(".alert-warning").first).to_contain_text("80% of the $535.00 limit")
    expect(page.locator('[data-recipient^="clinician:"]').first).to_contain_text("Near the limit: $105.00 left")

    # Going over needs the owner's reason; with it, the override is recorded and shown.
    page.get_by_role("link", name="Record a gift").first.click()
    expect(page.get_by_role("heading", name="Record a gift", level=1)).to_be_visible()  # not the ledger's filter
    page.get_by_label("Practice").select_option(label="Back Bay OB-GYN")
    expect(page.get_by_label("Given to").locator("option", has_text="Grace Liu")).to_have_count(1)
    expect(page.get_by_label("Given to").locator("option", has_text="Priya Patel")).to_have_count(0)
    page.get_by_label("Practice").select_option(label="Glow Dermatology")
    page.get_by_label("Given to").select_option(label="Priya Patel, MD — clinician")
    expect(page.locator("#recipient-standing")).to_contain_text("$430.00 of $535.00")
    page.get_by_label("Kind").select_option(label="Event hospitality")
    page.get_by_label("What was given").fill("Retirement dinner for Dr. Patel")
    page.get_by_label("Fair market value (US$)").fill("150")
    page.get_by_role("button", name="Record the gift").click()
    expect(page.locator("#id_override_reason_error")).to_contain_text("Going over needs an owner's recorded override")
    screenshot(page, "gifts-override-needed")
    page.get_by_label("Reason for going over the limit (owners only)").fill(
        "Retirement after 30 years; agreed with counsel"
    )
    page.get_by_role("button", name="Record the gift").click()
    expect(page.locator(".alert-warning").first).to_contain_text("Gift recorded over the limit with your override")
    expect(page.get_by_text("Over the limit by $45.00").first).to_be_visible()
    expect(page.get_by_text("override by Gina Owner: Retirement after 30 years; agreed with counsel")).to_be_visible()
    screenshot(page, "gifts-ledger")

    # The yearly report, then the same on a phone.
    page.get_by_role("link", name="Yearly report").click()
    row = page.locator('tr[data-recipient^="clinician:"]')
    expect(row).to_contain_text("$580.00")
    expect(row).to_contain_text("108% used")
    screenshot(page, "gifts-report")
    login(phone_page, OWNER_EMAIL, TEST_PASSWORD)
    phone_page.goto(f"/s/{SPA_SLUG}/outreach/gifts/")
    expect(phone_page.get_by_role("heading", name="Gift ledger")).to_be_visible()
    screenshot(phone_page, "gifts-ledger-phone")
    with scopes_disabled():
        assert Gift.objects.filter(spa=spa).count() == 3


def test_the_report_and_limits_read_well_on_a_phone(phone_page, login, screenshot):
    spa, _practice = _spa_with_a_practice()
    login(phone_page, OWNER_EMAIL, TEST_PASSWORD)
    year = spa_today(spa).year
    phone_page.goto(f"/s/{SPA_SLUG}/outreach/gifts/report/{year}/")
    expect(phone_page.locator('tr[data-recipient^="clinician:"]')).to_contain_text("$400.00")
    screenshot(phone_page, "gifts-report-phone")
    phone_page.goto(f"/s/{SPA_SLUG}/outreach/gifts/limits/")
    expect(phone_page.locator(f'tr[data-year="{year + 1}"]')).to_contain_text("Provisional")
    screenshot(phone_page, "gifts-limits-phone")
