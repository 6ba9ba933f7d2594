"""The campaign journey in the browser: a manager creates a campaign for three practices (live preview of the
segment) → launches it → the three letter tasks are on My day → the letter is marked done and a call is
logged at that practice → the campaign's page shows the practice at 2 of 3 steps and the overall progress."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

import outreach.campaigns.services  # noqa: F401 - registers the task hooks (apps.ready imports it too)
from outreach.models import Campaign, CampaignEnrollment, Task
from partners.models import Stage
from spas.models import Role
from tests.factories import TEST_PASSWORD, LetterTemplateFactory, MembershipFactory, PracticeFactory, UserFactory

pytestmark = pytest.mark.browser

MANAGER_EMAIL = "mara.manager@serene.example"
TARGETS = ["Harbor Oncology Associates", "North Shore Cancer Care", "Salem Hematology & Oncology"]


@pytest.fixture
def manager(spa, owner):
    return MembershipFactory(
        spa=spa, role=Role.MANAGER, user=UserFactory(email=MANAGER_EMAIL, full_name="Mara Manager")
    ).user


@pytest.fixture
def practices(spa, owner):
    targets = [
        PracticeFactory(spa=spa, name=name, specialty="oncology", city="Salem", stage=Stage.RESEARCHED)
        for name in TARGETS
    ]
    # Near misses: same specialty elsewhere, same city other specialty, same place but already a partner.
    PracticeFactory(spa=spa, name="Boston Oncology Group", specialty="oncology", city="Boston", stage=Stage.RESEARCHED)
    PracticeFactory(spa=spa, name="Salem Skin Clinic", specialty="dermatology", city="Salem", stage=Stage.RESEARCHED)
    PracticeFactory(spa=spa, name="Witch City Oncology", specialty="oncology", city="Salem", stage=Stage.ACTIVE)
    return targets


def test_a_manager_runs_a_campaign_from_creation_to_progress(page, login, spa, manager, practices, screenshot):
    LetterTemplateFactory(spa=spa, name="Oncology introduction")
    login(page, MANAGER_EMAIL, TEST_PASSWORD)

    # Campaigns is a tab of Outreach; the empty list invites the first campaign.
    page.goto(f"/s/{spa.slug}/outreach/")
    page.get_by_role("navigation", name="Outreach sections").get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()
    expect(page.get_by_text("No campaigns yet.")).to_be_visible()
    page.locator("main").get_by_role("link", name="New campaign").first.click()
    expect(page.get_by_role("heading", name="New campaign", level=1)).to_be_visible()

    page.get_by_label("Name").fill("Oncology massage introductions")
    page.get_by_label("Goal").fill("Introduce oncology massage to the Salem oncology practices.")
    preview = page.locator("#segment-preview")
    expect(preview).to_contain_text("6 practices match")
    # The preview follows each choice without a reload.
    page.get_by_label("Specialty").select_option(label="Oncology")
    expect(preview).to_contain_text("5 practices match")
    page.get_by_label("City").select_option("Salem")
    expect(preview).to_contain_text("4 practices match")
    page.get_by_label("Stage").select_option(label="Researched")
    expect(preview).to_contain_text("3 practices match")
    for name in TARGETS:
        expect(preview).to_contain_text(name)
    expect(preview).not_to_contain_text("Witch City Oncology")

    # The default sequence is ready: letter → call after 5 days → lunch invitation after 14; pick the letter.
    steps = page.locator(".campaign-step")
    expect(steps).to_have_count(3)
    expect(steps.nth(0).get_by_label("Step", exact=True)).to_have_value("letter")
    expect(steps.nth(1).get_by_label("Step", exact=True)).to_have_value("phone_call")
    expect(steps.nth(1).get_by_label("Days after the previous step")).to_have_value("5")
    expect(steps.nth(2).get_by_label("Step", exact=True)).to_have_value("lunch_presentation")
    expect(steps.nth(2).get_by_label("Days after the previous step")).to_have_value("14")
    steps.nth(0).get_by_label("Letter").select_option(label="Oncology introduction")
    screenshot(page, "campaign-new")

    page.get_by_role("button", name="Save and launch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Oncology massage introductions")
    expect(page.get_by_role("alert").filter(has_text="3 practices enrolled")).to_be_visible()
    table = page.locator("table.campaign-practices")
    expect(table.locator("tbody tr")).to_have_count(3)
    with scopes_disabled():
        campaign = Campaign.objects.get()
        assert campaign.status == Campaign.Status.RUNNING
        assert sorted(e.practice.name for e in CampaignEnrollment.objects.filter(campaign=campaign)) == TARGETS

    # My day: the three letters are due today, for the manager (the practices have no owner).
    page.get_by_role("navigation", name="Outreach sections").get_by_role("link", name="My day").click()
    today = page.locator("#tasks-today")
    for name in TARGETS:
        expect(today.locator(".task-row").filter(has_text=f"Send a letter · {name}")).to_be_visible()
    first = TARGETS[0]
    letter_row = today.locator(".task-row").filter(has_text=f"Send a letter · {first}")
    expect(letter_row).to_contain_text("Oncology massage introductions")
    letter_row.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(letter_row.get_by_role("button", name=re.compile("^Undo"))).to_be_visible()

    # The call step's task now exists (due in five days); logging the call at the practice closes it.
    with scopes_disabled():
        call = Task.objects.get(practice__name=first, kind="phone_call", done_at=None)
        practice_id = call.practice.public_id
    page.goto(f"/s/{spa.slug}/partners/{practice_id}/")
    expect(page.locator("#practice-open-tasks")).to_contain_text(f"Follow-up call about the letter · {first}")
    quick_log = page.locator("#quick-log")
    quick_log.get_by_text("Log a touchpoint").click()
    quick_log.get_by_label("What happened").select_option(label="Phone call")
    quick_log.get_by_label("Outcome").select_option(label="Went well")
    quick_log.get_by_label("Notes").fill("Spoke to the practice manager; open to a lunch presentation.")
    quick_log.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#touchpoint-timeline")).to_contain_text("Phone call")
    with scopes_disabled():
        assert Task.objects.get(pk=call.pk).done_at is not None

    # The practice's campaign card, and the campaign's page: 2 of 3 steps, overall progress moved.
    page.reload()
    card = page.locator("#practice-campaigns")
    expect(card).to_contain_text("2 of 3 steps")
    expect(card).to_contain_text("Next: Invite to a 15-minute lunch presentation")
    card.get_by_role("link", name="Oncology massage introductions").click()
    row = page.locator("table.campaign-practices tbody tr").filter(has_text=first)
    expect(row).to_contain_text("2 of 3")
    expect(row).to_contain_text("Invite to a 15-minute lunch presentation")
    for name in TARGETS[1:]:
        expect(page.locator("table.campaign-practices tbody tr").filter(has_text=name)).to_contain_text("0 of 3")
    percent = page.locator("#progress-percent")
    expect(percent).to_have_text("22%")  # 2 of 9 steps
    expect(page.locator("progress.campaign-progress-overall")).to_have_attribute("value", "22")
    expect(page.locator('[data-result="touchpoints"] .campaign-result-value')).to_have_text("2")
    screenshot(page, "campaign-detail")

    # And the list shows it running with its progress.
    page.get_by_role("link", name="Campaigns").first.click()
    listed = page.locator("tr", has_text="Oncology massage introductions")
    expect(listed).to_contain_text("Running")
    expect(listed).to_contain_text("22%")
