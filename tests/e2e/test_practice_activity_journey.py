"""Day-to-day relationship work in the browser: log a touchpoint from a practice's page (htmx, no reload),
add the playbook's next step, tick it off on My day and undo it."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from outreach.models import Task, Touchpoint
from partners.models import Stage
from tests.factories import TEST_PASSWORD, ClinicianFactory, OfficeContactFactory, PracticeFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def practice(spa, owner):
    practice = PracticeFactory(spa=spa, name="Brookline Dermatology", stage=Stage.CONTACTED, owner=owner)
    ClinicianFactory(spa=spa, practice=practice, first_name="Dana", last_name="Derm", credentials="MD")
    OfficeContactFactory(spa=spa, practice=practice, name="Olive Office")
    return practice


def test_log_a_touchpoint_add_the_next_step_and_tick_it_off(page, login, spa, owner, practice, screenshot):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/partners/{practice.public_id}/")

    # Quick-log a call with the office manager; the card redraws in place.
    card = page.locator("#practice-activity")
    card.get_by_text("Log a touchpoint").click()
    card.get_by_label("What happened").select_option(label="Phone call")
    card.get_by_role("checkbox", name="Olive Office").check()
    card.get_by_label("Outcome").select_option(label="Went well")
    card.get_by_label("Notes").fill("She suggested a lunch presentation in January.")
    card.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#practice-activity").get_by_role("status")).to_have_text("Touchpoint logged.")
    timeline = page.locator("#touchpoint-timeline")
    expect(timeline).to_contain_text("Phone call")
    expect(timeline).to_contain_text("Olive Office")
    expect(timeline).to_contain_text("She suggested a lunch presentation in January.")

    # The playbook for "Contacted" suggests the follow-up call; one click makes it a task.
    playbook = page.locator("#playbook")
    expect(playbook).to_contain_text("Follow-up call within 5 days")
    playbook.get_by_role("button", name="Add as a task").click()
    expect(page.get_by_text(re.compile(r"Added “Follow-up call within 5 days"))).to_be_visible()
    expect(page.locator("#playbook")).to_contain_text("On the list, due")
    screenshot(page, "practice-activity")

    # On My day it is coming up; tick it off, then undo.
    page.locator("nav").get_by_role("link", name="Outreach").click()
    expect(page.get_by_role("heading", name=re.compile("^My day"))).to_be_visible()
    # A click before htmx has wired the page submits the form the old way (a reload that shows the task under
    # "Done today" instead of in its row): wait, as a person would, for the page to finish loading.
    page.wait_for_load_state("load")
    row = page.locator(".task-row").filter(has_text="Follow-up call within 5 days")
    row.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(row.get_by_role("button", name=re.compile("^Undo"))).to_be_visible()
    screenshot(page, "my-day")
    with scopes_disabled():
        task = Task.objects.get(source="playbook")
        assert task.done_at is not None
        assert Touchpoint.objects.filter(kind="phone_call").count() == 2  # the quick-log and the ticked call
    row.get_by_role("button", name=re.compile("^Undo")).click()
    expect(row.get_by_role("button", name=re.compile("^Mark done"))).to_be_visible()
    with scopes_disabled():
        assert Touchpoint.objects.filter(kind="phone_call").count() == 1
