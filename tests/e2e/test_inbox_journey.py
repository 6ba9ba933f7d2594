"""The referral inbox in the browser (issue 21 §7): it opens on Open with the overdue referral first, marks what
this member has not opened yet as New and counts it in the navigation badge, and a bulk "Assign to me" updates
the rows and the badge without a reload, with an Undo in the toast. Archiving a spam referral takes it out of
the Open count and Undo brings it back. Screenshot: inbox (1366×900)."""

import datetime
import re

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from partners.models import Stage
from referrals.models import Referral, Status
from spas.models import Membership
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory

pytestmark = pytest.mark.browser


def _referral(spa, practice, first, last, *, status=Status.RECEIVED, due_in_hours, received_days_ago=1, **fields):
    now = timezone.now()
    return ReferralFactory(
        spa=spa,
        practice=practice,
        patient_first_name=first,
        patient_last_name=last,
        status=status,
        received_at=now - datetime.timedelta(days=received_days_ago),
        first_contact_due_at=now + datetime.timedelta(hours=due_in_hours),
        **fields,
    )


@pytest.fixture
def inbox(spa, owner, staff_user):
    with scope(spa=spa):
        # The owner has been with the spa for a month: everything below arrived since, so it can be New.
        Membership.objects.filter(spa=spa).update(created_at=timezone.now() - datetime.timedelta(days=30))
        glow = PracticeFactory(spa=spa, name="Glow Dermatology", stage=Stage.ACTIVE)
        back_bay = PracticeFactory(spa=spa, name="Back Bay Physical Therapy", stage=Stage.ACTIVE)
        charles = PracticeFactory(spa=spa, name="Charles River Women's Health", stage=Stage.ACTIVE)
        _referral(spa, charles, "Larry", "Later", status=Status.ACCEPTED, due_in_hours=40)
        _referral(spa, glow, "Nora", "Newman", due_in_hours=20, received_days_ago=0)
        _referral(spa, back_bay, "Olive", "Overton", status=Status.ACCEPTED, due_in_hours=-5, received_days_ago=3)
        _referral(spa, glow, "Spam", "Bot", due_in_hours=44, received_days_ago=0)
        _referral(
            spa,
            charles,
            "Sam",
            "Scheduled",
            status=Status.SCHEDULED,
            due_in_hours=-60,
            received_days_ago=5,
            assignee=staff_user,
            scheduled_for=timezone.now() + datetime.timedelta(days=2),
        )
        _referral(spa, back_bay, "Cora", "Completed", status=Status.COMPLETED, due_in_hours=-200, received_days_ago=12)
    return spa


def _rows(page):
    return page.locator("#referral-results tbody tr")


def _row(page, name):
    return _rows(page).filter(has_text=name)


def _new_badge(page):
    return page.locator('#nav-referral-badges [data-badge="new"]')


def test_the_inbox_opens_on_open_marks_new_and_bulk_assigns_without_a_reload(
    page, login, owner, inbox, screenshot, axe
):
    spa = inbox
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/")

    # Open, most urgent first: the overdue referral leads; the completed one is not here.
    expect(page.locator(".inbox-tabs .nav-link.active")).to_contain_text("Open")
    expect(_rows(page)).to_have_count(5)
    expect(_rows(page).nth(0)).to_contain_text("Olive Overton")
    expect(_rows(page).nth(0)).to_contain_text("Overdue")
    expect(_rows(page).nth(1)).to_contain_text("Nora Newman")
    expect(_rows(page).nth(4)).to_contain_text("Sam Scheduled")  # already contacted: after those awaiting one
    expect(page.locator("#referral-results")).not_to_contain_text("Cora Completed")

    # Nobody has opened them yet: all five are New, and the badge says so.
    expect(page.locator("#referral-results [data-new]")).to_have_count(5)
    expect(_new_badge(page)).to_have_text(re.compile(r"^5\s*new$"))

    # Opening one takes it off the count.
    _row(page, "Nora Newman").get_by_role("link", name="Nora Newman").click()
    expect(page.get_by_role("heading", name="Nora Newman")).to_be_visible()
    expect(_new_badge(page)).to_have_text(re.compile(r"^4\s*new$"))
    page.go_back()
    page.reload()
    expect(_row(page, "Nora Newman").locator("[data-new]")).to_have_count(0)

    # Tick two and hand them to myself: the rows and the badge change, the page does not reload.
    page.evaluate("() => { window.stillTheSamePage = true; }")
    _row(page, "Olive Overton").get_by_role("checkbox").check()
    _row(page, "Larry Later").get_by_role("checkbox").check()
    expect(page.locator("#bulk-referrals [data-bulk-count]")).to_have_text("2 selected")
    screenshot(page, "inbox")
    assert axe(page) == []
    page.locator("#bulk-referrals").get_by_role("button", name="Assign to me").click()

    toast = page.locator("#toasts .toast").filter(has_text="2 referrals assigned to you.")
    expect(toast).to_be_visible()
    expect(_row(page, "Olive Overton")).to_contain_text(owner.display_name)
    expect(_row(page, "Larry Later")).to_contain_text(owner.display_name)
    expect(_new_badge(page)).to_have_text(re.compile(r"^2\s*new$"))
    assert page.evaluate("() => window.stillTheSamePage") is True

    # Undo puts the assignments back, still without a reload.
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#toasts .toast").filter(has_text="Assignment undone.")).to_be_visible()
    expect(_row(page, "Olive Overton")).not_to_contain_text(owner.display_name)
    assert page.evaluate("() => window.stillTheSamePage") is True
    with scope(spa=spa):
        assert Referral.objects.get(patient_last_name="Overton").assignee is None


def test_a_spam_referral_is_archived_out_of_the_counts_and_undone(page, login, owner, inbox):
    spa = inbox
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/")
    open_tab = page.locator(".inbox-tabs .nav-link.active .badge")
    expect(open_tab).to_have_text("5")

    _row(page, "Spam Bot").get_by_role("checkbox").check()
    page.locator("#bulk-referrals").get_by_role("button", name="Archive").click()
    page.locator("#bulk-referrals").get_by_role("button", name="Spam").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("nothing is deleted")
    dialog.get_by_role("button", name="Archive").click()

    toast = page.locator("#toasts .toast").filter(has_text="1 referral archived.")
    expect(toast).to_be_visible()
    expect(_row(page, "Spam Bot")).to_have_count(0)
    expect(open_tab).to_have_text("4")
    expect(_new_badge(page)).to_have_text(re.compile(r"^4\s*new$"))
    with scope(spa=spa):
        spam = Referral.objects.get(patient_last_name="Bot")
        assert spam.archived_reason == "spam"

    toast.get_by_role("button", name="Undo").click()
    expect(_row(page, "Spam Bot")).to_have_count(1)
    expect(open_tab).to_have_text("5")

    # Archived referrals are found under the filter.
    page.goto(f"/s/{spa.slug}/referrals/?archived=true&status=")
    expect(page.locator("#referral-results")).to_contain_text("No referral matches these filters.")


def test_the_inbox_and_its_bulk_bar_fit_a_phone(
    phone_page, login, owner, inbox, screenshot, assert_no_horizontal_scroll
):
    spa = inbox
    login(phone_page, owner.email, TEST_PASSWORD)
    phone_page.goto(f"/s/{spa.slug}/referrals/")

    expect(_rows(phone_page).nth(0)).to_contain_text("Olive Overton")
    _row(phone_page, "Olive Overton").get_by_role("checkbox").check()
    expect(phone_page.locator("#bulk-referrals [data-bulk-count]")).to_have_text("1 selected")
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "inbox-phone")
