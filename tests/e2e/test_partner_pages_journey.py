"""The partners pages in the browser at 1366×900: a practice's page lists its referrals and keeps its primary
actions above the fold, filters its timeline and undoes a removed touchpoint; the partners list sorts by its
new columns; the pipeline board shows all eight stages without scrolling sideways, declines through a dialog
with the common reasons, and undoes a move from its toast.
Screenshots: practice, partners-list, board (docs/screenshots with E2E_SCREENSHOT_DIR)."""

import datetime
import re

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.models import Touchpoint
from partners import services
from partners.models import Practice, Stage, StageChange
from referrals.models import Status
from tests.factories import TEST_PASSWORD, ClinicianFactory, ReferralFactory

pytestmark = pytest.mark.browser

FOLD = 900


def _practice(spa, owner, name, stage=Stage.ACTIVE, **fields):
    with scope(spa=spa):
        practice = services.practice_create(
            spa=spa,
            actor=owner,
            fields={"name": name, "specialty": "dermatology", "city": "Brookline", "owner": owner, **fields},
        )
        if stage != practice.stage:
            services.practice_move_stage(practice=practice, to_stage=stage, actor=owner, reason="Demo")
    return practice


def _referrals(spa, practice, clinician, count):
    statuses = [Status.RECEIVED, Status.ACCEPTED, Status.SCHEDULED, Status.COMPLETED]
    first_names = [
        "Avery",
        "Blake",
        "Casey",
        "Devon",
        "Emery",
        "Finley",
        "Gray",
        "Harper",
        "Indy",
        "Jules",
        "Kai",
        "Lane",
    ]
    with scopes_disabled():
        for index in range(count):
            received = timezone.now() - datetime.timedelta(days=index * 3, hours=1)
            ReferralFactory(
                spa=spa,
                practice=practice,
                clinician=clinician,
                status=statuses[index % len(statuses)],
                patient_first_name=first_names[index % len(first_names)],
                patient_last_name="Morgan",
                received_at=received,
                first_contact_due_at=received + datetime.timedelta(days=2),
            )


def _below_the_fold(locator):
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box["y"] + box["height"] > FOLD


def test_a_practices_page_lists_its_referrals_and_undoes_a_removed_touchpoint(page, login, spa, owner, screenshot, axe):
    practice = _practice(spa, owner, "Brookline Skin & Laser")
    with scopes_disabled():
        clinician = ClinicianFactory(spa=spa, practice=practice, first_name="Asha", last_name="Patel", credentials="MD")
    _referrals(spa, practice, clinician, 12)
    with scope(spa=spa):
        today = activity_selectors.spa_today(spa)
        for days, kind, notes in [
            (20, "letter", "Introduction letter with the leave-behind."),
            (12, "gift", "Fruit basket for the front desk."),
            (5, "phone_call", "Office manager asked for more pads."),
        ]:
            activity_services.touchpoint_log(
                spa=spa,
                practice=practice,
                kind=kind,
                occurred_on=today - datetime.timedelta(days=days),
                actor=owner,
                notes=notes,
            )
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/{practice.public_id}/")

    # Its referrals: the latest ten with their status, counts by status, "See all".
    card = page.locator("#practice-referrals")
    expect(card.get_by_role("heading", name=re.compile("^Referrals"))).to_be_visible()
    expect(card.locator("#practice-referral-list > li")).to_have_count(10)
    expect(card.locator("#practice-referral-list > li").first).to_contain_text("Avery Morgan")
    expect(card.locator("#practice-referral-list > li").first.locator(".referral-status")).to_have_text("Received")
    expect(card.locator('#practice-referral-counts a[data-status="completed"]')).to_have_text("Completed 3")
    expect(card.get_by_role("link", name="See all 12 referrals in the inbox")).to_be_visible()

    # The primary actions sit above the fold at 1366×900.
    actions = page.locator("#practice-actions")
    for name in ["Log a touchpoint", "Enter a referral"]:
        assert not _below_the_fold(actions.get_by_role("link", name=name)), f"{name} is below the fold"
    assert not _below_the_fold(card.get_by_role("link", name="Enter a referral from this practice"))
    assert not _below_the_fold(card.locator("#practice-referral-list > li").nth(2))
    screenshot(page, "practice")
    assert axe(page) == []

    # "Log a touchpoint" opens the quick-log form.
    actions.get_by_role("link", name="Log a touchpoint").click()
    expect(page.locator("#quick-log")).to_have_attribute("open", "")
    expect(page.locator("#quick-log").get_by_label("What happened")).to_be_focused()

    # The timeline filters: Gifts, Conversations, All.
    activity_card = page.locator("#practice-activity")
    activity_card.get_by_role("link", name="Gifts").click()
    expect(page.locator("#touchpoint-timeline > li")).to_have_count(1)
    expect(page.locator("#touchpoint-timeline")).to_contain_text("Fruit basket")
    page.locator("#practice-activity").get_by_role("link", name="Conversations").click()
    expect(page.locator("#touchpoint-timeline > li")).to_have_count(2)
    expect(page.locator("#touchpoint-timeline")).not_to_contain_text("Fruit basket")
    page.locator("#practice-activity").get_by_role("link", name="All").click()
    expect(page.locator("#touchpoint-timeline > li")).to_have_count(3)

    # Removing an entry asks first, then offers Undo.
    call = page.locator("#touchpoint-timeline > li").filter(has_text="Office manager asked for more pads.")
    call.get_by_role("button", name=re.compile("^Remove")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Remove this touchpoint?")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("#touchpoint-timeline > li")).to_have_count(2)
    toast = page.locator("#toasts .toast").filter(has_text="Touchpoint removed.")
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator("#touchpoint-timeline")).to_contain_text("Office manager asked for more pads.")
    expect(page.locator("#touchpoint-timeline > li")).to_have_count(3)
    with scopes_disabled():
        assert Touchpoint.objects.filter(practice=practice).count() == 3

    # "Enter a referral from this practice" opens manual entry with the practice chosen.
    page.locator("#practice-referrals").get_by_role("link", name="Enter a referral from this practice").click()
    expect(page.get_by_label("Referring practice")).to_have_value(str(practice.public_id))
    expect(page.get_by_label("Referring clinician")).to_contain_text("Asha Patel, MD")


def _board_spa(spa, owner):
    """A practice or two in every stage, with contacts and next steps, like a spa a few months in."""
    names = {
        Stage.PROSPECT: ["Harbor Women's Health", "Cedar Physical Therapy"],
        Stage.RESEARCHED: ["Back Bay Oncology Associates"],
        Stage.CONTACTED: ["Newton Dermatology & Laser Center"],
        Stage.MEETING: ["Charles River Chiropractic"],
        Stage.TRIAL: ["Brookline Plastic Surgery"],
        Stage.ACTIVE: ["Glow Dermatology", "Fenway Sports Medicine"],
        Stage.DORMANT: ["Quincy Family Practice"],
        Stage.DECLINED: ["Somerville Orthopedics"],
    }
    practices = {}
    with scope(spa=spa):
        today = activity_selectors.spa_today(spa)
        for stage, stage_names in names.items():
            for index, name in enumerate(stage_names):
                practice = _practice(spa, owner, name, stage=stage)
                practices[name] = practice
                if stage in (Stage.CONTACTED, Stage.MEETING, Stage.TRIAL, Stage.ACTIVE):
                    activity_services.touchpoint_log(
                        spa=spa,
                        practice=practice,
                        kind="phone_call",
                        occurred_on=today - datetime.timedelta(days=4 + index * 7),
                        actor=owner,
                    )
                    activity_services.task_create(
                        spa=spa,
                        title="Follow-up call with the office manager",
                        due_on=today + datetime.timedelta(days=2 + index),
                        practice=practice,
                        assignee=owner,
                    )
    return practices


def test_the_board_shows_every_stage_declines_through_a_dialog_and_undoes_a_move(
    page, login, spa, owner, screenshot, axe, assert_no_horizontal_scroll
):
    practices = _board_spa(spa, owner)
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/board/")

    # All eight columns fit the 1366-px window: every column's box inside the viewport, no sideways scroll.
    columns = page.locator("section.board-column")
    expect(columns).to_have_count(8)
    viewport = page.viewport_size
    for index in range(8):
        box = columns.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (index, box)
    assert_no_horizontal_scroll(page)
    assert page.evaluate("() => { const b = document.querySelector('.board'); return b.scrollWidth <= b.clientWidth; }")

    # Each card shows its last contact and its next step.
    glow = page.locator(f'article.board-card[data-practice="{practices["Glow Dermatology"].public_id}"]')
    expect(glow.locator(".board-last-contact")).to_contain_text("Last contact")
    expect(glow.locator(".board-next-step")).to_contain_text("Follow-up call with the office manager")
    screenshot(page, "board")
    assert axe(page) == []

    # A move shows a toast; its Undo puts the card back.
    cedar = practices["Cedar Physical Therapy"]
    card = page.locator(f'article.board-card[data-practice="{cedar.public_id}"]')
    card.get_by_label("Move Cedar Physical Therapy to").select_option("researched")
    card.get_by_role("button", name="Move").click()
    expect(
        page.locator(f'.board-dropzone[data-stage="researched"] [data-practice="{cedar.public_id}"]')
    ).to_be_visible()
    toast = page.locator("#toasts .toast").filter(has_text="Cedar Physical Therapy moved to Researched.")
    toast.get_by_role("button", name="Undo").click()
    expect(page.locator(f'.board-dropzone[data-stage="prospect"] [data-practice="{cedar.public_id}"]')).to_be_visible()
    with scopes_disabled():
        assert Practice.objects.get(pk=cedar.pk).stage == Stage.PROSPECT

    # Declining opens a dialog with the common reasons; Cancel leaves the card where it was.
    newton = practices["Newton Dermatology & Laser Center"]
    card = page.locator(f'article.board-card[data-practice="{newton.public_id}"]')
    card.get_by_label("Move Newton Dermatology & Laser Center to").select_option("declined")
    card.get_by_role("button", name="Move").click()
    dialog = page.get_by_role("dialog", name="Why did Newton Dermatology & Laser Center decline?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(card.get_by_label("Move Newton Dermatology & Laser Center to")).to_have_value("contacted")

    # Again: no reason is refused in the dialog; a reason and a few words decline it.
    card.get_by_label("Move Newton Dermatology & Laser Center to").select_option("declined")
    card.get_by_role("button", name="Move").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Move to Declined").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a reason or say why in your words.")
    dialog.get_by_label("Already refers to another spa").check()
    dialog.get_by_label("In your words").fill("Their medical director's sister runs one.")
    dialog.get_by_role("button", name="Move to Declined").click()
    expect(dialog).to_be_hidden()
    declined = page.locator('.board-dropzone[data-stage="declined"]')
    expect(declined.locator(f'[data-practice="{newton.public_id}"]')).to_be_visible()
    with scopes_disabled():
        newton = Practice.objects.get(pk=newton.pk)
        assert newton.stage == Stage.DECLINED
        assert newton.declined_reason == "Already refers to another spa — Their medical director's sister runs one."
        assert (
            StageChange.objects.filter(practice=newton, to_stage=Stage.DECLINED).get().reason == newton.declined_reason
        )


def test_the_partners_list_shows_the_figures_and_sorts_by_them(page, login, spa, owner, screenshot, axe):
    practices = _board_spa(spa, owner)
    _referrals(spa, practices["Glow Dermatology"], None, 5)
    _referrals(spa, practices["Fenway Sports Medicine"], None, 2)
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/")

    table = page.locator("table.practice-table")
    glow = table.locator(f'tr[data-practice="{practices["Glow Dermatology"].public_id}"]')
    expect(glow.locator('[data-column="referrals_90d"]')).to_have_text("5")
    expect(glow.locator('[data-column="health"] [data-health-status]')).to_have_count(1)
    expect(glow.locator('[data-column="last_contact"]')).not_to_have_text("—")
    expect(glow.locator('[data-column="next_task"]')).not_to_have_text("—")
    expect(table.locator('th[data-sort="name"]')).to_have_attribute("aria-sort", "ascending")

    # Most referrals first, then the fewest: the header says which.
    table.get_by_role("link", name="Referrals last 3 months").click()
    expect(page).to_have_url(re.compile(r"sort=-referrals_90d"))
    header = page.locator('th[data-sort="referrals_90d"]')
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("table.practice-table tbody tr").first).to_contain_text("Glow Dermatology")
    expect(page.locator("table.practice-table tbody tr").nth(1)).to_contain_text("Fenway Sports Medicine")
    expect(page.locator('th[data-sort="name"]')).to_have_attribute("aria-sort", "none")
    screenshot(page, "partners-list")
    assert axe(page) == []

    page.locator("table.practice-table").get_by_role("link", name="Referrals last 3 months").click()
    expect(page.locator('th[data-sort="referrals_90d"]')).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("table.practice-table tbody tr").last).to_contain_text("Glow Dermatology")

    # A filter keeps the sort.
    page.get_by_label("Stage").select_option(label="Active partner")
    expect(page.locator("table.practice-table tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"sort=referrals_90d"))
    expect(page.locator("table.practice-table tbody tr").first).to_contain_text("Fenway Sports Medicine")
