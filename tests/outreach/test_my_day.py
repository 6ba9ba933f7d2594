"""My day: patients to contact (new and due referrals, overdue first, one-tap attempt through the referral page's
own action), tasks completed in bulk with one Undo, snoozed to tomorrow or next week, "Done today" with an Undo
that survives a reload, and past due dates confirmed on every form that creates a task."""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from outreach.models import Task, TaskKind, TaskPractice, TaskSource, Touchpoint
from partners.models import Stage
from referrals.models import Referral, ReferralEvent, Status
from tests.factories import ReferralFactory

from .helpers import HTMX, field_error, make_practice, page_text, rows, url


@pytest.fixture
def practice(spa, owner):
    return make_practice(spa, name="Glow Dermatology", owner=owner, stage=Stage.ACTIVE)


def _task(spa, **fields):
    fields.setdefault("title", "Call the office manager")
    fields.setdefault("due_on", activity_selectors.spa_today(spa))
    with scope(spa=spa):
        task, _created = activity_services.task_create(spa=spa, **fields)
    return task


def _reload(model, obj):
    [fresh] = rows(model, pk=obj.pk)
    return fresh


def _referral(practice, *, due_in_hours, status=Status.RECEIVED, **fields):
    now = timezone.now()
    with scope(spa=practice.spa):
        return ReferralFactory(
            practice=practice,
            status=status,
            received_at=now - datetime.timedelta(days=3),
            first_contact_due_at=now + datetime.timedelta(hours=due_in_hours),
            **fields,
        )


def _section(body, element_id):
    """The HTML of the element with ``element_id`` up to the next section of My day."""
    start = body.index(f'id="{element_id}"')
    return body[start:]


def _toast(response):
    return json.loads(response["HX-Trigger"])["showToast"]


def _htmx_from(page_url, target):
    return {**HTMX, "HTTP_HX_TARGET": target, "HTTP_HX_CURRENT_URL": f"http://testserver{page_url}"}


# --- patients to contact --------------------------------------------------------------------------


def test_patients_to_contact_lists_new_and_due_referrals_overdue_first(owner_client, spa, owner, practice):
    back_bay = make_practice(spa, name="Back Bay PT")
    later = _referral(practice, due_in_hours=30, patient_first_name="Later", patient_last_name="Lane")
    overdue = _referral(back_bay, due_in_hours=-5, patient_first_name="Olive", patient_last_name="Overdue")
    accepted = _referral(
        practice, due_in_hours=2, status=Status.ACCEPTED, patient_first_name="Ada", patient_last_name="Accepted"
    )
    # A text was sent: the follow-up it owes comes before its (long past) first-contact time.
    awaiting = _referral(
        practice,
        due_in_hours=-48,
        status=Status.CONTACTED,
        follow_up_due_at=timezone.now() + datetime.timedelta(hours=10),
        patient_first_name="Wanda",
        patient_last_name="Waiting",
    )
    _referral(
        practice, due_in_hours=-50, status=Status.CONTACTED, patient_first_name="Reached", patient_last_name="Already"
    )
    _referral(
        practice, due_in_hours=-50, status=Status.SCHEDULED, patient_first_name="Booked", patient_last_name="Booker"
    )
    _referral(
        practice, due_in_hours=-50, status=Status.DECLINED, patient_first_name="Declined", patient_last_name="Dee"
    )
    body = page_text(owner_client.get(url("my_day", spa)))
    patients = body[body.index('id="patients-to-contact"') : body.index('id="my-day-tasks"')]
    order = re.findall(r'data-referral="([0-9a-f-]+)"', patients)
    assert order == [str(r.public_id) for r in (overdue, accepted, awaiting, later)]
    assert "Reached Already" not in patients and "Booked Booker" not in patients and "Declined Dee" not in patients
    assert "1 overdue" in patients
    olive = patients[patients.index("Olive Overdue") :]
    assert "Back Bay PT" in olive[:1500] and "overdue since" in olive[:1500]
    assert "Awaiting a reply" in patients and "follow up by" in patients
    # Accepted ones log an attempt through the referral page's own address; new ones are accepted there.
    attempt_url = reverse("referrals:action_attempt", args=[spa.slug, accepted.public_id])
    accept_url = reverse("referrals:action_accept", args=[spa.slug, overdue.public_id])
    assert f'hx-post="{attempt_url}"' in patients and f'hx-post="{accept_url}"' in patients
    for value, _label in ReferralEvent.Outcome.choices:
        assert f'name="outcome" value="{value}"' in patients
    assert reverse("referrals:detail", args=[spa.slug, later.public_id]) in patients


def test_patients_are_mine_and_unassigned_unless_everyone_s_is_chosen(owner_client, spa, owner, staff_user, practice):
    _referral(practice, due_in_hours=1, assignee=owner, patient_first_name="Mine", patient_last_name="Minnow")
    _referral(practice, due_in_hours=2, patient_first_name="Nobody", patient_last_name="Yet")
    _referral(practice, due_in_hours=3, assignee=staff_user, patient_first_name="Stacys", patient_last_name="Patient")
    mine = page_text(owner_client.get(url("my_day", spa)))
    assert "Mine Minnow" in mine and "Nobody Yet" in mine and "Stacys Patient" not in mine
    everyone = page_text(owner_client.get(url("my_day", spa, query="patients=all")))
    assert "Mine Minnow" in everyone and "Stacys Patient" in everyone and "Stacy Staff" in everyone
    # The partial that redraws the list after an attempt keeps the choice.
    partial = page_text(owner_client.get(url("my_day_patients", spa, query="patients=all"), **HTMX))
    assert "Stacys Patient" in partial and "?patients=all" in partial


def test_patients_to_contact_has_an_empty_state(owner_client, spa, practice, staff_user):
    body = page_text(owner_client.get(url("my_day", spa)))
    assert 'id="patients-empty"' in body and "Nobody of yours needs contacting right now." in body
    _referral(practice, due_in_hours=1, assignee=staff_user)
    body = page_text(owner_client.get(url("my_day", spa)))
    assert "See the team's 1" in body


def test_patients_of_other_spas_never_show(owner_client, spa, other_spa, outsider):
    theirs = make_practice(other_spa, name="Outsider Skin")
    _referral(theirs, due_in_hours=-3, patient_first_name="Foreign", patient_last_name="Patient")
    body = page_text(owner_client.get(url("my_day", spa, query="patients=all")))
    assert "Foreign Patient" not in body and 'id="patients-empty"' in body


def test_one_tap_logs_an_attempt_through_the_referral_page_s_action(owner_client, spa, owner, practice):
    referral = _referral(
        practice, due_in_hours=-2, status=Status.ACCEPTED, patient_first_name="Olive", patient_last_name="Overdue"
    )
    attempt_url = reverse("referrals:action_attempt", args=[spa.slug, referral.public_id])
    response = owner_client.post(attempt_url, {"outcome": "no_answer", "version": referral.version}, **HTMX)
    assert response.status_code == 200
    [event] = rows(ReferralEvent, referral=referral, kind=ReferralEvent.Kind.ATTEMPT)
    assert event.outcome == "no_answer" and event.actor == owner
    # My day's list, drawn again, says what happened last.
    partial = page_text(owner_client.get(url("my_day_patients", spa), **HTMX))
    assert "Olive Overdue" in partial and "last try: No answer" in partial
    # Tried and not reached: due again (still listed, in its place), no longer late like an untried one.
    assert "not reached yet, 1 attempt" in partial and "overdue" not in partial
    # A stale page (someone else acted since) changes nothing.
    stale = owner_client.post(attempt_url, {"outcome": "no_answer", "version": referral.version}, **HTMX)
    assert stale.status_code == 400
    assert len(rows(ReferralEvent, referral=referral, kind=ReferralEvent.Kind.ATTEMPT)) == 1


def test_my_day_keeps_its_query_count_as_patients_and_tasks_grow(owner_client, spa, owner, practice):
    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(url("my_day", spa)).status_code == 200
        return len(captured)

    def add(number):
        referral = _referral(practice, due_in_hours=number - 5, status=Status.ACCEPTED, assignee=owner)
        with scope(spa=spa):
            ReferralEvent.objects.create(
                spa=spa, referral=referral, kind=ReferralEvent.Kind.ATTEMPT, outcome="voicemail", actor=owner
            )
        _referral(practice, due_in_hours=number, follow_up_due_at=None)
        task = _task(spa, title=f"Task {number}", assignee=owner, practice=practice, kind="letter")
        with scope(spa=spa):
            TaskPractice.objects.create(spa=spa, task=task, practice=make_practice(spa, name=f"Covered {number}"))
        done = _task(spa, title=f"Done {number}", assignee=owner, practice=practice, kind="letter")
        with scope(spa=spa):
            activity_services.task_complete(task=done, actor=owner)

    add(0)
    count_queries()  # the first request of a session reads a few things once
    few = count_queries()
    for number in range(1, 15):
        add(number)
    assert count_queries() == few


def test_outsiders_cannot_read_the_patients(outsider_client, client, spa, practice):
    _referral(practice, due_in_hours=1, patient_first_name="Private", patient_last_name="Person")
    assert outsider_client.get(url("my_day_patients", spa), **HTMX).status_code == 404
    anonymous = client.get(url("my_day_patients", spa), **HTMX)
    assert anonymous.status_code == 204 and "/accounts/login/" in anonymous["HX-Redirect"]
    assert "Private Person" not in page_text(anonymous)


# --- bulk done and its Undo -----------------------------------------------------------------------


def test_bulk_done_from_my_day_then_one_undo_restores_them_all(owner_client, spa, owner, practice):
    letter = _task(spa, title="Introduction letter", kind="letter", practice=practice, assignee=owner)
    call = _task(spa, title="Follow-up call", kind="phone_call", practice=practice, assignee=owner)
    keep = _task(spa, title="Stays open", assignee=owner)
    response = owner_client.post(
        url("task_bulk_done", spa),
        {"task": [str(letter.public_id), str(call.public_id)]},
        **_htmx_from(url("my_day", spa), "my-day-tasks"),
    )
    assert response.status_code == 200
    assert _reload(Task, letter).done_at and _reload(Task, call).done_at and not _reload(Task, keep).done_at
    assert sorted(tp.kind for tp in rows(Touchpoint, practice=practice)) == ["letter", "phone_call"]
    body = page_text(response)
    assert body.lstrip().startswith('<div class="row g-4" id="my-day-tasks">')
    done_today = _section(body, "done-today")
    assert "Introduction letter" in done_today and "Follow-up call" in done_today and "Stays open" not in done_today
    toast = _toast(response)
    assert toast["message"] == "2 tasks done."
    undo = owner_client.post(toast["undoUrl"], **HTMX)
    assert undo.status_code == 204 and undo["HX-Refresh"] == "true"
    assert _reload(Task, letter).done_at is None and _reload(Task, call).done_at is None
    assert rows(Touchpoint, practice=practice) == []
    assert len(rows(AuditEvent, action="task.reopened")) == 2


def test_bulk_done_on_the_task_list_redraws_the_list_with_its_filters(owner_client, spa, owner, staff_user):
    mine = [_task(spa, title=f"Mine {n}", assignee=owner) for n in range(3)]
    _task(spa, title="Stacy's task", assignee=staff_user)
    list_url = url("task_list", spa, query="assignee=me")
    response = owner_client.post(
        url("task_bulk_done", spa),
        {"task": [str(t.public_id) for t in mine[:2]]},
        **_htmx_from(list_url, "task-results"),
    )
    assert response.status_code == 200
    body = page_text(response)
    assert 'id="task-list"' in body and "Mine 2" in body and "Stacy&#x27;s task" not in body
    assert "Mine 0" not in body  # the list shows open tasks, as the filters say
    assert _toast(response)["message"] == "2 tasks done."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Tick the tasks to mark done first."),
        ({"task": ["not-a-uuid"]}, "Choose tasks from the list."),
        ({"task": ["00000000-0000-0000-0000-000000000000"]}, "None of those tasks is open any more."),
    ],
)
def test_a_bad_bulk_selection_changes_nothing_and_says_why(owner_client, spa, owner, data, message):
    task = _task(spa, assignee=owner)
    response = owner_client.post(url("task_bulk_done", spa), data, **_htmx_from(url("my_day", spa), "my-day-tasks"))
    assert response.status_code == 200
    assert _toast(response) == {"message": message, "level": "warning"}
    assert _reload(Task, task).done_at is None


def test_bulk_actions_cannot_reach_another_spa_s_tasks(
    owner_client, outsider_client, client, spa, other_spa, owner, outsider
):
    theirs = _task(other_spa, title="Their task", assignee=outsider)
    ours = _task(spa, title="Our task", assignee=owner)
    response = owner_client.post(url("task_bulk_done", spa), {"task": [str(theirs.public_id)]})
    assert response.status_code == 302
    assert _reload(Task, theirs).done_at is None
    for attempt in (
        outsider_client.post(url("task_bulk_done", spa), {"task": [str(ours.public_id)]}),
        outsider_client.post(url("task_bulk_undo", spa, query=f"task={ours.public_id}")),
    ):
        assert attempt.status_code == 404
    anonymous = client.post(url("task_bulk_done", spa), {"task": [str(ours.public_id)]})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert _reload(Task, ours).done_at is None


def test_a_plain_bulk_post_goes_back_with_a_message(owner_client, spa, owner):
    tasks = [_task(spa, title=f"Task {n}", assignee=owner) for n in range(2)]
    response = owner_client.post(url("task_bulk_done", spa), {"task": [str(t.public_id) for t in tasks]}, follow=True)
    assert "2 tasks done." in page_text(response)
    assert all(_reload(Task, task).done_at for task in tasks)


# --- snooze ---------------------------------------------------------------------------------------


@freeze_time("2026-12-03 15:00:00")  # Thursday, December 3 in New York
def test_snooze_to_tomorrow_or_next_week_on_the_spa_s_calendar_with_undo(owner_client, spa, owner):
    today = activity_selectors.spa_today(spa)
    overdue = _task(spa, title="Overdue call", due_on=today - datetime.timedelta(days=2), assignee=owner)
    response = owner_client.post(
        url("task_snooze", spa, overdue.public_id),
        {"until": "tomorrow"},
        **_htmx_from(url("my_day", spa), "my-day-tasks"),
    )
    assert response.status_code == 200
    assert _reload(Task, overdue).due_on == datetime.date(2026, 12, 4)
    body = page_text(response)
    assert 'id="tasks-overdue"' not in body and "Overdue call" in _section(body, "tasks-upcoming")
    toast = _toast(response)
    assert toast["message"] == "Snoozed until Fri, Dec 4: Overdue call."
    undo = owner_client.post(toast["undoUrl"], **HTMX)
    assert undo["HX-Refresh"] == "true"
    assert _reload(Task, overdue).due_on == datetime.date(2026, 12, 1)

    owner_client.post(url("task_snooze", spa, overdue.public_id), {"until": "next_week"}, **HTMX)
    assert _reload(Task, overdue).due_on == datetime.date(2026, 12, 7)  # the Monday of next week
    assert rows(AuditEvent, action="task.snoozed", object_id=str(overdue.public_id))


@freeze_time("2026-12-04 04:30:00")  # still Thursday, December 3 in New York; Friday in UTC
def test_snooze_dates_are_the_spa_s_not_the_server_s(spa):
    assert activity_selectors.snooze_dates(spa) == {
        "tomorrow": datetime.date(2026, 12, 4),
        "next_week": datetime.date(2026, 12, 7),
    }


def test_snooze_on_the_task_list_redraws_the_row(owner_client, spa, owner):
    task = _task(spa, title="Drop off pads", assignee=owner)
    response = owner_client.post(url("task_snooze", spa, task.public_id), {"until": "tomorrow"}, **HTMX)
    assert response.status_code == 200
    body = page_text(response)
    assert body.lstrip().startswith("<li") and f'id="task-{task.public_id}"' in body
    assert "Snoozed until" in _toast(response)["message"]


@pytest.mark.parametrize(
    ("data", "message"),
    [({"until": "someday"}, "Choose tomorrow or next week."), ({}, "Choose when the task comes back.")],
)
def test_a_bad_snooze_is_refused(owner_client, spa, owner, data, message):
    task = _task(spa, assignee=owner)
    response = owner_client.post(url("task_snooze", spa, task.public_id), data, **HTMX)
    assert response.status_code == 400
    assert _toast(response) == {"message": message, "level": "warning"}
    assert _reload(Task, task).due_on == task.due_on


def test_a_done_task_or_one_due_later_is_not_snoozed(owner_client, spa, owner):
    done = _task(spa, assignee=owner)
    with scope(spa=spa):
        activity_services.task_complete(task=done, actor=owner)
    later = _task(spa, assignee=owner, due_on=activity_selectors.spa_today(spa) + datetime.timedelta(days=20))
    refused = owner_client.post(url("task_snooze", spa, done.public_id), {"until": "tomorrow"}, **HTMX)
    assert refused.status_code == 400 and _toast(refused)["message"] == "This task is done already."
    refused = owner_client.post(url("task_snooze", spa, later.public_id), {"until": "next_week"}, **HTMX)
    assert refused.status_code == 400 and "later day than it is due" in _toast(refused)["message"]
    assert _reload(Task, later).due_on == later.due_on


def test_outsiders_cannot_snooze(outsider_client, client, spa, owner):
    task = _task(spa, assignee=owner)
    assert outsider_client.post(url("task_snooze", spa, task.public_id), {"until": "tomorrow"}).status_code == 404
    undo = url("task_snooze_undo", spa, task.public_id, query="due_on=2020-01-01")
    assert outsider_client.post(undo).status_code == 404
    assert client.post(url("task_snooze", spa, task.public_id), {"until": "tomorrow"}).status_code == 302
    assert _reload(Task, task).due_on == task.due_on


def test_a_snooze_undo_with_a_bad_date_changes_nothing(owner_client, spa, owner):
    task = _task(spa, assignee=owner)
    response = owner_client.post(url("task_snooze_undo", spa, task.public_id, query="due_on=banana"), **HTMX)
    assert response.status_code == 400
    assert _reload(Task, task).due_on == task.due_on


# --- done today -----------------------------------------------------------------------------------


def test_a_ticked_task_keeps_its_undo_after_a_reload(owner_client, spa, owner, staff_user, practice):
    letter = _task(spa, title="Introduction letter", kind="letter", practice=practice, assignee=owner)
    theirs = _task(spa, title="Stacy's call", assignee=staff_user)
    response = owner_client.post(url("task_done", spa, letter.public_id), {"on": "my_day"}, **HTMX)
    # The row stays where it was, ticked, and "Done today" beside it follows (out of band).
    assert f'id="task-{letter.public_id}"' in page_text(response)
    assert 'id="done-today" hx-swap-oob="true"' in page_text(response)
    owner_client.post(url("task_done", spa, theirs.public_id))  # done by me for a colleague
    body = page_text(owner_client.get(url("my_day", spa)))
    done_today = _section(body, "done-today")
    assert "Introduction letter" in done_today and "Stacy&#x27;s call" in done_today
    assert "Undo: Introduction letter" in done_today
    assert "Introduction letter" not in body[: body.index('id="done-today"')]
    # Undo there: the task is open again (its letter touchpoint gone) and back in today's list.
    undo = owner_client.post(url("task_undo", spa, letter.public_id), **_htmx_from(url("my_day", spa), "my-day-tasks"))
    assert undo.status_code == 200
    body = page_text(undo)
    assert "Introduction letter" in _section(body, "tasks-today").split('id="done-today"')[0]
    assert _toast(undo)["message"] == "Open again: Introduction letter."
    assert _reload(Task, letter).done_at is None and rows(Touchpoint, practice=practice) == []


def test_done_today_forgets_yesterday(owner_client, spa, owner):
    with freeze_time(timezone.now() - datetime.timedelta(days=1)):
        task = _task(spa, title="Yesterday's task", assignee=owner)
        with scope(spa=spa):
            activity_services.task_complete(task=task, actor=owner)
    body = page_text(owner_client.get(url("my_day", spa)))
    assert "Yesterday&#x27;s task" not in _section(body, "done-today")


# --- rolled-up tasks on My day and the practice page ------------------------------------------------


def test_a_rolled_up_task_lists_its_practices_and_shows_on_each_practice_s_page(owner_client, spa, owner, practice):
    back_bay = make_practice(spa, name="Back Bay PT")
    task = _task(
        spa,
        title="Send thank-you notes: Glow Dermatology, Back Bay PT",
        kind=TaskKind.THANK_YOU_NOTE,
        source=TaskSource.THANK_YOU,
        assignee=owner,
    )
    with scope(spa=spa):
        for covered in (practice, back_bay):
            TaskPractice.objects.create(spa=spa, task=task, practice=covered)
    body = page_text(owner_client.get(url("my_day", spa)))
    row = _section(body, f"task-{task.public_id}")
    for covered in (practice, back_bay):
        assert reverse("partners:detail", args=[spa.slug, covered.public_id]) in row
    page = page_text(owner_client.get(reverse("partners:detail", args=[spa.slug, back_bay.public_id])))
    assert "Send thank-you notes: Glow Dermatology, Back Bay PT" in page
    task_page = page_text(owner_client.get(url("task_edit", spa, task.public_id)))
    covered_section = _section(task_page, "task-covered")
    assert "Glow Dermatology" in covered_section and "Back Bay PT" in covered_section


# --- past due dates are confirmed -----------------------------------------------------------------


def test_a_task_due_in_the_past_needs_the_confirmation(owner_client, spa, owner):
    data = {"title": "Drop off pads", "kind": "follow_up", "due_on": "2020-01-06"}
    refused = owner_client.post(url("task_create", spa), data)
    assert refused.status_code == 400
    assert "This date is in the past" in field_error(refused, "due_on")
    assert 'type="checkbox" name="confirm_past_date"' in page_text(refused)
    assert rows(Task) == []
    assert owner_client.post(url("task_create", spa), {**data, "confirm_past_date": "on"}).status_code == 302
    [task] = rows(Task)
    assert task.due_on == datetime.date(2020, 1, 6)


def test_editing_an_overdue_task_asks_again_only_when_its_date_changes(owner_client, spa, owner):
    task = _task(
        spa, title="Old call", due_on=activity_selectors.spa_today(spa) - datetime.timedelta(days=3), assignee=owner
    )
    base = {"kind": "follow_up", "assignee": owner.pk}
    renamed = owner_client.post(
        url("task_edit", spa, task.public_id), {**base, "title": "Old call, again", "due_on": task.due_on.isoformat()}
    )
    assert renamed.status_code == 302 and _reload(Task, task).title == "Old call, again"
    moved = owner_client.post(
        url("task_edit", spa, task.public_id), {**base, "title": "Old call", "due_on": "2020-02-03"}
    )
    assert moved.status_code == 400 and "in the past" in field_error(moved, "due_on")
    assert _reload(Task, task).due_on == task.due_on


def test_the_quick_add_shows_the_past_date_checkbox(owner_client, spa, owner):
    refused = owner_client.post(url("my_day", spa), {"quick-title": "Order pads", "quick-due_on": "2020-01-06"})
    assert refused.status_code == 400
    body = page_text(refused)
    assert 'type="checkbox" name="quick-confirm_past_date"' in body
    assert re.search(r'id="id_quick-due_on_error"[^>]*>This date is in the past', body)
    assert 'class="alert alert-danger error-summary' in body and 'href="#id_quick-due_on"' in body
    assert rows(Task) == []
    confirmed = owner_client.post(
        url("my_day", spa), {"quick-title": "Order pads", "quick-due_on": "2020-01-06", "quick-confirm_past_date": "on"}
    )
    assert confirmed.status_code == 302
    [task] = rows(Task)
    assert task.due_on == datetime.date(2020, 1, 6)


def test_a_next_step_in_the_past_shows_the_checkbox_in_the_quick_log(owner_client, spa, owner, practice):
    data = {
        "kind": "phone_call",
        "occurred_on": activity_selectors.spa_today(spa).isoformat(),
        "next_step": "Send the pads",
        "next_step_on": "2020-01-06",
    }
    refused = owner_client.post(url("touchpoint_log", spa, practice.public_id), data, **HTMX)
    assert refused.status_code == 400
    assert 'type="checkbox" name="confirm_past_date"' in page_text(refused)
    assert "This date is in the past" in field_error(refused, "next_step_on", prefix="touch")
    assert rows(Touchpoint) == [] and rows(Task) == []
    confirmed = owner_client.post(
        url("touchpoint_log", spa, practice.public_id), {**data, "confirm_past_date": "on"}, **HTMX
    )
    assert confirmed.status_code == 200
    [task] = rows(Task)
    assert task.due_on == datetime.date(2020, 1, 6) and task.title == "Send the pads"


def test_referrals_are_read_not_changed_by_my_day(owner_client, spa, practice):
    referral = _referral(practice, due_in_hours=-1)
    owner_client.get(url("my_day", spa))
    assert _reload(Referral, referral).version == referral.version
    assert rows(AuditEvent, action="referral.viewed") == []
