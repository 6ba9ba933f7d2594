"""Objections and events in the browser: log an objection from a practice's page (the response menu follows the
category), read the library and the summary; plan a lunch presentation, invite practices and a named clinician,
record RSVPs and attendance inline, and create the follow-up tasks."""

import datetime
import re
import zoneinfo

from django.utils import timezone
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from outreach.events.demo import seed_events
from outreach.models import EventInvitee, ObjectionLog, Task, Touchpoint
from outreach.objections.demo import seed_objections
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

OWNER_EMAIL = "maya.owner@lotus-journey.example"
SLUG = "lotus-spa"


def _workspace():
    spa = SpaFactory(name="Lotus Day Spa", slug=SLUG, address="120 Elm Street, Brookline")
    owner = UserFactory(email=OWNER_EMAIL, full_name="Maya Owner")
    MembershipFactory(spa=spa, user=owner, role=Role.OWNER)
    with scope(spa=spa):
        glow = PracticeFactory(spa=spa, name="Glow Dermatology", stage="active", owner=owner)
        ClinicianFactory(spa=spa, practice=glow, first_name="Priya", last_name="Patel", credentials="MD")
        OfficeContactFactory(spa=spa, practice=glow, name="Rosa Alvarez", role="office_manager")
        beacon = PracticeFactory(spa=spa, name="Beacon Skin & Laser", stage="trial", city="Boston")
        ClinicianFactory(spa=spa, practice=beacon, first_name="Hannah", last_name="Kim", credentials="MD")
        OfficeContactFactory(spa=spa, practice=beacon, name="Leo Park")
        PracticeFactory(spa=spa, name="Riverside Physical Therapy", specialty="physical_therapy", city="Cambridge")
        seed_objections(spa, owner)
        seed_events(spa, owner)
    return spa, glow


def _settled(page):
    """htmx wires up a swapped-in row once it settles (20 ms later): wait for that before the next change."""
    expect(page.locator(".htmx-settling, .htmx-request")).to_have_count(0)


def test_objections_are_logged_from_a_practice_and_summarized(page, login, screenshot):
    spa, glow = _workspace()
    login(page, OWNER_EMAIL, TEST_PASSWORD)

    page.goto(f"/s/{SLUG}/partners/{glow.public_id}/")
    card = page.locator("#practice-objections")
    card.get_by_text("Log an objection").click()
    card.get_by_label(re.compile(r"^Objection")).select_option(label="Too busy")
    menu = card.get_by_label("Response used")
    expect(menu.locator("option")).to_have_count(4)  # "No prepared response" and the three "too busy" answers
    menu.select_option(label="We're too busy to take on anything new.")
    card.get_by_label("What was said").fill("Lunch hour is for charting.")
    card.get_by_label("Outcome").select_option(label="Partly resolved")
    card.get_by_role("button", name="Log objection").click()
    expect(page.locator("#practice-objections").get_by_text("Objection logged.")).to_be_visible()
    expect(page.locator("#practice-objections").get_by_text("“Lunch hour is for charting.”")).to_be_visible()
    screenshot(page, "objections-practice-card")
    with scopes_disabled():
        assert ObjectionLog.objects.filter(practice=glow, raised="Lunch hour is for charting.").exists()

    page.goto(f"/s/{SLUG}/outreach/objections/")
    expect(page.get_by_role("heading", name="Objection library")).to_be_visible()
    screenshot(page, "objections-library")
    page.get_by_role("link", name="What comes up").click()
    expect(page.locator("#category-table")).to_contain_text("Too busy")
    screenshot(page, "objections-summary")


def test_a_lunch_presentation_from_invitation_to_follow_ups(page, login, screenshot):
    spa, glow = _workspace()
    login(page, OWNER_EMAIL, TEST_PASSWORD)

    page.goto(f"/s/{SLUG}/outreach/events/")
    screenshot(page, "events-list")
    page.get_by_role("link", name="Plan a lunch presentation").first.click()
    yesterday = timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(spa.timezone)).date() - datetime.timedelta(days=1)
    page.get_by_label("Title").fill("Lunch and learn at Glow")
    page.get_by_label("Date and time").fill(f"{yesterday:%Y-%m-%d}T12:15")
    page.get_by_label("Location").fill("Glow's break room")
    page.get_by_role("button", name="Plan the event").click()
    # Yesterday's lunch, logged after the fact: the form asks once whether the past date is meant.
    expect(page.locator("#id_starts_at_error")).to_contain_text("This date is in the past")
    page.get_by_label("Yes, the date is in the past: record it anyway").check()
    page.get_by_role("button", name="Plan the event").click()
    expect(page.get_by_role("heading", name=re.compile("Lunch and learn at Glow"))).to_be_visible()

    page.get_by_role("link", name="Invite practices").first.click()
    row = page.locator(f'tr[data-practice="{glow.public_id}"]')
    row.get_by_role("checkbox").check()
    row.get_by_label("Person to invite from Glow Dermatology").select_option(label="Priya Patel, MD")
    page.get_by_role("checkbox", name="Beacon Skin & Laser").check()
    screenshot(page, "events-invite")
    page.get_by_role("button", name="Invite the practices ticked").click()
    expect(page.get_by_text("2 invited.")).to_be_visible()

    page.get_by_label("RSVP of Glow Dermatology").select_option(label="Coming")
    expect(page.locator('#event-counts [data-count="coming"]')).to_have_text("1")
    _settled(page)
    attendance = page.get_by_label("Attendance of Glow Dermatology")
    attendance.focus()  # as a click or the keyboard leaves it
    attendance.select_option(label="Attended")
    expect(page.locator('#event-counts [data-count="attended"]')).to_have_text("1")
    _settled(page)
    expect(page.get_by_label("Attendance of Glow Dermatology")).to_be_focused()  # focus survives the redraw
    page.get_by_label("Attendance of Beacon Skin & Laser").select_option(label="Didn't attend")
    expect(page.locator('#event-counts [data-count="absent"]')).to_have_text("1")
    _settled(page)
    with scopes_disabled():
        invitee = EventInvitee.objects.get(practice=glow, event__title="Lunch and learn at Glow")
        assert invitee.attended is True and invitee.rsvp == "yes"
        assert Touchpoint.objects.filter(practice=glow, event=invitee.event, kind="lunch_presentation").count() == 1

    page.get_by_role("button", name="Create the follow-up task (1 practice)").click()
    expect(page.get_by_text("1 follow-up task created")).to_be_visible()
    expect(page.locator("#follow-up-tasks")).to_contain_text("Glow Dermatology")
    screenshot(page, "events-detail")
    with scopes_disabled():
        assert Task.objects.filter(event=invitee.event, practice=glow, source="event").count() == 1


def test_the_pages_fit_a_phone(phone_page, login, screenshot, assert_no_horizontal_scroll):
    spa, glow = _workspace()
    login(phone_page, OWNER_EMAIL, TEST_PASSWORD)
    with scopes_disabled():
        lunch = spa and EventInvitee.objects.filter(event__spa=spa, event__kind="lunch_presentation").first().event
    for name, path in (
        ("phone-objection-library", f"/s/{SLUG}/outreach/objections/"),
        ("phone-objection-summary", f"/s/{SLUG}/outreach/objections/summary/"),
        ("phone-events", f"/s/{SLUG}/outreach/events/"),
        ("phone-event-detail", f"/s/{SLUG}/outreach/events/{lunch.public_id}/"),
        ("phone-practice", f"/s/{SLUG}/partners/{glow.public_id}/"),
    ):
        phone_page.goto(path)
        assert_no_horizontal_scroll(phone_page)
        screenshot(phone_page, name)
