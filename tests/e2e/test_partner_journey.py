"""The partners journey: add a practice and a clinician, walk it across the board to Active partner, see its history."""

import re

from django_scopes import scopes_disabled
from playwright.sync_api import expect

from partners.models import Practice, StageChange
from spas.models import Role
from tests.factories import TEST_PASSWORD, MembershipFactory, SpaFactory, UserFactory

OWNER_EMAIL = "priya.owner@willow-journey.example"
SPA_SLUG = "willow-spa"
PRACTICE_NAME = "Brookline Skin & Laser"
# The walk across the board: each move, and whether it is made by dragging the card.
MOVES = [
    ("researched", "Researched", False),
    ("contacted", "Contacted", False),
    ("meeting", "Meeting", True),
    ("trial", "Trial", False),
    ("active", "Active partner", False),
]


def _owner_of_a_spa():
    spa = SpaFactory(name="Willow Day Spa", slug=SPA_SLUG)
    owner = UserFactory(email=OWNER_EMAIL, full_name="Priya Owner")
    MembershipFactory(spa=spa, user=owner, role=Role.OWNER)
    return spa


def _card(page, practice_id, stage=None):
    column = f'.board-dropzone[data-stage="{stage}"] ' if stage else ""
    return page.locator(f'{column}article.board-card[data-practice="{practice_id}"]')


def _move_with_the_keyboard(page, practice_id, label):
    """Focus the card's "Move to" menu, pick the stage with the arrow key, tab to Move and press Enter."""
    menu = _card(page, practice_id).get_by_label(f"Move {PRACTICE_NAME} to")
    menu.focus()
    expect(menu).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.locator("option:checked")).to_have_text(label)
    page.keyboard.press("Tab")
    expect(_card(page, practice_id).get_by_role("button", name="Move")).to_be_focused()
    page.keyboard.press("Enter")


def test_an_owner_adds_a_practice_and_clinician_and_walks_it_to_active_partner(page, login, screenshot):
    _owner_of_a_spa()
    login(page, OWNER_EMAIL, TEST_PASSWORD)

    # Add a practice through the form.
    page.locator("nav").get_by_role("link", name="Partners").click()
    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/partners/$"))
    page.get_by_role("link", name="Add practice").click()
    page.get_by_label("Practice name").fill(PRACTICE_NAME)
    page.get_by_label("Specialty").select_option(label="Dermatology")
    page.get_by_label("City").fill("Brookline")
    page.get_by_label("Phone").fill("(617) 555-0199")
    page.get_by_role("button", name="Add practice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRACTICE_NAME)
    expect(page.get_by_role("alert")).to_contain_text(f"{PRACTICE_NAME} added to your pipeline.")
    practice_id = re.search(r"/partners/([0-9a-f-]{36})/$", page.url).group(1)

    # Add a clinician on its page.
    page.get_by_role("link", name="Add clinician").click()
    page.get_by_label("First name").fill("Asha")
    page.get_by_label("Last name").fill("Patel")
    page.get_by_label("Credentials").fill("MD")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/partners/{practice_id}/$"))
    clinicians = page.locator("section", has=page.get_by_role("heading", name="Clinicians"))
    expect(clinicians.get_by_role("link", name="Asha Patel, MD")).to_be_visible()
    expect(clinicians.locator("code")).to_have_text(re.compile(r"^[2-9A-Z]{6}$"))

    # Open the board: the new practice waits in Prospect.
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Partners").click()
    page.get_by_role("link", name="Board").click()
    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/partners/board/$"))
    expect(_card(page, practice_id, "prospect")).to_be_visible()

    # Walk it across, column by column: with the keyboard, and once by dragging the card.
    for stage, label, drag in MOVES:
        if drag:
            _card(page, practice_id).drag_to(page.locator(f'.board-dropzone[data-stage="{stage}"]'))
        else:
            _move_with_the_keyboard(page, practice_id, label)
        expect(_card(page, practice_id, stage)).to_be_visible()
        expect(page.locator(f'section.board-column[data-stage="{stage}"] header')).to_contain_text("1")
    expect(_card(page, practice_id, "active").get_by_label(f"Move {PRACTICE_NAME} to")).to_have_value("active")
    _card(page, practice_id).scroll_into_view_if_needed()  # the board scrolls sideways inside the page
    screenshot(page, "board")

    # The practice page shows every move, newest first.
    page.reload()  # what the board shows after a fresh load, not only after htmx swaps
    expect(_card(page, practice_id, "active")).to_be_visible()
    _card(page, practice_id).get_by_role("link", name=PRACTICE_NAME).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PRACTICE_NAME)
    expect(page.locator(".badge.stage-active")).to_have_text("Active partner")
    history = page.locator("#stage-history > li")
    expected = ["Prospect", "Prospect → Researched", "Researched → Contacted", "Contacted → Meeting"]
    expected += ["Meeting → Trial", "Trial → Active partner"]
    expect(history).to_have_count(len(expected))
    for item, text in zip(history.all(), reversed(expected), strict=True):
        expect(item).to_contain_text(text)
        expect(item).to_contain_text("Priya Owner")
    screenshot(page, "practice-page")

    with scopes_disabled():
        practice = Practice.objects.get(public_id=practice_id)
        moves = list(StageChange.objects.filter(practice=practice).order_by("changed_at", "id"))
    assert practice.stage == "active"
    assert [(move.from_stage, move.to_stage) for move in moves] == [
        ("", "prospect"),
        ("prospect", "researched"),
        ("researched", "contacted"),
        ("contacted", "meeting"),
        ("meeting", "trial"),
        ("trial", "active"),
    ]


def test_the_partners_list_fits_a_phone_without_sideways_scrolling(
    phone_page, login, screenshot, assert_no_horizontal_scroll
):
    spa = _owner_of_a_spa()
    with scopes_disabled():
        for number in range(3):
            Practice.objects.create(
                spa=spa,
                name=f"Pacific Coast Comprehensive Dermatology and Laser Surgery Associates {number}",
                specialty="dermatology",
                city="Brookline",
                phone="(617) 555-0100",
            )
    login(phone_page, OWNER_EMAIL, TEST_PASSWORD)

    phone_page.goto(f"/s/{SPA_SLUG}/partners/")

    expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
    expect(
        phone_page.get_by_text("Pacific Coast Comprehensive Dermatology and Laser Surgery Associates 2")
    ).to_be_visible()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "partners-list-phone")
