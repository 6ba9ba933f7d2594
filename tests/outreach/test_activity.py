"""Touchpoints and tasks: quick-log and the timeline on a practice's page, My day, the task list, done/undo
(which logs or removes the touchpoint), the playbook's one-click tasks and the outreach rhythm settings."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.activity import playbook
from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.models import OutreachSettings, Task, Touchpoint, TouchpointParticipant
from partners.models import Stage

from .helpers import HTMX, field_error, make_clinician, make_contact, make_practice, page_text, rows, url


@pytest.fixture
def practice(spa, owner):
    return make_practice(spa, name="Brookline Dermatology", owner=owner, stage=Stage.CONTACTED)


def _task(spa, **fields):
    fields.setdefault("title", "Call the office manager")
    fields.setdefault("due_on", activity_selectors.spa_today(spa))
    with scope(spa=spa):
        task, _created = activity_services.task_create(spa=spa, **fields)
    return task


def _reload(task):
    with scope(spa=task.spa):
        return Task.objects.get(pk=task.pk)


# --- touchpoints ----------------------------------------------------------------------------------


def test_quick_log_records_a_touchpoint_with_its_people_and_redraws_the_card(owner_client, spa, practice, owner):
    clinician = make_clinician(practice, first_name="Dana", last_name="Derm")
    contact = make_contact(practice, name="Olive Office")
    response = owner_client.post(
        url("touchpoint_log", spa, practice.public_id),
        {
            "kind": "lunch_presentation",
            "occurred_on": activity_selectors.spa_today(spa).isoformat(),
            "outcome": "positive",
            "clinicians": [str(clinician.pk)],
            "contacts": [str(contact.pk)],
            "notes": "Brought the leave-behind; six staff came.",
            "next_step": "Send the pads",
        },
        **HTMX,
    )
    assert response.status_code == 200
    body = page_text(response)
    assert "Touchpoint logged." in body
    assert "15-minute lunch presentation" in body and "Dana Derm" in body and "Olive Office" in body
    (touchpoint,) = rows(Touchpoint, practice=practice)
    assert (touchpoint.kind, touchpoint.outcome, touchpoint.logged_by) == ("lunch_presentation", "positive", owner)
    assert {str(p.person) for p in rows(TouchpointParticipant, touchpoint=touchpoint)} == {
        "Dana Derm, MD",
        "Olive Office",
    }
    assert rows(AuditEvent, action="touchpoint.logged", object_id=str(touchpoint.public_id))


def test_a_next_step_with_a_date_becomes_a_follow_up_task(owner_client, spa, practice, owner):
    next_week = activity_selectors.spa_today(spa) + datetime.timedelta(days=7)
    owner_client.post(
        url("touchpoint_log", spa, practice.public_id),
        {
            "kind": "phone_call",
            "occurred_on": activity_selectors.spa_today(spa).isoformat(),
            "next_step": "Book the lunch presentation",
            "next_step_on": next_week.isoformat(),
        },
    )
    (task,) = rows(Task, practice=practice)
    assert (task.title, task.due_on, task.assignee) == ("Book the lunch presentation", next_week, owner)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "smoke_signal"}, "kind", "Select a valid choice"),
        ({"occurred_on": "not-a-date"}, "occurred_on", "Enter a valid date"),
        ({"occurred_on": "2099-01-01"}, "occurred_on", "once it has happened"),
        ({"next_step_on": "2099-01-01"}, "next_step", "Say what the next step is"),
        ({"clinicians": ["999999"]}, "clinicians", "Select a valid choice"),
        ({"notes": "x" * 4001}, "notes", "at most 4000"),
    ],
)
def test_a_bad_touchpoint_is_refused_beside_the_field(owner_client, spa, practice, data, field, message):
    payload = {"kind": "phone_call", "occurred_on": activity_selectors.spa_today(spa).isoformat(), **data}
    response = owner_client.post(url("touchpoint_log", spa, practice.public_id), payload, **HTMX)
    assert response.status_code == 400
    assert message in (field_error(response, field, prefix="touch") or "")
    assert rows(Touchpoint) == []


def test_a_clinician_of_another_practice_cannot_be_named(owner_client, spa, practice):
    elsewhere = make_clinician(make_practice(spa, name="Other Practice"))
    response = owner_client.post(
        url("touchpoint_log", spa, practice.public_id),
        {
            "kind": "phone_call",
            "occurred_on": activity_selectors.spa_today(spa).isoformat(),
            "clinicians": [elsewhere.pk],
        },
    )
    assert response.status_code == 400
    assert rows(Touchpoint) == []


def test_the_practice_page_shows_the_timeline_newest_first(owner_client, spa, practice, owner):
    with scope(spa=spa):
        for day, kind in [(3, "letter"), (1, "phone_call"), (2, "email")]:
            activity_services.touchpoint_log(
                spa=spa,
                practice=practice,
                kind=kind,
                occurred_on=activity_selectors.spa_today(spa) - datetime.timedelta(days=day),
                actor=owner,
            )
    body = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, practice.public_id])))
    assert "Log a touchpoint" in body
    timeline = body.split('id="touchpoint-timeline"')[1]
    assert timeline.index("Phone call") < timeline.index("Email") < timeline.index("Letter sent")


def test_staff_remove_their_own_touchpoints_only(client_for, staff_user, manager_user, spa, practice, owner):
    with scope(spa=spa):
        owners = activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="email", occurred_on=activity_selectors.spa_today(spa), actor=owner
        )
        staffs = activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="email", occurred_on=activity_selectors.spa_today(spa), actor=staff_user
        )
    staff = client_for(staff_user)
    assert staff.post(url("touchpoint_delete", spa, owners.public_id)).status_code == 404
    assert staff.post(url("touchpoint_delete", spa, staffs.public_id)).status_code == 302
    assert client_for(manager_user).post(url("touchpoint_delete", spa, owners.public_id)).status_code == 302
    assert rows(Touchpoint) == []


def test_outsiders_cannot_log_or_remove_touchpoints(outsider_client, client, spa, practice, owner):
    with scope(spa=spa):
        touchpoint = activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="email", occurred_on=activity_selectors.spa_today(spa), actor=owner
        )
    data = {"kind": "phone_call", "occurred_on": activity_selectors.spa_today(spa).isoformat()}
    assert outsider_client.post(url("touchpoint_log", spa, practice.public_id), data).status_code == 404
    assert outsider_client.post(url("touchpoint_delete", spa, touchpoint.public_id)).status_code == 404
    anonymous = client.post(url("touchpoint_log", spa, practice.public_id), data)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert len(rows(Touchpoint)) == 1


# --- tasks and touchpoints close each other ------------------------------------------------------


def test_logging_a_call_closes_the_open_call_task(spa, practice, owner):
    call = _task(spa, kind="phone_call", practice=practice, assignee=owner)
    letter = _task(spa, kind="letter", practice=practice, assignee=owner)
    with scope(spa=spa):
        touchpoint = activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="phone_call", occurred_on=activity_selectors.spa_today(spa), actor=owner
        )
    assert _reload(call).done_at is not None and _reload(call).touchpoint == touchpoint
    assert _reload(letter).done_at is None


def test_marking_a_letter_task_done_logs_the_letter_and_undo_removes_it(owner_client, spa, practice, owner):
    task = _task(spa, kind="letter", practice=practice, assignee=owner, title="Introduction letter")
    response = owner_client.post(url("task_done", spa, task.public_id), **HTMX)
    assert response.status_code == 200
    assert "Undo: Introduction letter" in page_text(response)
    (touchpoint,) = rows(Touchpoint, practice=practice)
    assert touchpoint.kind == "letter"
    owner_client.post(url("task_undo", spa, task.public_id), **HTMX)
    assert _reload(task).done_at is None
    assert rows(Touchpoint, practice=practice) == []


def test_undoing_a_task_closed_by_a_logged_touchpoint_keeps_the_touchpoint(spa, practice, owner):
    task = _task(spa, kind="email", practice=practice, assignee=owner)
    with scope(spa=spa):
        activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="email", occurred_on=activity_selectors.spa_today(spa), actor=owner
        )
        activity_services.task_reopen(task=task, actor=owner)
    assert len(rows(Touchpoint, practice=practice)) == 1
    assert _reload(task).done_at is None


def test_removing_the_touchpoint_reopens_the_task_it_closed(spa, practice, owner):
    task = _task(spa, kind="phone_call", practice=practice, assignee=owner)
    with scope(spa=spa):
        touchpoint = activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="phone_call", occurred_on=activity_selectors.spa_today(spa), actor=owner
        )
        activity_services.touchpoint_delete(touchpoint=touchpoint, actor=owner)
    assert _reload(task).done_at is None


def test_done_twice_is_done_once(spa, practice, owner):
    task = _task(spa, kind="letter", practice=practice, assignee=owner)
    with scope(spa=spa):
        activity_services.task_complete(task=task, actor=owner)
        activity_services.task_complete(task=task, actor=owner)
    assert len(rows(Touchpoint)) == 1
    assert len(rows(AuditEvent, action="task.done")) == 1


# --- My day and the task list ---------------------------------------------------------------------


@freeze_time("2026-12-01 15:00:00")
def test_my_day_sorts_my_tasks_into_overdue_today_and_upcoming(owner_client, spa, owner, staff_user, practice):
    today = activity_selectors.spa_today(spa)
    _task(spa, title="Overdue letter", due_on=today - datetime.timedelta(days=2), assignee=owner)
    _task(spa, title="Today's call", due_on=today, assignee=owner, practice=practice)
    _task(spa, title="Next week's lunch", due_on=today + datetime.timedelta(days=6), assignee=owner)
    _task(spa, title="Far away", due_on=today + datetime.timedelta(days=40), assignee=owner)
    _task(spa, title="Someone else's", due_on=today, assignee=staff_user)
    body = page_text(owner_client.get(url("my_day", spa)))
    overdue, rest = body.split('id="tasks-today"')
    assert "Overdue letter" in overdue and "overdue since Nov 29" in overdue
    today_part, upcoming = rest.split('id="tasks-upcoming"')
    assert "Today&#x27;s call" in today_part and "Brookline Dermatology" in today_part
    assert "Next week&#x27;s lunch" in upcoming
    assert "Far away" not in body and "Someone else" not in body


def test_my_day_has_an_empty_state_and_a_quick_add(owner_client, spa, owner):
    body = page_text(owner_client.get(url("my_day", spa)))
    assert "Nothing due today" in body
    response = owner_client.post(url("my_day", spa), {"quick-title": "Order new referral pads"})
    assert response.status_code == 302
    (task,) = rows(Task)
    assert (task.title, task.assignee, task.due_on) == (
        "Order new referral pads",
        owner,
        activity_selectors.spa_today(spa),
    )
    refused = owner_client.post(url("my_day", spa), {"quick-title": ""})
    assert refused.status_code == 400 and len(rows(Task)) == 1


def test_the_task_list_filters_and_keeps_its_query_count(owner_client, spa, owner, staff_user, practice):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            response = owner_client.get(url("task_list", spa, query="assignee=me"))
        assert response.status_code == 200
        return len(captured)

    for number in range(3):
        _task(spa, title=f"Mine {number}", assignee=owner, practice=practice)
    count_queries()  # the first request of a session reads a few things once
    few = count_queries()
    for number in range(40):
        _task(spa, title=f"Mine more {number}", assignee=owner, practice=practice, kind="letter")
    assert count_queries() == few
    _task(spa, title="Stacy's task", assignee=staff_user)
    body = page_text(owner_client.get(url("task_list", spa, query="assignee=me")))
    assert "Stacy&#x27;s task" not in body and "Mine 0" in body
    everyone = page_text(owner_client.get(url("task_list", spa, query="assignee=&kind=letter")))
    assert "Mine more 0" in everyone and "Mine 0" not in everyone
    by_name = page_text(owner_client.get(url("task_list", spa, query="assignee=&practice_name=brookline")))
    assert "Mine 0" in by_name and "Stacy&#x27;s task" not in by_name  # Stacy's has no practice


def test_the_task_list_ignores_nonsense_filters(owner_client, spa):
    response = owner_client.get(url("task_list", spa, query="state=banana&assignee=42&practice=zzz&page=-3"))
    assert response.status_code == 200


def test_creating_and_editing_a_task(owner_client, spa, owner, staff_user, practice):
    response = owner_client.post(
        url("task_create", spa),
        {
            "title": "Drop off pads",
            "kind": "follow_up",
            "due_on": "2026-12-10",
            "assignee": staff_user.pk,
            "practice": str(practice.public_id),
            "notes": "",
        },
    )
    assert response.status_code == 302
    (task,) = rows(Task)
    assert (task.assignee, task.practice, task.created_by) == (staff_user, practice, owner)
    owner_client.post(
        url("task_edit", spa, task.public_id),
        {"title": "Drop off pads and the leave-behind", "kind": "follow_up", "due_on": "2026-12-11"},
    )
    task = _reload(task)
    assert (task.title, task.due_on.isoformat(), task.assignee) == (
        "Drop off pads and the leave-behind",
        "2026-12-11",
        None,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"due_on": "31/31/2026"}, "due_on"),
        ({"kind": "bribe"}, "kind"),
        ({"assignee": "999999"}, "assignee"),
        ({"practice": "00000000-0000-0000-0000-000000000000"}, "practice"),
    ],
)
def test_a_bad_task_is_refused_beside_the_field(owner_client, spa, data, field):
    payload = {"title": "Call", "kind": "phone_call", "due_on": "2026-12-10", **data}
    response = owner_client.post(url("task_create", spa), payload)
    assert response.status_code == 400
    assert field_error(response, field)
    assert rows(Task) == []


def test_a_task_cannot_go_to_another_spas_member_or_practice(owner_client, spa, outsider, other_spa):
    foreign_practice = make_practice(other_spa, name="Outsider Dermatology")
    for data in ({"assignee": outsider.pk}, {"practice": str(foreign_practice.public_id)}):
        response = owner_client.post(
            url("task_create", spa), {"title": "Call", "kind": "phone_call", "due_on": "2026-12-10", **data}
        )
        assert response.status_code == 400
    assert rows(Task) == []


def test_outsiders_get_404_on_tasks(outsider_client, client, spa, owner):
    task = _task(spa, assignee=owner)
    for name in ("task_edit", "task_done", "task_undo"):
        method = outsider_client.get if name == "task_edit" else outsider_client.post
        assert method(url(name, spa, task.public_id)).status_code == 404
    assert outsider_client.get(url("my_day", spa)).status_code == 404
    assert client.get(url("my_day", spa)).status_code == 302
    assert _reload(task).done_at is None


def test_the_next_parameter_cannot_send_people_off_site(owner_client, spa, owner):
    task = _task(spa, assignee=owner)
    response = owner_client.post(url("task_done", spa, task.public_id), {"next": "https://evil.example/"})
    assert response["Location"] == url("my_day", spa)


# --- playbook ------------------------------------------------------------------------------------


def test_the_playbook_suggests_the_stage_s_next_steps_and_adds_one_once(owner_client, spa, practice, owner):
    page = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, practice.public_id])))
    assert "Follow-up call within 5 days" in page
    for _attempt in range(2):
        response = owner_client.post(url("task_from_playbook", spa, practice.public_id), {"step": "follow_up_call"})
        assert response.status_code == 302
    (task,) = rows(Task)
    assert (task.kind, task.source, task.assignee) == ("phone_call", "playbook", owner)
    assert task.due_on == activity_selectors.spa_today(spa) + datetime.timedelta(days=5)
    page = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, practice.public_id])))
    assert "On the list, due" in page


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.RESEARCHED, "personalized introduction letter"),
        (Stage.MEETING, "complimentary service to the office staff"),
        (Stage.MEETING, "15-minute lunch presentation"),
        (Stage.ACTIVE, "quarterly check-in"),
    ],
)
def test_the_playbook_follows_the_stage(spa, stage, expected):
    practice = make_practice(spa, stage=stage)
    assert any(expected in str(step.title) for step in playbook.playbook_for(practice))


def test_a_step_from_another_stage_is_refused(owner_client, spa, practice):
    response = owner_client.post(url("task_from_playbook", spa, practice.public_id), {"step": "lunch_presentation"})
    assert response.status_code == 302
    assert rows(Task) == []


def test_a_new_stage_offers_its_steps_afresh(spa, practice, owner):
    with scope(spa=spa):
        playbook.playbook_task_add(spa=spa, practice=practice, step_key="follow_up_call", actor=owner)
        from partners.services import practice_move_stage

        practice_move_stage(practice=practice, to_stage=Stage.MEETING, actor=owner)
        practice.refresh_from_db()
        _task_, created = playbook.playbook_task_add(spa=spa, practice=practice, step_key="staff_service", actor=owner)
    assert created and len(rows(Task)) == 2


def test_the_practice_page_keeps_its_query_count_as_touchpoints_grow(owner_client, spa, practice, owner):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(reverse("partners:detail", args=[spa.slug, practice.public_id])).status_code == 200
        return len(captured)

    clinician = make_clinician(practice)
    with scope(spa=spa):
        activity_services.touchpoint_log(
            spa=spa,
            practice=practice,
            kind="email",
            occurred_on=activity_selectors.spa_today(spa),
            actor=owner,
            clinicians=[clinician],
        )
    count_queries()  # the first request of a session reads a few things once
    few = count_queries()
    with scope(spa=spa):
        for _number in range(25):
            activity_services.touchpoint_log(
                spa=spa,
                practice=practice,
                kind="email",
                occurred_on=activity_selectors.spa_today(spa),
                actor=owner,
                clinicians=[clinician],
            )
            _task(spa, practice=practice, assignee=owner)
    assert count_queries() == few


# --- settings -----------------------------------------------------------------------------------


def test_managers_set_the_outreach_rhythm(client_for, manager_user, staff_client, spa):
    manager = client_for(manager_user)
    response = manager.post(
        url("outreach_settings", spa), {"check_in_cadence_days": 60, "resurface_after_months": 9, "digest_hour": 8}
    )
    assert response.status_code == 302
    (row,) = rows(OutreachSettings, spa=spa)
    assert (row.check_in_cadence_days, row.resurface_after_months, row.digest_hour) == (60, 9, 8)
    assert rows(AuditEvent, action="outreach_settings.updated")
    refused = manager.post(
        url("outreach_settings", spa), {"check_in_cadence_days": 3, "resurface_after_months": 9, "digest_hour": 25}
    )
    assert refused.status_code == 400
    assert field_error(refused, "check_in_cadence_days") and field_error(refused, "digest_hour")
    assert staff_client.get(url("outreach_settings", spa)).status_code == 403
