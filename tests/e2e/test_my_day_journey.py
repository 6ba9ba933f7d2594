"""My day in the browser: the overdue patient comes first and one tap logs the attempt (through the referral
page's own action), a new referral is accepted in one tap, several tasks are marked done at once and one Undo
brings them all back, a task is snoozed to tomorrow, and a ticked task keeps its Undo after a reload in
"Done today". The week's thank-you notes arrive as one task naming the practices.
Screenshots: my-day (1366×900) and my-day-phone (390×844)."""

import datetime
import re

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.health.nudges import thank_you_suggestions_create
from outreach.models import Task
from partners.models import Stage
from referrals.models import ReferralEvent, Status
from tests.factories import TEST_PASSWORD, PracticeFactory, ReferralFactory

pytestmark = pytest.mark.browser


def _referral(spa, practice, first, last, *, status, due_in_hours, **fields):
    now = timezone.now()
    return ReferralFactory(
        spa=spa,
        practice=practice,
        patient_first_name=first,
        patient_last_name=last,
        status=status,
        received_at=now - datetime.timedelta(days=2),
        first_contact_due_at=now + datetime.timedelta(hours=due_in_hours),
        **fields,
    )


@pytest.fixture
def busy_day(spa, owner):
    today = activity_selectors.spa_today(spa)
    with scope(spa=spa):
        glow = PracticeFactory(spa=spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
        back_bay = PracticeFactory(spa=spa, name="Back Bay Physical Therapy", stage=Stage.ACTIVE, owner=owner)
        charles = PracticeFactory(spa=spa, name="Charles River Women's Health", stage=Stage.ACTIVE, owner=owner)
        _referral(spa, charles, "Larry", "Later", status=Status.ACCEPTED, due_in_hours=40)
        _referral(spa, glow, "Nora", "Newman", status=Status.RECEIVED, due_in_hours=20)
        _referral(
            spa,
            glow,
            "Wanda",
            "Waters",
            status=Status.ACCEPTED,
            due_in_hours=-30,
            first_contact_attempt_at=timezone.now() - datetime.timedelta(hours=26),
            follow_up_due_at=timezone.now() + datetime.timedelta(hours=3),
        )
        _referral(spa, back_bay, "Olive", "Overton", status=Status.ACCEPTED, due_in_hours=-5, assignee=owner)
        # The week's thank-you notes: one task for the three practices that referred.
        thank_you_suggestions_create(spa=spa)

        def task(title, due_in_days, **fields):
            return activity_services.task_create(
                spa=spa, title=title, due_on=today + datetime.timedelta(days=due_in_days), assignee=owner, **fields
            )[0]

        task("Confirm the lunch date with Back Bay", -2, kind="phone_call", practice=back_bay)
        task("Drop off referral pads at Glow", 0, kind="letter", practice=glow)
        task("Email the leave-behind to Charles River", 0, kind="email", practice=charles)
        task("Order more referral pads", 0)
        task("Quarterly check-in with Glow", 5, kind="check_in", practice=glow)
        done = task("Call Dr. Patel about the open house", 0, kind="phone_call", practice=glow)
        activity_services.task_complete(task=done, actor=owner)
    return spa


def _toast(page, text):
    toast = page.locator("#toasts .toast").filter(has_text=text)
    expect(toast).to_be_visible()
    return toast


def test_my_day_patients_first_then_tasks_in_bulk_snoozed_and_undone(page, login, owner, busy_day, screenshot):
    spa = busy_day
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/outreach/")
    expect(page.get_by_role("heading", name=re.compile("^My day"))).to_be_visible()

    # Patients to contact: the overdue one first, the rest by when their next contact is due.
    patients = page.locator("#patients-to-contact .patient-row")
    expect(patients).to_have_count(4)
    expect(patients.nth(0)).to_contain_text("Olive Overton")
    expect(patients.nth(0)).to_contain_text("Back Bay Physical Therapy")
    expect(patients.nth(0)).to_contain_text("overdue since")
    expect(patients.nth(1)).to_contain_text("Wanda Waters")  # her follow-up is due before Nora's first contact
    expect(patients.nth(1)).to_contain_text("Awaiting a reply")
    expect(patients.nth(2)).to_contain_text("Nora Newman")
    expect(patients.nth(3)).to_contain_text("Larry Later")
    expect(page.locator("#patients-to-contact")).to_contain_text("1 overdue")
    expect(page.locator("#done-today")).to_contain_text("Call Dr. Patel about the open house")
    screenshot(page, "my-day")

    # One tap on what happened logs the attempt; the list redraws with it.
    olive = patients.filter(has_text="Olive Overton")
    olive.get_by_role("button", name="Log attempt: Olive Overton").click()
    olive.get_by_role("button", name="No answer").click()
    _toast(page, "Attempt logged for Olive Overton.")
    olive = page.locator("#patients-to-contact .patient-row").filter(has_text="Olive Overton")
    expect(olive).to_contain_text("last try: No answer")
    expect(olive).to_contain_text("not reached yet, 1 attempt")
    expect(page.locator("#patients-to-contact")).not_to_contain_text("overdue")
    with scopes_disabled():
        [attempt] = ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ATTEMPT, referral__patient_last_name="Overton")
        assert attempt.outcome == "no_answer" and attempt.actor == owner

    # A new referral is accepted in one tap, and can then take an attempt.
    nora = page.locator("#patients-to-contact .patient-row").filter(has_text="Nora Newman")
    nora.get_by_role("button", name="Accept: Nora Newman").click()
    _toast(page, "Accepted: Nora Newman.")
    nora = page.locator("#patients-to-contact .patient-row").filter(has_text="Nora Newman")
    expect(nora.get_by_role("button", name="Log attempt: Nora Newman")).to_be_visible()

    # The thank-you notes of the week are one task naming the practices.
    thanks = page.locator(".task-row").filter(has_text="Send thank-you notes:")
    expect(thanks).to_have_count(1)
    for name in ("Glow Dermatology", "Back Bay Physical Therapy", "Charles River Women's Health"):
        expect(thanks.locator(".task-covered")).to_contain_text(name)

    # Bulk: tick two of today's tasks, mark them done at once; one Undo brings both back.
    today = page.locator("#tasks-today")
    bulk = page.get_by_role("button", name="Mark selected done")
    expect(bulk).to_be_disabled()
    today.get_by_role("checkbox", name="Select: Drop off referral pads at Glow").check()
    today.get_by_role("checkbox", name="Select: Email the leave-behind to Charles River").check()
    expect(page.locator("#bulk-tasks [data-bulk-count]")).to_have_text("2 selected")
    bulk.click()
    toast = _toast(page, "2 tasks done.")
    done_today = page.locator("#done-today")
    expect(done_today).to_contain_text("Drop off referral pads at Glow")
    expect(done_today).to_contain_text("Email the leave-behind to Charles River")
    expect(page.locator("#tasks-today")).not_to_contain_text("Drop off referral pads at Glow")
    toast.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("alert").filter(has_text="2 tasks open again.")).to_be_visible()
    expect(page.locator("#tasks-today")).to_contain_text("Drop off referral pads at Glow")
    expect(page.locator("#tasks-today")).to_contain_text("Email the leave-behind to Charles River")
    expect(page.locator("#done-today")).not_to_contain_text("Drop off referral pads at Glow")
    with scopes_disabled():
        assert Task.objects.get(title="Drop off referral pads at Glow").done_at is None

    # Snooze to tomorrow: the task leaves today for "Coming up".
    pads = page.locator("#tasks-today .task-row").filter(has_text="Order more referral pads")
    pads.get_by_role("button", name="Snooze: Order more referral pads").click()
    pads.get_by_role("button", name=re.compile("^Tomorrow")).click()
    _toast(page, "Snoozed until")
    expect(page.locator("#tasks-upcoming")).to_contain_text("Order more referral pads")
    expect(page.locator("#tasks-today")).not_to_contain_text("Order more referral pads")
    with scopes_disabled():
        assert Task.objects.get(title="Order more referral pads").due_on == activity_selectors.spa_today(
            spa
        ) + datetime.timedelta(days=1)

    # Tick an overdue task; after a reload it is in "Done today", and its Undo still works there.
    overdue = page.locator("#tasks-overdue .task-row").filter(has_text="Confirm the lunch date with Back Bay")
    overdue.get_by_role("button", name="Mark done: Confirm the lunch date with Back Bay").click()
    expect(overdue.get_by_role("button", name="Undo: Confirm the lunch date with Back Bay")).to_be_visible()
    expect(page.locator("#done-today")).to_contain_text("Confirm the lunch date with Back Bay")
    page.reload()
    expect(page.locator("#tasks-overdue")).to_have_count(0)
    done_row = page.locator("#done-today .done-row").filter(has_text="Confirm the lunch date with Back Bay")
    done_row.get_by_role("button", name="Undo: Confirm the lunch date with Back Bay").click()
    _toast(page, "Open again: Confirm the lunch date with Back Bay.")
    expect(page.locator("#tasks-overdue")).to_contain_text("Confirm the lunch date with Back Bay")
    expect(page.locator("#done-today")).not_to_contain_text("Confirm the lunch date with Back Bay")
    with scopes_disabled():
        assert Task.objects.get(title="Confirm the lunch date with Back Bay").done_at is None
    screenshot(page, "my-day-after-the-journey")

    # The task list takes the same bulk action; the rolled-up task's page names its practices.
    page.get_by_role("link", name="All tasks").click()
    expect(page.get_by_role("heading", name="Tasks", level=1)).to_be_visible()
    results = page.locator("#task-results")
    results.get_by_role("checkbox", name="Select: Drop off referral pads at Glow").check()
    results.get_by_role("button", name="Mark selected done").click()
    _toast(page, "1 task done.")
    expect(page.locator("#task-list")).not_to_contain_text("Drop off referral pads at Glow")
    screenshot(page, "task-list")
    page.locator("#task-list").get_by_role("link", name=re.compile("^Send thank-you notes")).click()
    covered = page.locator("#task-covered")
    expect(covered).to_contain_text("Glow Dermatology")
    expect(covered).to_contain_text("2 referrals")
    screenshot(page, "task-rolled-up")


def test_my_day_on_a_phone(phone_page, login, owner, busy_day, screenshot, assert_no_horizontal_scroll):
    login(phone_page, owner.email, TEST_PASSWORD)
    phone_page.goto(f"/s/{busy_day.slug}/outreach/")
    first = phone_page.locator("#patients-to-contact .patient-row").first
    expect(first).to_contain_text("Olive Overton")
    expect(first.get_by_role("button", name="Log attempt: Olive Overton")).to_be_visible()
    expect(first.get_by_role("link", name="Open: Olive Overton")).to_be_visible()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "my-day-phone")
