"""Events' services: planning, inviting (with the guards on practices and people), RSVP and attendance (one
touchpoint per attending practice, undone with the attendance), follow-up tasks (once, even when asked twice),
editing and deleting an event with recorded attendance, and the demo events."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.activity.services import task_create
from outreach.events import selectors as events_selectors
from outreach.events import services as events_services
from outreach.events.demo import seed_events
from outreach.models import Event, EventInvitee, Task, TaskSource, Touchpoint, TouchpointParticipant
from tests.factories import UserFactory

from .helpers import make_clinician, make_contact, make_practice, rows

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = "2026-03-10 15:00:00"  # 11am in New York
Rsvp = EventInvitee.Rsvp


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


@pytest.fixture
def glow(spa, owner):
    return make_practice(spa, name="Glow Dermatology", owner=owner)


@pytest.fixture
def beacon(spa):
    return make_practice(spa, name="Beacon Skin")


def plan(spa, actor, *, starts_at=None, kind=Event.Kind.LUNCH_PRESENTATION, title="Lunch at Glow"):
    with scope(spa=spa):
        return events_services.event_create(
            spa=spa,
            kind=kind,
            title=title,
            starts_at=starts_at or datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK),
            location="Glow's break room",
            actor=actor,
        )


def invite(event, *invitations, actor=None):
    with scope(spa=event.spa):
        return events_services.event_invite(event=event, invitations=list(invitations), actor=actor)


def update(invitee, actor, **changes):
    with scope(spa=invitee.spa):
        return events_services.event_invitee_update(invitee=invitee, actor=actor, **changes)


def touchpoints_of(event):
    return rows(Touchpoint, event=event)


def participants_of(touchpoint):
    return {str(p.person) for p in rows(TouchpointParticipant, touchpoint=touchpoint)}


# --- planning and inviting -------------------------------------------------------------------------


def test_planning_an_event_is_audited(spa, owner):
    event = plan(spa, owner)
    assert rows(Event, spa=spa) == [event]
    assert event.created_by == owner
    assert rows(AuditEvent, spa=spa, action="event.created")[0].object_id == str(event.public_id)


def test_an_event_needs_a_title_and_a_time(spa, owner):
    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        events_services.event_create(spa=spa, kind="lunch_presentation", title="", starts_at=None, actor=owner)
    assert {"title", "starts_at"} <= set(refused.value.message_dict)


def test_inviting_practices_and_named_people_skips_who_is_already_invited(spa, owner, glow, beacon):
    event = plan(spa, owner)
    doctor = make_clinician(glow, first_name="Priya", last_name="Patel")
    manager = make_contact(glow, name="Rosa Alvarez")
    created, skipped = invite(event, (glow, None), (glow, doctor), (beacon, None), actor=owner)
    assert (len(created), skipped) == (3, 0)
    created, skipped = invite(event, (glow, doctor), (glow, None), (glow, manager), actor=owner)
    assert (len(created), skipped) == (1, 2)
    invited = rows(EventInvitee, event=event)
    assert len(invited) == 4
    assert {(i.practice_id, i.clinician_id, i.contact_id) for i in invited} == {
        (glow.pk, None, None),
        (glow.pk, doctor.pk, None),
        (glow.pk, None, manager.pk),
        (beacon.pk, None, None),
    }
    assert all(i.rsvp == Rsvp.PENDING and i.attended is None and i.spa_id == spa.pk for i in invited)
    assert len(rows(AuditEvent, spa=spa, action="event.invited")) == 2


def test_people_must_work_at_the_practice_and_practices_belong_to_the_spa(spa, other_spa, owner, glow, beacon):
    event = plan(spa, owner)
    elsewhere = make_clinician(beacon)
    with pytest.raises(ValidationError, match="works at Glow Dermatology"):
        invite(event, (glow, None), (glow, elsewhere))
    foreign = make_practice(other_spa)
    with pytest.raises(ValidationError, match="Unknown practice"):
        invite(event, (foreign, None))
    foreign_person = make_contact(foreign)
    with pytest.raises(ValidationError):
        invite(event, (glow, foreign_person))
    assert rows(EventInvitee) == []


def test_the_person_of_an_invitee_is_checked_too(spa, owner, glow, beacon):
    event = plan(spa, owner)
    (invitee,), _skipped = invite(event, (glow, None))
    with pytest.raises(ValidationError):
        update(invitee, owner, person=make_contact(beacon))
    doctor = make_clinician(glow)
    update(invitee, owner, person=doctor)
    assert rows(EventInvitee, pk=invitee.pk)[0].clinician == doctor


def test_rsvps_are_recorded_and_audited(spa, owner, glow):
    event = plan(spa, owner, starts_at=datetime.datetime(2026, 4, 1, 17, 30, tzinfo=NEW_YORK))
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, rsvp=Rsvp.MAYBE)
    update(invitee, owner, rsvp=Rsvp.MAYBE)  # no change: no event
    assert rows(EventInvitee, pk=invitee.pk)[0].rsvp == Rsvp.MAYBE
    assert len(rows(AuditEvent, spa=spa, action="event.invitee_updated")) == 1


def test_attendance_waits_for_the_event_to_start(spa, owner, glow):
    event = plan(spa, owner, starts_at=datetime.datetime(2026, 3, 10, 12, 0, tzinfo=NEW_YORK))  # in an hour
    (invitee,), _skipped = invite(event, (glow, None))
    with pytest.raises(ValidationError) as refused:
        update(invitee, owner, attended=True)
    assert "attended" in refused.value.message_dict
    assert rows(EventInvitee, pk=invitee.pk)[0].attended is None
    assert touchpoints_of(event) == []


# --- attendance and touchpoints --------------------------------------------------------------------


def test_attendance_logs_one_touchpoint_per_practice_with_the_attending_people(spa, owner, glow, beacon):
    event = plan(spa, owner)
    doctor = make_clinician(glow, first_name="Priya", last_name="Patel", credentials="MD")
    manager = make_contact(glow, name="Rosa Alvarez")
    created, _skipped = invite(event, (glow, doctor), (glow, manager), (beacon, None))
    by_person = {str(invitee.person or invitee.practice): invitee for invitee in created}
    update(by_person["Priya Patel, MD"], owner, attended=True)
    update(by_person["Priya Patel, MD"], owner, attended=True)  # again: nothing new
    (touchpoint,) = touchpoints_of(event)
    assert (touchpoint.practice, touchpoint.kind, touchpoint.occurred_on) == (
        glow,
        "lunch_presentation",
        datetime.date(2026, 3, 9),
    )
    assert touchpoint.logged_by == owner and "Lunch at Glow" in touchpoint.notes
    assert participants_of(touchpoint) == {"Priya Patel, MD"}
    update(by_person["Rosa Alvarez"], owner, attended=True)
    assert touchpoints_of(event) == [touchpoint]  # the same touchpoint, one more participant
    assert participants_of(touchpoint) == {"Priya Patel, MD", "Rosa Alvarez"}
    update(by_person["Beacon Skin"], owner, attended=True)
    beacon_touchpoint = next(t for t in touchpoints_of(event) if t.practice == beacon)
    assert participants_of(beacon_touchpoint) == set()
    assert len(touchpoints_of(event)) == 2


def test_attendance_set_back_to_no_undoes_the_touchpoint(spa, owner, glow):
    event = plan(spa, owner)
    doctor, nurse = make_clinician(glow, first_name="Ann", last_name="Lee"), make_contact(glow, name="Nia Cole")
    (first, second), _skipped = invite(event, (glow, doctor), (glow, nurse))
    update(first, owner, attended=True)
    update(second, owner, attended=True)
    (touchpoint,) = touchpoints_of(event)
    update(second, owner, attended=False)
    assert participants_of(touchpoint) == {"Ann Lee, MD"}
    update(first, owner, attended=None)
    assert touchpoints_of(event) == []
    assert rows(Touchpoint, practice=glow) == []
    update(first, owner, attended=True)  # and back again: logged afresh
    assert len(touchpoints_of(event)) == 1


def test_removing_an_attendee_updates_the_touchpoint(spa, owner, glow):
    event = plan(spa, owner)
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, attended=True)
    assert len(touchpoints_of(event)) == 1
    with scope(spa=spa):
        events_services.event_invitee_remove(invitee=invitee, actor=owner)
    assert rows(EventInvitee) == [] and touchpoints_of(event) == []
    assert rows(AuditEvent, spa=spa, action="event.invitee_removed")


def test_an_open_house_logs_an_open_house_and_a_lunch_closes_the_lunch_task(spa, owner, glow, beacon):
    lunch_task, _created = _task(spa, glow, kind="lunch_presentation", title="Offer a lunch presentation")
    lunch = plan(spa, owner)
    (guest,), _skipped = invite(lunch, (glow, None))
    update(guest, owner, attended=True)
    assert rows(Task, pk=lunch_task.pk)[0].done_at is not None
    update(guest, owner, attended=False)
    assert rows(Task, pk=lunch_task.pk)[0].done_at is None  # undone with the attendance
    open_house = plan(spa, owner, kind=Event.Kind.OPEN_HOUSE, title="Spring open house")
    (visitor,), _skipped = invite(open_house, (beacon, None))
    update(visitor, owner, attended=True)
    assert [t.kind for t in touchpoints_of(open_house)] == ["open_house"]


def _task(spa, practice, **fields):
    with scope(spa=spa):
        return task_create(spa=spa, practice=practice, due_on=datetime.date(2026, 3, 12), **fields)


# --- follow-ups ------------------------------------------------------------------------------------


def follow_ups(event, actor):
    with scope(spa=event.spa):
        return events_services.event_follow_ups_create(event=event, actor=actor)


def test_follow_ups_are_one_task_per_attending_practice_created_once(spa, owner, staff_user, glow, beacon):
    quiet = make_practice(spa, name="Quiet Clinic")
    event = plan(spa, staff_user)
    doctor, manager = make_clinician(glow, first_name="Ann", last_name="Lee"), make_contact(glow, name="Nia Cole")
    created, _skipped = invite(event, (glow, doctor), (glow, manager), (beacon, None), (quiet, None))
    for invitee in created[:3]:
        update(invitee, owner, attended=True)
    update(created[3], owner, attended=False)
    tasks = follow_ups(event, owner)
    assert len(tasks) == 2
    by_practice = {task.practice: task for task in rows(Task, source=TaskSource.EVENT)}
    assert set(by_practice) == {glow, beacon}
    glow_task, beacon_task = by_practice[glow], by_practice[beacon]
    assert glow_task.assignee == owner  # the practice's owner
    assert beacon_task.assignee == staff_user  # no owner: the event's creator
    assert glow_task.due_on == datetime.date(2026, 3, 11)  # two days after March 9
    assert glow_task.dedupe_key == f"event:{event.pk}:{glow.pk}" and glow_task.event_id == event.pk
    assert glow_task.kind == "follow_up" and "Glow Dermatology" in glow_task.title
    assert "Ann Lee, MD" in glow_task.notes and "Nia Cole" in glow_task.notes
    stamped = rows(Event, pk=event.pk)[0].follow_ups_created_at
    assert stamped is not None
    assert follow_ups(event, owner) == []  # asked twice
    assert len(rows(Task, source=TaskSource.EVENT)) == 2
    assert rows(Event, pk=event.pk)[0].follow_ups_created_at == stamped


def test_a_task_made_by_a_concurrent_click_is_not_made_again(spa, owner, glow):
    event = plan(spa, owner)
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, attended=True)
    # Another request created the task meanwhile (same dedupe key): this one creates nothing.
    _task(spa, glow, title="Follow up", dedupe_key=events_services.follow_up_dedupe_key(event, glow))
    assert follow_ups(event, owner) == []
    assert len(rows(Task, practice=glow)) == 1


def test_a_practice_marked_attended_later_can_still_get_its_follow_up(spa, owner, glow, beacon):
    event = plan(spa, owner)
    (first, second), _skipped = invite(event, (glow, None), (beacon, None))
    update(first, owner, attended=True)
    assert len(follow_ups(event, owner)) == 1
    update(second, owner, attended=True)
    (late,) = follow_ups(event, owner)
    assert late.practice == beacon
    assert len(rows(Task, source=TaskSource.EVENT)) == 2


def test_follow_ups_are_due_today_when_two_days_after_have_passed(spa, owner, glow):
    event = plan(spa, owner, starts_at=datetime.datetime(2026, 2, 20, 12, 0, tzinfo=NEW_YORK))
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, attended=True)
    (task,) = follow_ups(event, owner)
    assert task.due_on == datetime.date(2026, 3, 10)


def test_a_practice_owner_who_left_the_team_does_not_get_the_task(spa, owner, staff_user):
    former = UserFactory()
    practice = make_practice(spa, owner=former)
    event = plan(spa, staff_user)
    (invitee,), _skipped = invite(event, (practice, None))
    update(invitee, owner, attended=True)
    (task,) = follow_ups(event, owner)
    assert task.assignee == staff_user


def test_follow_ups_need_an_event_that_happened_and_attendees(spa, owner, glow):
    upcoming = plan(spa, owner, starts_at=datetime.datetime(2026, 4, 1, 12, 0, tzinfo=NEW_YORK))
    invite(upcoming, (glow, None))
    with pytest.raises(ValidationError, match="after the event"):
        follow_ups(upcoming, owner)
    past = plan(spa, owner)
    invite(past, (glow, None))
    with pytest.raises(ValidationError, match="Mark who attended"):
        follow_ups(past, owner)
    assert rows(Task) == []


# --- editing and deleting --------------------------------------------------------------------------


def test_an_event_with_attendance_cannot_move_into_the_future(spa, owner, glow):
    event = plan(spa, owner)
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, attended=True)
    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        events_services.event_update(
            event=event, actor=owner, starts_at=datetime.datetime(2026, 3, 20, 12, tzinfo=NEW_YORK)
        )
    assert "starts_at" in refused.value.message_dict
    assert rows(Event, pk=event.pk)[0].starts_at == datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK)


def test_a_new_day_or_kind_is_carried_to_the_attendance_touchpoints(spa, owner, glow):
    event = plan(spa, owner)
    doctor = make_clinician(glow, first_name="Ann", last_name="Lee")
    (invitee,), _skipped = invite(event, (glow, doctor))
    update(invitee, owner, attended=True)
    with scope(spa=spa):
        events_services.event_update(
            event=event,
            actor=owner,
            kind=Event.Kind.OPEN_HOUSE,
            starts_at=datetime.datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK),
        )
    (touchpoint,) = touchpoints_of(event)
    assert (touchpoint.kind, touchpoint.occurred_on) == ("open_house", datetime.date(2026, 3, 6))
    assert participants_of(touchpoint) == {"Ann Lee, MD"}
    with scope(spa=spa):
        events_services.event_update(event=event, actor=owner, title="Renamed", location="Elsewhere")
    assert touchpoints_of(event) == [touchpoint]  # nothing to carry: the same touchpoint


def test_an_event_with_attendance_stays_and_one_without_can_be_deleted(spa, owner, glow):
    event = plan(spa, owner)
    (invitee,), _skipped = invite(event, (glow, None))
    update(invitee, owner, attended=True)
    with scope(spa=spa), pytest.raises(ValidationError, match="Attendance is recorded"):
        events_services.event_delete(event=event, actor=owner)
    update(invitee, owner, attended=False)
    with scope(spa=spa):
        events_services.event_delete(event=event, actor=owner)
    assert rows(Event) == [] and rows(EventInvitee) == []
    assert rows(AuditEvent, spa=spa, action="event.deleted")


# --- reads -----------------------------------------------------------------------------------------


def test_the_list_splits_upcoming_and_past_with_counts(spa, owner, glow, beacon):
    past = plan(spa, owner, title="Past lunch")
    soon = plan(spa, owner, title="Open house", starts_at=datetime.datetime(2026, 3, 20, 17, tzinfo=NEW_YORK))
    later = plan(spa, owner, title="Later", starts_at=datetime.datetime(2026, 5, 1, 17, tzinfo=NEW_YORK))
    first, second = invite(soon, (glow, None), (beacon, None))[0]
    update(first, owner, rsvp=Rsvp.YES)
    with scope(spa=spa):
        upcoming = list(events_selectors.event_list(spa=spa, when="upcoming"))
        gone = list(events_selectors.event_list(spa=spa, when="past"))
        counts = events_selectors.event_counts(spa=spa)
    assert upcoming == [soon, later] and gone == [past]
    assert (upcoming[0].invited_count, upcoming[0].coming_count, upcoming[0].pending_count) == (2, 1, 1)
    assert counts == {"upcoming": 2, "past": 1}


def test_the_tallies_count_rsvps_and_attendance(spa, owner, glow, beacon):
    event = plan(spa, owner)
    created, _skipped = invite(event, (glow, None), (glow, make_contact(glow)), (beacon, None))
    update(created[0], owner, rsvp=Rsvp.YES, attended=True)
    update(created[1], owner, rsvp=Rsvp.NO, attended=True)
    update(created[2], owner, rsvp=Rsvp.MAYBE, attended=False)
    with scope(spa=spa):
        tallies = events_selectors.invitee_tallies(events_selectors.event_invitees(spa=spa, event=event))
    assert {key: tallies[key] for key in ("invited", "coming", "maybe", "pending", "declined")} == {
        "invited": 3,
        "coming": 1,
        "maybe": 1,
        "pending": 0,
        "declined": 1,
    }
    assert (tallies["attended"], tallies["absent"], tallies["unrecorded"], tallies["practices_attending"]) == (
        2,
        1,
        0,
        1,
    )


# --- demo data -------------------------------------------------------------------------------------


def test_the_demo_events_are_seeded_once(spa, owner):
    host = make_practice(spa, name="Beacon Skin & Laser", stage="trial")
    make_clinician(host, first_name="Hannah", last_name="Kim")
    make_contact(host, name="Leo Park")
    for name in ("Glow Dermatology", "Riverside Physical Therapy", "Hope Cancer Center"):
        make_clinician(make_practice(spa, name=name, stage="active"))
    assert seed_events(spa, owner) == 2
    assert seed_events(spa, owner) == 0
    lunch, open_house = sorted(rows(Event, spa=spa), key=lambda event: event.starts_at)
    assert lunch.kind == "lunch_presentation" and lunch.follow_ups_created_at is not None
    assert {str(p) for t in touchpoints_of(lunch) for p in rows(TouchpointParticipant, touchpoint=t)} == {
        "Hannah Kim, MD",
        "Leo Park",
    }
    assert len(rows(Task, event=lunch)) == 1
    assert open_house.kind == "open_house" and open_house.starts_at > lunch.starts_at
    guests = rows(EventInvitee, event=open_house)
    assert len(guests) == 3 and {guest.rsvp for guest in guests} == {"yes", "no"}
    assert all(guest.attended is None for guest in guests)
