"""Events pages: the list (upcoming / past, empty states), planning and editing in the spa's time zone,
inviting practices with filters and named people, the event page's inline RSVP / attendance (htmx), follow-ups,
deleting, the role rules, foreign ids refused, and constant query counts."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.events import services as events
from outreach.models import Event, EventInvitee, Task, Touchpoint

from .helpers import HTMX, field_error, make_clinician, make_contact, make_practice, page_text, rows, url

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = "2026-03-10 15:00:00"  # 11am in New York
PAST = datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK)
FUTURE = datetime.datetime(2026, 3, 24, 17, 30, tzinfo=NEW_YORK)


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def manager_client(manager_user, client_for):
    return client_for(manager_user)


@pytest.fixture
def glow(spa, owner):
    return make_practice(spa, name="Glow Dermatology", owner=owner, city="Brookline")


def plan(spa, actor=None, *, starts_at=PAST, title="Lunch at Glow", kind="lunch_presentation"):
    with scope(spa=spa):
        return events.event_create(spa=spa, kind=kind, title=title, starts_at=starts_at, actor=actor)


def invite(event, *invitations):
    with scope(spa=event.spa):
        created, _skipped = events.event_invite(event=event, invitations=list(invitations), actor=None)
        return created


def queries_for(client, path):
    client.get(path)  # the first visit may note the spa in the session
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context.captured_queries)


# --- the list --------------------------------------------------------------------------------------


def test_the_list_shows_upcoming_events_and_past_ones_on_their_tab(staff_client, spa, glow):
    soon = plan(spa, title="Spring open house", starts_at=FUTURE, kind="open_house")
    plan(spa, title="Lunch at Glow")
    invite(soon, (glow, None))
    upcoming = page_text(staff_client.get(url("event_list", spa)))
    assert "Spring open house" in upcoming and "Lunch at Glow" not in upcoming
    assert "Tuesday, March 24, 2026, 5:30 p.m." in upcoming  # the spa's wall clock
    assert "1 invited" in upcoming and "0 coming" in upcoming
    past = page_text(staff_client.get(url("event_list", spa, query="when=past")))
    assert "Lunch at Glow" in past and "Spring open house" not in past
    assert 'aria-current="page" href="' + url("event_list", spa) in upcoming  # the Events tab lights up


def test_an_empty_list_invites_planning(staff_client, spa):
    text = page_text(staff_client.get(url("event_list", spa)))
    assert "Nothing planned." in text
    assert url("event_create", spa) + "?kind=lunch_presentation" in text
    assert "No past events yet." in page_text(staff_client.get(url("event_list", spa, query="when=past")))


def test_the_list_takes_the_same_queries_for_few_and_many_events(owner_client, spa, glow):
    invite(plan(spa, starts_at=FUTURE), (glow, None))
    few = queries_for(owner_client, url("event_list", spa))
    for index in range(25):
        event = plan(spa, starts_at=FUTURE + datetime.timedelta(days=index), title=f"Event {index}")
        invite(event, (glow, None), (make_practice(spa), None))
    assert queries_for(owner_client, url("event_list", spa)) == few
    assert "Page 1 of 2" in page_text(owner_client.get(url("event_list", spa)))


def test_outsiders_and_anonymous_users_are_kept_out(outsider_client, client, spa, glow):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    for name, args in (
        ("event_list", ()),
        ("event_detail", (event.public_id,)),
        ("event_invite", (event.public_id,)),
        ("event_invitee_update", (event.public_id, invitee.public_id)),
    ):
        assert outsider_client.get(url(name, spa, *args)).status_code == 404
        assert outsider_client.post(url(name, spa, *args), {"rsvp": "no"}).status_code == 404
        anonymous = client.get(url(name, spa, *args))
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert rows(EventInvitee, pk=invitee.pk)[0].rsvp == "pending"


# --- planning --------------------------------------------------------------------------------------


def test_staff_plan_an_event_in_the_spas_time_zone(staff_client, spa, staff_user):
    response = staff_client.post(
        url("event_create", spa),
        {
            "kind": "open_house",
            "title": "Spring open house",
            "starts_at": "2026-03-24T17:30",
            "location": "120 Elm Street",
            "notes": "Tour and refreshments",
        },
    )
    (event,) = rows(Event, spa=spa)
    assert response.status_code == 302 and response["Location"] == url("event_detail", spa, event.public_id)
    assert event.starts_at == FUTURE  # 5:30pm in New York, not UTC
    assert (event.kind, event.location, event.created_by) == ("open_house", "120 Elm Street", staff_user)
    form = page_text(staff_client.get(url("event_edit", spa, event.public_id)))
    assert 'value="2026-03-24T17:30"' in form
    assert "America/New_York" in form


def test_a_refused_event_shows_errors_beside_the_fields(staff_client, spa):
    response = staff_client.post(url("event_create", spa), {"kind": "gala", "title": "", "starts_at": "tomorrow"})
    assert response.status_code == 400
    assert field_error(response, "title") == "This field is required."
    assert field_error(response, "starts_at") == "Enter a valid date/time."
    assert field_error(response, "kind").startswith("Select a valid choice.")
    assert rows(Event) == []


def test_the_kind_is_preselected_from_the_link(staff_client, spa):
    text = page_text(staff_client.get(url("event_create", spa, query="kind=open_house")))
    assert '<option value="open_house" selected>' in text


def test_editing_an_event_with_attendance_into_the_future_is_refused(staff_client, spa, glow, owner):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    with scope(spa=spa):
        events.event_invitee_update(invitee=invitee, attended=True, actor=owner)
    response = staff_client.post(
        url("event_edit", spa, event.public_id),
        {"kind": "lunch_presentation", "title": "Lunch at Glow", "starts_at": "2026-03-30T12:00"},
    )
    assert response.status_code == 400
    assert "its time can't be in the future" in field_error(response, "starts_at")
    assert rows(Event, pk=event.pk)[0].starts_at == PAST


# --- the event page --------------------------------------------------------------------------------


def test_the_event_page_shows_invitees_counts_and_inline_menus(staff_client, spa, glow):
    event = plan(spa, starts_at=FUTURE, title="Spring open house", kind="open_house")
    doctor = make_clinician(glow, first_name="Priya", last_name="Patel")
    beacon = make_practice(spa, name="Beacon Skin")
    first, second, _third = invite(
        event, (glow, doctor), (beacon, None), (make_practice(spa, name="Quiet Clinic"), None)
    )
    with scope(spa=spa):
        events.event_invitee_update(invitee=first, rsvp="yes", actor=None)
        events.event_invitee_update(invitee=second, rsvp="no", actor=None)
    text = page_text(staff_client.get(url("event_detail", spa, event.public_id)))
    assert "Spring open house" in text and "Tuesday, March 24, 2026, 5:30 p.m. EDT" in text
    assert 'data-count="coming">1<' in text and 'data-count="declined">1<' in text
    assert 'data-count="pending">1<' in text and 'data-count="maybe">0<' in text
    assert 'hx-post="' + url("event_invitee_update", spa, event.public_id, first.public_id) in text
    assert f'<option value="clinician:{doctor.public_id}" selected>Priya Patel, MD</option>' in text
    assert "Attendance can be recorded once the event has started." in text
    assert 'name="attended"' not in text  # no attendance menus before the event


def test_an_event_page_without_invitees_says_what_to_do(staff_client, spa):
    event = plan(spa, starts_at=FUTURE)
    text = page_text(staff_client.get(url("event_detail", spa, event.public_id)))
    assert "No one invited yet." in text and url("event_invite", spa, event.public_id) in text


def test_the_event_page_takes_the_same_queries_for_few_and_many_invitees(owner_client, spa, glow, owner):
    event = plan(spa, owner)
    (invitee,) = invite(event, (glow, make_clinician(glow)))
    with scope(spa=spa):
        events.event_invitee_update(invitee=invitee, attended=True, actor=owner)
        events.event_follow_ups_create(event=event, actor=owner)
    few = queries_for(owner_client, url("event_detail", spa, event.public_id))
    for _index in range(15):
        practice = make_practice(spa, owner=owner)
        made = invite(event, (practice, make_clinician(practice)), (practice, make_contact(practice)))
        with scope(spa=spa):
            events.event_invitee_update(invitee=made[0], attended=True, rsvp="yes", actor=owner)
    with scope(spa=spa):
        events.event_follow_ups_create(event=event, actor=owner)
    assert queries_for(owner_client, url("event_detail", spa, event.public_id)) == few


def test_another_spas_event_is_not_found(staff_client, spa, other_spa):
    foreign = plan(other_spa, title="Their lunch")
    for name in ("event_detail", "event_edit", "event_invite"):
        response = staff_client.get(url(name, spa, foreign.public_id))
        assert response.status_code == 404 and "Their lunch" not in page_text(response)


# --- inviting --------------------------------------------------------------------------------------


def test_the_invite_page_filters_practices_and_offers_their_people(staff_client, spa, glow):
    make_clinician(glow, first_name="Priya", last_name="Patel")
    make_practice(spa, name="Riverside PT", specialty="physical_therapy", city="Cambridge")
    event = plan(spa, starts_at=FUTURE)
    text = page_text(staff_client.get(url("event_invite", spa, event.public_id)))
    assert "Glow Dermatology" in text and "Riverside PT" in text and "Priya Patel, MD" in text
    filtered = page_text(
        staff_client.get(url("event_invite", spa, event.public_id, query="specialty=physical_therapy"))
    )
    assert "Riverside PT" in filtered and "Glow Dermatology" not in filtered
    by_city = page_text(staff_client.get(url("event_invite", spa, event.public_id, query="city=Brookline")))
    assert "Glow Dermatology" in by_city and "Riverside PT" not in by_city
    by_name = page_text(staff_client.get(url("event_invite", spa, event.public_id, query="q=Patel")))
    assert "Glow Dermatology" in by_name and "Riverside PT" not in by_name


def test_inviting_practices_with_named_people(staff_client, spa, glow, staff_user):
    doctor = make_clinician(glow, first_name="Priya", last_name="Patel")
    beacon = make_practice(spa, name="Beacon Skin")
    event = plan(spa, starts_at=FUTURE)
    response = staff_client.post(
        url("event_invite", spa, event.public_id),
        {
            "practices": [str(glow.public_id), str(beacon.public_id)],
            f"person_{glow.public_id}": f"clinician:{doctor.public_id}",
            f"person_{beacon.public_id}": "",
        },
        follow=True,
    )
    assert response.status_code == 200 and "2 invited." in page_text(response)
    invited = {(i.practice_id, i.clinician_id) for i in rows(EventInvitee, event=event)}
    assert invited == {(glow.pk, doctor.pk), (beacon.pk, None)}
    again = staff_client.post(
        url("event_invite", spa, event.public_id), {"practices": [str(beacon.public_id)]}, follow=True
    )
    assert "0 invited. 1 already on the list." in page_text(again)
    assert rows(AuditEvent, spa=spa, action="event.invited")[0].actor == staff_user


def test_inviting_refuses_foreign_practices_and_people_from_elsewhere(staff_client, spa, other_spa, glow):
    event = plan(spa, starts_at=FUTURE)
    foreign = make_practice(other_spa, name="Outsider Clinic")
    response = staff_client.post(url("event_invite", spa, event.public_id), {"practices": [str(foreign.public_id)]})
    assert response.status_code == 400
    assert field_error(response, "practices").startswith("Select a valid choice.")
    assert "Outsider Clinic" not in page_text(response)
    beacon = make_practice(spa, name="Beacon Skin")
    elsewhere = make_clinician(beacon, last_name="Elsewhere")
    response = staff_client.post(
        url("event_invite", spa, event.public_id),
        {"practices": [str(glow.public_id)], f"person_{glow.public_id}": f"clinician:{elsewhere.public_id}"},
    )
    assert response.status_code == 400
    assert "Glow Dermatology" in field_error(response, "practices")
    assert f'id="invite-{glow.public_id}" checked' in page_text(response)  # the choice is kept
    nothing = staff_client.post(url("event_invite", spa, event.public_id), {})
    assert field_error(nothing, "practices") == "Choose at least one practice to invite."
    assert rows(EventInvitee) == []


# --- one invitee, inline ---------------------------------------------------------------------------


def test_an_rsvp_changed_inline_answers_the_row_and_the_counts(staff_client, spa, glow):
    event = plan(spa, starts_at=FUTURE)
    (invitee,) = invite(event, (glow, None))
    response = staff_client.post(
        url("event_invitee_update", spa, event.public_id, invitee.public_id), {"rsvp": "yes", "person": ""}, **HTMX
    )
    text = page_text(response)
    assert response.status_code == 200
    assert f'id="invitee-{invitee.public_id}" data-invitee="{invitee.public_id}" hx-swap-oob="true">' in text
    assert (
        '<section class="card shadow-sm mb-4" id="event-counts" aria-labelledby="counts-title" hx-swap-oob="true">'
        in text
    )
    assert 'data-count="coming">1<' in text and 'id="event-follow-ups"' in text
    assert rows(EventInvitee, pk=invitee.pk)[0].rsvp == "yes"


def test_attendance_inline_logs_the_touchpoint_and_offers_follow_ups(staff_client, spa, glow, staff_user):
    event = plan(spa)
    doctor = make_clinician(glow, first_name="Priya", last_name="Patel")
    (invitee,) = invite(event, (glow, doctor))
    response = staff_client.post(
        url("event_invitee_update", spa, event.public_id, invitee.public_id),
        {"rsvp": "yes", "attended": "yes", "person": f"clinician:{doctor.public_id}"},
        **HTMX,
    )
    text = page_text(response)
    assert response.status_code == 200
    assert 'data-count="attended">1<' in text and "Create the follow-up task (1 practice)" in text
    (touchpoint,) = rows(Touchpoint, event=event)
    assert touchpoint.logged_by == staff_user and touchpoint.kind == "lunch_presentation"
    staff_client.post(url("event_invitee_update", spa, event.public_id, invitee.public_id), {"attended": "no"}, **HTMX)
    assert rows(Touchpoint, event=event) == []


def test_a_refused_inline_change_comes_back_with_the_error_and_changes_nothing(staff_client, spa, glow):
    event = plan(spa, starts_at=FUTURE)
    elsewhere = make_clinician(make_practice(spa, name="Beacon Skin"))
    (invitee,) = invite(event, (glow, None))
    prefix = f"invitee-{invitee.public_id}"
    path = url("event_invitee_update", spa, event.public_id, invitee.public_id)
    refused = staff_client.post(path, {"rsvp": "soon", "person": f"clinician:{elsewhere.public_id}"}, **HTMX)
    assert refused.status_code == 400
    assert field_error(refused, "rsvp", prefix=prefix).startswith("Select a valid choice.")
    assert field_error(refused, "person", prefix=prefix).startswith("Select a valid choice.")
    early = staff_client.post(path, {"rsvp": "yes", "attended": "yes"}, **HTMX)
    assert early.status_code == 400
    assert field_error(early, "attended", prefix=prefix) == "Attendance is recorded once the event has started."
    saved = rows(EventInvitee, pk=invitee.pk)[0]
    assert (saved.rsvp, saved.attended, saved.clinician_id) == ("pending", None, None)


def test_without_htmx_the_row_form_redirects_or_shows_its_own_page(staff_client, spa, glow):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    path = url("event_invitee_update", spa, event.public_id, invitee.public_id)
    page = staff_client.get(path)
    assert page.status_code == 200 and "Glow Dermatology at this event" in page_text(page)
    assert "hx-post" not in page_text(page).split("<main")[1]
    saved = staff_client.post(path, {"rsvp": "maybe", "attended": "", "person": ""})
    assert saved.status_code == 302 and saved["Location"] == url("event_detail", spa, event.public_id)
    refused = staff_client.post(path, {"rsvp": "later"})
    assert refused.status_code == 400 and "Glow Dermatology at this event" in page_text(refused)
    assert rows(EventInvitee, pk=invitee.pk)[0].rsvp == "maybe"


def test_an_invitee_of_another_event_or_spa_is_not_found(staff_client, spa, other_spa, glow):
    event, other = plan(spa), plan(spa, title="Other")
    (invitee,) = invite(other, (glow, None))
    foreign_event = plan(other_spa)
    (foreign,) = invite(foreign_event, (make_practice(other_spa), None))
    assert (
        staff_client.post(
            url("event_invitee_update", spa, event.public_id, invitee.public_id), {"rsvp": "no"}
        ).status_code
        == 404
    )
    assert staff_client.post(url("event_invitee_remove", spa, event.public_id, invitee.public_id)).status_code == 404
    assert (
        staff_client.post(
            url("event_invitee_update", spa, foreign_event.public_id, foreign.public_id), {"rsvp": "no"}
        ).status_code
        == 404
    )
    assert rows(EventInvitee, pk=invitee.pk)[0].rsvp == "pending" and rows(EventInvitee, pk=foreign.pk)


def test_removing_an_invitee_inline(staff_client, spa, glow):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    response = staff_client.post(url("event_invitee_remove", spa, event.public_id, invitee.public_id), **HTMX)
    text = page_text(response)
    assert response.status_code == 200
    assert f'<div id="invitee-{invitee.public_id}" hx-swap-oob="delete"></div>' in text
    assert 'data-count="invited"' not in text
    assert 'hx-swap-oob="outerHTML:#invitee-table-wrapper"' in text and "No one invited yet." in text
    assert rows(EventInvitee) == []


# --- follow-ups and deleting -----------------------------------------------------------------------


def test_follow_ups_are_created_once_from_the_event_page(staff_client, spa, glow, owner):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    with scope(spa=spa):
        events.event_invitee_update(invitee=invitee, attended=True, actor=owner)
    path = url("event_follow_ups_create", spa, event.public_id)
    first = staff_client.post(path, follow=True)
    assert "1 follow-up task created" in page_text(first)
    second = staff_client.post(path, follow=True)
    assert "Every attending practice already has its follow-up task." in page_text(second)
    (task,) = rows(Task, event=event)
    assert task.assignee == owner and task.due_on == datetime.date(2026, 3, 11)
    page = page_text(staff_client.get(url("event_detail", spa, event.public_id)))
    assert "Every practice that came has its follow-up task." in page and "due March 11" in page


def test_follow_ups_before_the_event_are_refused_with_a_message(staff_client, spa, glow):
    event = plan(spa, starts_at=FUTURE)
    invite(event, (glow, None))
    response = staff_client.post(url("event_follow_ups_create", spa, event.public_id), follow=True)
    assert "Follow-up tasks are created after the event." in page_text(response)
    assert rows(Task) == []


def test_only_managers_delete_events(staff_client, manager_client, spa, glow):
    event = plan(spa, starts_at=FUTURE)
    assert "Delete event" not in page_text(staff_client.get(url("event_detail", spa, event.public_id)))
    assert staff_client.post(url("event_delete", spa, event.public_id)).status_code == 403
    assert rows(Event, pk=event.pk)
    response = manager_client.post(url("event_delete", spa, event.public_id))
    assert response.status_code == 302 and rows(Event) == []


def test_an_event_with_attendance_is_not_deleted(manager_client, spa, glow, owner):
    event = plan(spa)
    (invitee,) = invite(event, (glow, None))
    with scope(spa=spa):
        events.event_invitee_update(invitee=invitee, attended=True, actor=owner)
    response = manager_client.post(url("event_delete", spa, event.public_id), follow=True)
    assert "Attendance is recorded for this event" in page_text(response)
    assert rows(Event, pk=event.pk)
