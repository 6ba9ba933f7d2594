"""Thank-you note suggestions when referrals arrive (at most one per practice per week, rolled up into one task
per person, never a gift) and fresh approaches to declined or dormant practices once the spa's quiet period is
over (once per period, with what has changed at the spa since they said no)."""

import datetime
import zoneinfo

from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.activity import services as activity
from outreach.health.nudges import fresh_approaches_create, thank_you_suggestions_create
from outreach.models import OutreachSettings, Task, TaskKind, TaskPractice, TaskSource, Touchpoint
from outreach.tasks import fresh_approaches_task, thank_you_suggestions_task
from partners.models import Stage
from partners.services import practice_move_stage
from spas.models import Role
from tests.factories import (
    CredentialFactory,
    EquipmentFactory,
    MembershipFactory,
    OfferFactory,
    ReferralFactory,
    ServiceFactory,
    SpaFactory,
    UserFactory,
)

from .helpers import make_practice, rows
from .test_checkins import at, day

# --- thank-you notes -------------------------------------------------------------------------------


def referral(practice, when, **fields):
    with scope(spa=practice.spa):
        return ReferralFactory(practice=practice, received_at=when, **fields)


def suggest(spa, now):
    with scope(spa=spa):
        return thank_you_suggestions_create(spa=spa, now=now)


def thanks(spa=None, **filters):
    if spa is not None:
        filters["spa"] = spa
    return sorted(rows(Task, kind=TaskKind.THANK_YOU_NOTE, **filters), key=lambda task: (task.created_at, task.pk))


def covered(task):
    """The names of the practices a rolled-up task covers, in the order they were put on it."""
    lines = sorted(rows(TaskPractice, task=task), key=lambda line: (line.added_at, line.pk))
    with scopes_disabled():
        return [line.practice.name for line in lines]


def test_a_referral_brings_a_thank_you_note_suggestion(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(practice, at("2026-03-02 10:00"))
    with freeze_time(at("2026-03-02 10:15")):
        assert suggest(spa, timezone.now()) == 1
    [task] = thanks()
    assert task.source == TaskSource.THANK_YOU
    assert task.practice is None and covered(task) == ["Glow Dermatology"]
    assert task.assignee == owner
    assert task.due_on == day("2026-03-02")
    assert task.title == "Send a thank-you note to Glow Dermatology"
    assert task.dedupe_key == f"thanks:{owner.pk}:2026-03-02"  # the Monday of the spa's week
    assert "1 referral from Glow Dermatology arrived" in task.notes


def test_practices_due_a_note_in_the_same_week_roll_up_into_one_task(spa, owner):
    glow = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    back_bay = make_practice(spa, name="Back Bay PT", stage=Stage.ACTIVE, owner=owner)
    charles = make_practice(spa, name="Charles River Skin", stage=Stage.ACTIVE, owner=owner)
    referral(glow, at("2026-03-02 10:00"))
    referral(glow, at("2026-03-02 11:00"))
    referral(back_bay, at("2026-03-02 11:30"))
    assert suggest(spa, at("2026-03-02 12:00")) == 2
    [task] = thanks()
    assert task.title == "Send thank-you notes: Back Bay PT, Glow Dermatology"
    assert "2 referrals from Glow Dermatology arrived" in task.notes
    assert "1 referral from Back Bay PT arrived" in task.notes
    assert "A short handwritten note to each office" in task.notes
    # Later in the week a third practice refers: it joins the open task, which is written again.
    referral(charles, at("2026-03-04 09:00"))
    assert suggest(spa, at("2026-03-04 09:15")) == 1
    [task] = thanks()
    assert covered(task) == ["Back Bay PT", "Glow Dermatology", "Charles River Skin"]
    assert task.title == "Send thank-you notes: Back Bay PT, Glow Dermatology, Charles River Skin"
    assert "1 referral from Charles River Skin arrived" in task.notes
    assert task.due_on == day("2026-03-02")
    assert rows(AuditEvent, action="task.practices_added", object_id=str(task.public_id))


def test_a_long_roll_up_title_names_as_many_as_fit(spa, owner):
    for number in range(12):
        practice = make_practice(
            spa, name=f"Massachusetts General Dermatology Associates {number:02d}", stage=Stage.ACTIVE, owner=owner
        )
        referral(practice, at("2026-03-02 10:00"))
    assert suggest(spa, at("2026-03-02 10:15")) == 12
    [task] = thanks()
    assert len(task.title) <= 200
    assert task.title.startswith("Send thank-you notes: Massachusetts General Dermatology Associates 00, ")
    assert task.title.endswith(" more")
    assert len(covered(task)) == 12


def test_two_referrals_in_a_week_bring_one_suggestion_and_one_eight_days_later_a_second(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(practice, at("2026-03-02 10:00"))
    with freeze_time(at("2026-03-02 10:15")):
        assert suggest(spa, timezone.now()) == 1
    [first] = thanks()
    with scope(spa=spa), freeze_time(at("2026-03-03 09:00")):
        activity.task_complete(task=first, actor=owner)  # the note is sent
    referral(practice, at("2026-03-05 10:00"))
    for moment in ("2026-03-05 10:15", "2026-03-07 18:00", "2026-03-09 10:00"):  # inside the week
        with freeze_time(at(moment)):
            assert suggest(spa, timezone.now()) == 0
    assert len(thanks()) == 1

    second = make_practice(spa, name="Second Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(second, at("2026-03-10 10:00"))
    referral(practice, at("2026-03-10 10:00"))  # a week after the note
    with freeze_time(at("2026-03-10 10:15")):
        assert suggest(spa, timezone.now()) == 2
    [_first, latest] = thanks()
    assert latest.due_on == day("2026-03-10") and latest.dedupe_key == f"thanks:{owner.pk}:2026-03-09"
    assert covered(latest) == ["Glow Dermatology", "Second Dermatology"]
    # The note covers both referrals that arrived since the first thank-you note.
    assert "2 referrals from Glow Dermatology arrived since the last thank-you note." in latest.notes
    assert "1 referral from Second Dermatology arrived in the last 30 days." in latest.notes


def test_once_the_week_s_task_is_done_new_practices_wait_for_next_week_s(spa, owner):
    glow = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    back_bay = make_practice(spa, name="Back Bay PT", stage=Stage.ACTIVE, owner=owner)
    referral(glow, at("2026-03-02 10:00"))
    assert suggest(spa, at("2026-03-02 10:15")) == 1
    with scope(spa=spa):
        activity.task_complete(task=thanks()[0], actor=owner)
    referral(back_bay, at("2026-03-04 10:00"))
    assert suggest(spa, at("2026-03-04 10:15")) == 0  # one new thank-you task a week
    assert suggest(spa, at("2026-03-08 22:00")) == 0  # still Sunday
    assert suggest(spa, at("2026-03-09 07:00")) == 1
    [_done, latest] = thanks()
    assert covered(latest) == ["Back Bay PT"] and latest.due_on == day("2026-03-09")


def test_the_same_run_twice_suggests_nothing_more(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(practice, at("2026-03-02 10:00"))
    referral(practice, at("2026-03-02 11:00"))
    with freeze_time(at("2026-03-02 12:00")):
        assert suggest(spa, timezone.now()) == 1
        assert suggest(spa, timezone.now()) == 0
    [task] = thanks()
    assert "2 referrals from Glow Dermatology arrived" in task.notes
    assert len(rows(TaskPractice)) == 1


def test_a_suggestion_never_mentions_gifts_or_patients(spa, owner):
    for name in ("Glow Dermatology", "Back Bay PT"):
        practice = make_practice(spa, name=name, stage=Stage.ACTIVE, owner=owner)
        referral(practice, at("2026-03-02 10:00"), patient_first_name="Harriet", patient_last_name="Hiddenname")
    with freeze_time(at("2026-03-02 10:15")):
        suggest(spa, timezone.now())
    [task] = thanks()
    for text in (task.title, task.notes, str(task.briefing)):
        assert "gift" not in text.lower()
        assert "Harriet" not in text and "Hiddenname" not in text
    assert task.kind == TaskKind.THANK_YOU_NOTE
    assert rows(Task, spa=spa, kind="other") == [] and rows(Task, spa=spa, kind="gift") == []


def test_a_thank_you_note_logged_by_hand_counts_as_the_week_s_thanks(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(practice, at("2026-03-02 09:00"))
    with scope(spa=spa), freeze_time(at("2026-03-02 09:30")):
        activity.touchpoint_log(
            spa=spa, practice=practice, kind="thank_you_note", occurred_on=day("2026-03-02"), actor=owner
        )
    with freeze_time(at("2026-03-02 10:00")):
        assert suggest(spa, timezone.now()) == 0
    assert thanks() == []


def test_completing_the_roll_up_logs_a_note_at_each_practice_and_undo_takes_them_back(spa, owner):
    glow = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    back_bay = make_practice(spa, name="Back Bay PT", stage=Stage.ACTIVE, owner=owner)
    for practice in (glow, back_bay):
        referral(practice, at("2026-03-02 10:00"))
    with freeze_time(at("2026-03-02 10:15")):
        suggest(spa, timezone.now())
    [task] = thanks()
    with scope(spa=spa), freeze_time(at("2026-03-02 15:00")):
        # Back Bay's note was written by hand and logged from its page before the task was ticked.
        by_hand = activity.touchpoint_log(
            spa=spa, practice=back_bay, kind="thank_you_note", occurred_on=day("2026-03-02"), actor=owner
        )
        activity.task_complete(task=task, actor=owner)
    notes = rows(Touchpoint, spa=spa, kind="thank_you_note")
    assert sorted(touchpoint.practice_id for touchpoint in notes) == sorted([glow.pk, back_bay.pk])
    assert {line.practice_id: line.touchpoint_id for line in rows(TaskPractice, task=task)} == {
        glow.pk: next(touchpoint.pk for touchpoint in notes if touchpoint.practice_id == glow.pk),
        back_bay.pk: by_hand.pk,
    }
    with scope(spa=spa):
        activity.task_reopen(task=task, actor=owner)
    assert [touchpoint.pk for touchpoint in rows(Touchpoint, spa=spa, kind="thank_you_note")] == [by_hand.pk]
    assert all(line.touchpoint_id is None for line in rows(TaskPractice, task=task))


def test_old_referrals_do_not_bring_suggestions_when_the_feature_starts(spa, owner):
    practice = make_practice(spa, name="Glow Dermatology", stage=Stage.ACTIVE, owner=owner)
    referral(practice, at("2026-01-02 10:00"))  # two months ago
    assert suggest(spa, at("2026-03-02 10:15")) == 0


def test_the_assignee_is_the_owner_else_the_referral_s_assignee_else_an_owner(spa, owner, staff_user, manager_user):
    outsider_user = UserFactory(email="left@serene.example")
    owned = make_practice(spa, name="Owned Dermatology", stage=Stage.ACTIVE, owner=staff_user)
    unowned = make_practice(spa, name="Unowned Dermatology", stage=Stage.ACTIVE)
    nobody = make_practice(spa, name="Nobody Dermatology", stage=Stage.ACTIVE, owner=outsider_user)
    referral(owned, at("2026-03-02 10:00"), assignee=manager_user)
    referral(unowned, at("2026-03-02 10:00"), assignee=manager_user)
    referral(nobody, at("2026-03-02 10:00"), assignee=outsider_user)
    assert suggest(spa, at("2026-03-02 10:15")) == 3
    # One rolled-up task per person, each with that person's practices.
    assignees = {task.assignee_id: covered(task) for task in thanks()}
    assert assignees == {
        staff_user.pk: ["Owned Dermatology"],
        manager_user.pk: ["Unowned Dermatology"],
        owner.pk: ["Nobody Dermatology"],
    }


def test_suggestions_are_per_spa(spa, owner, other_spa, outsider):
    theirs = make_practice(other_spa, name="Outsider Skin", stage=Stage.ACTIVE, owner=outsider)
    referral(theirs, at("2026-03-02 10:00"))
    assert suggest(spa, at("2026-03-02 10:15")) == 0
    assert thanks(other_spa) == []
    with freeze_time(at("2026-03-02 10:15")):
        assert thank_you_suggestions_task.delay().get() == 1
    [task] = thanks(other_spa)
    assert covered(task) == ["Outsider Skin"]
    assert thanks(spa) == [] and rows(TaskPractice, spa=spa) == []


def test_the_week_and_the_due_date_follow_the_spa_s_calendar(db):
    auckland = SpaFactory(slug="auckland-thanks", timezone="Pacific/Auckland")
    owner = MembershipFactory(spa=auckland, role=Role.OWNER).user
    practice = make_practice(auckland, name="Kiwi Dermatology", stage=Stage.ACTIVE)
    moment = at("2026-03-08 23:30", zoneinfo.ZoneInfo("UTC"))  # Sunday in UTC, already Monday March 9 in Auckland
    referral(practice, moment - datetime.timedelta(minutes=10))
    assert suggest(auckland, moment) == 1
    [task] = thanks()
    assert task.due_on == day("2026-03-09")
    assert task.dedupe_key == f"thanks:{owner.pk}:2026-03-09"


# --- fresh approaches ------------------------------------------------------------------------------


def resurface(spa, now):
    with scope(spa=spa):
        return fresh_approaches_create(spa=spa, now=now)


def fresh_tasks(spa=None, **filters):
    if spa is not None:
        filters["spa"] = spa
    return sorted(rows(Task, kind=TaskKind.FRESH_APPROACH, **filters), key=lambda task: task.created_at)


def declined(spa, owner, when="2025-09-15 10:00", reason="Too busy to take on new partners this year", **fields):
    fields.setdefault("name", "Charles River Dermatology")
    practice = make_practice(spa, stage=Stage.MEETING, owner=owner, **fields)
    with scope(spa=spa), freeze_time(at(when)):
        practice_move_stage(practice=practice, to_stage=Stage.DECLINED, actor=owner, reason=reason)
    practice.refresh_from_db()
    return practice


def test_a_declined_practice_resurfaces_after_six_months_with_what_changed(spa, owner, other_spa):
    practice = declined(spa, owner, when="2025-09-15 10:00")
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Old peel", created_at=at("2025-09-01 10:00"))
        ServiceFactory(spa=spa, name="Scar massage", created_at=at("2025-11-01 10:00"))
        ServiceFactory(spa=spa, name="Retired wrap", created_at=at("2025-11-02 10:00"), archived_at=timezone.now())
        EquipmentFactory(spa=spa, name="LED panel", created_at=at("2025-12-01 10:00"))
        OfferFactory(spa=spa, title="First facial 20% off", created_at=at("2026-01-01 10:00"))
        CredentialFactory(
            spa=spa, person="Ana Ruiz", credential="Oncology esthetician", created_at=at("2026-02-01 10:00")
        )
    with scope(spa=other_spa):
        ServiceFactory(spa=other_spa, name="Outsider service", created_at=at("2025-11-01 10:00"))
    assert resurface(spa, at("2026-03-14 09:00")) == 0  # the day before six months
    assert resurface(spa, at("2026-03-15 09:00")) == 1
    [task] = fresh_tasks()
    assert task.source == TaskSource.RESURFACE
    assert task.practice == practice and task.assignee == owner
    assert task.due_on == day("2026-03-15")
    assert task.title == "Fresh approach: Charles River Dermatology"
    assert task.dedupe_key == f"resurface:{practice.pk}:2025-09-15"
    assert "declined on Sep 15, 2025" in task.notes
    assert "Too busy to take on new partners this year" in task.notes
    briefing = task.briefing
    assert briefing["kind"] == "fresh_approach"
    assert briefing["since"] == "2025-09-15" and briefing["since_reason"] == "declined"
    assert briefing["reason"] == "Too busy to take on new partners this year"
    assert briefing["new_at_spa"]["services"]["names"] == ["Scar massage"]
    assert briefing["new_at_spa"]["equipment"]["names"] == ["LED panel"]
    assert briefing["new_at_spa"]["offers"]["names"] == ["First facial 20% off"]
    assert briefing["new_at_spa"]["credentials"]["names"] == ["Ana Ruiz — Oncology esthetician"]
    assert "Outsider" not in str(briefing)
    assert "referrals" not in briefing
    html = render_to_string("outreach/partials/task_briefing.html", {"briefing": briefing})
    assert "What has changed since they said no on Sep 15, 2025" in html
    assert "Too busy to take on new partners this year" in html
    assert "Scar massage" in html


def test_a_fresh_approach_comes_once_per_decline_period(spa, owner):
    practice = declined(spa, owner, when="2025-09-15 10:00")
    assert resurface(spa, at("2026-03-15 09:00")) == 1
    assert resurface(spa, at("2026-03-15 10:00")) == 0
    [task] = fresh_tasks()
    with scope(spa=spa):
        activity.task_complete(task=task, actor=owner)
    assert resurface(spa, at("2026-04-20 09:00")) == 0  # done, but still the same period
    # They talked again, then declined again: a new period, a new fresh approach six months on.
    with scope(spa=spa), freeze_time(at("2026-05-01 10:00")):
        practice_move_stage(practice=practice, to_stage=Stage.MEETING, actor=owner)
        practice_move_stage(practice=practice, to_stage=Stage.DECLINED, actor=owner, reason="Not this year either")
    assert resurface(spa, at("2026-10-31 09:00")) == 0
    assert resurface(spa, at("2026-11-01 09:00")) == 1
    latest = fresh_tasks()[-1]
    assert latest.dedupe_key == f"resurface:{practice.pk}:2026-05-01"
    assert latest.briefing["reason"] == "Not this year either"


def test_dormant_practices_resurface_too_with_the_reason_they_went_quiet(spa, owner):
    practice = make_practice(spa, name="Quiet Physio", stage=Stage.ACTIVE, owner=None)
    with scope(spa=spa), freeze_time(at("2025-08-01 10:00")):
        practice_move_stage(practice=practice, to_stage=Stage.DORMANT, actor=owner, reason="New office manager")
    assert resurface(spa, at("2026-02-01 09:00")) == 1
    [task] = fresh_tasks()
    assert task.assignee == owner  # no practice owner: the spa's owner
    assert "went quiet on Aug 1, 2025" in task.notes
    assert task.briefing["since_reason"] == "dormant"
    assert task.briefing["reason"] == "New office manager"
    html = render_to_string("outreach/partials/task_briefing.html", {"briefing": task.briefing})
    assert "What has changed since they went quiet on Aug 1, 2025" in html


def test_the_spa_s_own_period_and_other_stages(spa, owner):
    with scope(spa=spa):
        OutreachSettings.objects.create(spa=spa, resurface_after_months=3)
    declined(spa, owner, when="2025-12-10 10:00")
    make_practice(spa, name="Active Derm", stage=Stage.ACTIVE, stage_changed_at=at("2024-01-01 10:00"))
    make_practice(spa, name="Old Prospect", stage=Stage.PROSPECT, stage_changed_at=at("2024-01-01 10:00"))
    assert resurface(spa, at("2026-03-09 09:00")) == 0
    assert resurface(spa, at("2026-03-10 09:00")) == 1
    assert [task.practice.name for task in fresh_tasks()] == ["Charles River Dermatology"]


def test_fresh_approaches_are_per_spa(spa, owner, other_spa, outsider):
    theirs = declined(other_spa, outsider, name="Outsider Derm")
    assert resurface(spa, at("2026-03-15 09:00")) == 0
    assert fresh_tasks(other_spa) == []
    with freeze_time(at("2026-03-15 09:00")):
        assert fresh_approaches_task.delay().get() == 1
    assert [task.practice_id for task in fresh_tasks(other_spa)] == [theirs.pk]
    assert fresh_tasks(spa) == []


def test_resurfacing_follows_the_spa_s_calendar(db):
    auckland = SpaFactory(slug="auckland-fresh", timezone="Pacific/Auckland")
    owner = MembershipFactory(spa=auckland, role=Role.OWNER).user
    kiwi = zoneinfo.ZoneInfo("Pacific/Auckland")
    practice = make_practice(auckland, name="Kiwi Derm", stage=Stage.MEETING, owner=owner)
    with scope(spa=auckland), freeze_time(at("2025-09-15 08:00", kiwi)):  # Sep 14 in UTC
        practice_move_stage(practice=practice, to_stage=Stage.DECLINED, actor=owner, reason="Busy")
    assert resurface(auckland, at("2026-03-14 23:00", kiwi)) == 0
    assert resurface(auckland, at("2026-03-15 00:30", kiwi)) == 1
    assert fresh_tasks()[0].dedupe_key.endswith(":2025-09-15")
