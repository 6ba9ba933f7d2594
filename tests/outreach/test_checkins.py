"""Quarterly check-ins: the cadence per active partner, the hourly job (idempotent, one task and one email per
practice and due date, in each spa's own calendar), the briefing the task arrives with, and logging a check-in
moving the next due date."""

import datetime
import zoneinfo

from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scope
from freezegun import freeze_time

from infra.models import OutgoingEmail
from outreach.activity import services as activity
from outreach.health.checkins import BRIEFING_NAMES_PER_KIND, check_in_cadence_set, check_ins_create_due
from outreach.models import CheckInCadence, OutreachSettings, Task, TaskKind, TaskSource, Touchpoint
from outreach.tasks import check_ins_create_due_task
from partners.models import Stage
from partners.services import practice_move_stage
from spas.models import Role
from tests.factories import (
    CredentialFactory,
    EquipmentFactory,
    MembershipFactory,
    OfferFactory,
    ProductLineFactory,
    ReferralFactory,
    ServiceFactory,
    SpaFactory,
    UserFactory,
)
from tests.rendered_emails import rendered

from .helpers import make_practice, rows

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(text, tz=NEW_YORK):
    """An aware datetime from "2026-01-05 10:00" on the given wall clock."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=tz)


def day(text):
    return datetime.date.fromisoformat(text)


def make_active(spa, *, since="2026-01-05 10:00", **fields):
    tz = zoneinfo.ZoneInfo(spa.timezone)
    fields.setdefault("name", "Glow Dermatology")
    return make_practice(spa, stage=Stage.ACTIVE, stage_changed_at=at(since, tz), **fields)


def run(spa, now, **kwargs):
    with scope(spa=spa):
        return check_ins_create_due(spa=spa, now=now, **kwargs)


def check_in_tasks(spa=None, **filters):
    if spa is not None:
        filters["spa"] = spa
    return rows(Task, kind=TaskKind.CHECK_IN, **filters)


def check_in_emails():
    """The check-in emails, with the text the worker will send."""
    return [rendered(email) for email in rows(OutgoingEmail, template="check-in-due")]


def log_check_in(practice, on, actor=None):
    with scope(spa=practice.spa), freeze_time(at(f"{on} 15:00")):
        return activity.touchpoint_log(
            spa=practice.spa, practice=practice, kind="check_in", occurred_on=day(on), actor=actor
        )


def cadence_of(practice):
    with scope(spa=practice.spa):
        return CheckInCadence.objects.get(practice=practice)


# --- the job ---------------------------------------------------------------------------------------


def test_an_active_partner_is_due_a_check_in_91_days_after_it_became_active(spa, owner):
    practice = make_active(spa, since="2026-01-05 10:00", owner=owner)
    assert run(spa, at("2026-04-05 23:30")) == 0  # day 90 in New York
    assert check_in_tasks() == []
    assert cadence_of(practice).next_due_on == day("2026-04-06")

    assert run(spa, at("2026-04-06 00:30")) == 1
    [task] = check_in_tasks()
    assert task.practice == practice
    assert task.source == TaskSource.CHECK_IN
    assert task.due_on == day("2026-04-06")
    assert task.assignee == owner
    assert task.dedupe_key == f"checkin:{practice.pk}:2026-04-06"
    assert task.title == "Check in with Glow Dermatology"
    assert task.done_at is None


def test_the_job_run_twice_creates_one_task_and_one_email(spa, owner, deliver_outbox):
    practice = make_active(spa, owner=owner)
    assert run(spa, at("2026-04-06 09:00")) == 1
    assert run(spa, at("2026-04-06 10:00")) == 0
    assert run(spa, at("2026-04-09 10:00")) == 0  # still due, still the same task
    assert len(check_in_tasks()) == 1
    [email] = check_in_emails()
    assert email.to == owner.email
    assert email.subject == "Check-in due with Glow Dermatology"
    assert "Glow Dermatology" in email.body_text
    assert "Monday, April 6" in email.body_text
    assert f"/s/{spa.slug}/partners/{practice.public_id}/#check-ins" in email.body_text
    assert "Glow Dermatology" in email.body_html
    sent = deliver_outbox()
    assert [message.to for message in sent] == [[owner.email]]


def test_the_email_carries_no_health_information(spa, owner):
    practice = make_active(spa, owner=owner)
    with scope(spa=spa):
        ReferralFactory(
            practice=practice,
            patient_first_name="Harriet",
            patient_last_name="Hiddenname",
            reason_text="Lymphedema after surgery",
            received_at=at("2026-03-01 10:00"),
        )
    run(spa, at("2026-04-06 09:00"))
    [email] = check_in_emails()
    for text in (email.subject, email.body_text, email.body_html):
        assert "Harriet" not in text and "Hiddenname" not in text and "Lymphedema" not in text
        assert "received" not in text.lower() and "completed" not in text.lower()


def test_the_celery_task_runs_the_job_for_every_spa_each_in_its_own_scope(spa, owner, other_spa, outsider):
    ours = make_active(spa, owner=owner)
    theirs = make_active(other_spa, name="Outsider Skin", owner=outsider)
    with freeze_time(at("2026-04-06 09:00")):
        assert check_ins_create_due_task.delay().get() == 2
        assert check_ins_create_due_task.delay().get() == 0
    assert [task.practice_id for task in check_in_tasks(spa)] == [ours.pk]
    assert [task.practice_id for task in check_in_tasks(other_spa)] == [theirs.pk]
    assert sorted(email.to for email in check_in_emails()) == sorted([owner.email, outsider.email])


def test_one_spa_s_run_touches_no_other_spa(spa, owner, other_spa, outsider):
    make_active(spa, owner=owner)
    theirs = make_active(other_spa, name="Outsider Skin", owner=outsider)
    assert run(spa, at("2026-04-06 09:00")) == 1
    assert check_in_tasks(other_spa) == []
    assert rows(CheckInCadence, practice=theirs) == []
    assert [email.to for email in check_in_emails()] == [owner.email]


def test_an_owner_who_left_the_team_is_replaced_by_the_spa_s_first_owner(spa, owner, staff_user):
    leaver = UserFactory(email="leaver@serene.example")  # not a member of the spa (any more)
    gone = make_active(spa, name="Gone Owner Dermatology", owner=leaver)
    nobody = make_active(spa, name="Ownerless Dermatology", owner=None)
    mine = make_active(spa, name="Staff Dermatology", owner=staff_user)
    run(spa, at("2026-04-06 09:00"))
    assignees = {task.practice_id: task.assignee_id for task in check_in_tasks()}
    assert assignees == {gone.pk: owner.pk, nobody.pk: owner.pk, mine.pk: staff_user.pk}
    # One email per assignee, listing all of theirs.
    assert sorted(email.to for email in check_in_emails()) == sorted([owner.email, staff_user.email])


def test_several_due_practices_for_one_assignee_give_one_email_naming_them_all(spa, owner):
    practices = [make_active(spa, name=f"Derm {number}", owner=owner) for number in range(3)]
    assert run(spa, at("2026-04-06 09:00")) == 3
    assert run(spa, at("2026-04-06 10:00")) == 0
    [email] = check_in_emails()
    assert email.to == owner.email
    assert email.subject == "3 check-ins due"
    for practice in practices:
        assert practice.name in email.body_text and practice.name in email.body_html
        assert f"/s/{spa.slug}/partners/{practice.public_id}/#check-ins" in email.body_text


def test_only_active_partners_get_check_ins(spa, owner):
    for stage in (Stage.TRIAL, Stage.DORMANT, Stage.MEETING):
        make_practice(spa, name=f"{stage} practice", stage=stage, stage_changed_at=at("2025-01-05 10:00"))
    run(spa, at("2026-04-06 09:00"))
    assert check_in_tasks() == []
    assert check_in_emails() == []


def test_a_practice_leaving_active_gets_no_more_check_ins(spa, owner):
    practice = make_active(spa, owner=owner)
    run(spa, at("2026-03-01 09:00"))
    assert cadence_of(practice).next_due_on == day("2026-04-06")
    with scope(spa=spa):
        practice_move_stage(practice=practice, to_stage=Stage.DORMANT, actor=owner)
    assert run(spa, at("2026-04-06 09:00")) == 0
    assert check_in_tasks() == []
    assert cadence_of(practice).next_due_on is None


def test_an_open_check_in_task_means_no_second_one(spa, owner):
    practice = make_active(spa, owner=owner)
    with scope(spa=spa):
        activity.task_create(
            spa=spa,
            title="Check in before the holidays",
            kind=TaskKind.CHECK_IN,
            due_on=day("2026-05-01"),
            practice=practice,
            assignee=owner,
        )
    assert run(spa, at("2026-04-06 09:00")) == 0
    assert [task.title for task in check_in_tasks()] == ["Check in before the holidays"]
    assert check_in_emails() == []


def test_no_email_when_notify_is_off(spa, owner):
    make_active(spa, owner=owner)
    assert run(spa, at("2026-04-06 09:00"), notify=False) == 1
    assert check_in_emails() == []


def test_a_partner_that_returns_is_counted_from_its_return_not_its_old_check_in(spa, owner):
    practice = make_active(spa, since="2025-01-05 10:00", owner=owner)
    log_check_in(practice, "2025-02-01", owner)
    with scope(spa=spa), freeze_time(at("2026-03-02 10:00")):
        practice_move_stage(practice=practice, to_stage=Stage.DORMANT, actor=owner)
        practice_move_stage(practice=practice, to_stage=Stage.ACTIVE, actor=owner)
    assert run(spa, at("2026-03-03 09:00")) == 0
    assert cadence_of(practice).next_due_on == day("2026-06-01")  # March 2 + 91 days


def test_a_practice_s_own_cadence_and_the_spa_s_default(spa, owner):
    weekly_spa = SpaFactory(slug="weekly-spa", timezone="America/New_York")
    other_owner = MembershipFactory(spa=weekly_spa, role=Role.OWNER).user
    with scope(spa=weekly_spa):
        OutreachSettings.objects.create(spa=weekly_spa, check_in_cadence_days=30)
    by_default = make_active(weekly_spa, name="Thirty Days Dermatology", owner=other_owner)
    custom = make_active(spa, name="Sixty Days Dermatology", owner=owner)
    with scope(spa=spa):
        check_in_cadence_set(practice=custom, cadence_days=60, actor=owner)
    assert cadence_of(custom).next_due_on == day("2026-03-06")
    run(weekly_spa, at("2026-02-04 09:00"))
    assert [task.due_on for task in check_in_tasks(weekly_spa)] == [day("2026-02-04")]
    assert cadence_of(by_default).next_due_on == day("2026-02-04")
    run(spa, at("2026-03-06 09:00"))
    assert [task.due_on for task in check_in_tasks(spa)] == [day("2026-03-06")]


def test_each_spa_s_today_is_its_own_around_midnight(db):
    auckland = SpaFactory(slug="auckland-spa", timezone="Pacific/Auckland")
    los_angeles = SpaFactory(slug="la-spa", timezone="America/Los_Angeles")
    for spa in (auckland, los_angeles):
        owner = MembershipFactory(spa=spa, role=Role.OWNER).user
        make_active(spa, since="2026-01-05 10:00", owner=owner)  # 10:00 on each spa's own clock
    # 2026-04-06 00:30 in Auckland is 2026-04-05 05:30 in Los Angeles (day 90 there).
    moment = at("2026-04-06 00:30", zoneinfo.ZoneInfo("Pacific/Auckland"))
    assert run(auckland, moment) == 1
    assert run(los_angeles, moment) == 0
    # 23:59 on April 5 in Los Angeles is still day 90; one minute later the check-in is due.
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    assert run(los_angeles, at("2026-04-05 23:59", la)) == 0
    assert run(los_angeles, at("2026-04-06 00:00", la)) == 1
    assert [task.due_on for task in check_in_tasks(auckland)] == [day("2026-04-06")]
    assert [task.due_on for task in check_in_tasks(los_angeles)] == [day("2026-04-06")]


def test_becoming_active_late_in_the_spa_s_evening_counts_as_that_day(db):
    spa = SpaFactory(slug="la-evening", timezone="America/Los_Angeles")
    owner = MembershipFactory(spa=spa, role=Role.OWNER).user
    practice = make_active(spa, since="2026-01-05 23:30", owner=owner)  # 07:30 UTC on January 6
    run(spa, at("2026-01-06 12:00", zoneinfo.ZoneInfo("America/Los_Angeles")))
    assert cadence_of(practice).next_due_on == day("2026-04-06")  # January 5 + 91


# --- logging a check-in moves the date ------------------------------------------------------------


def test_logging_a_check_in_moves_the_next_due_date_and_closes_the_task(spa, owner):
    practice = make_active(spa, owner=owner)
    run(spa, at("2026-04-06 09:00"))
    [task] = check_in_tasks()
    log_check_in(practice, "2026-04-08", owner)
    assert cadence_of(practice).last_check_in_on == day("2026-04-08")
    assert cadence_of(practice).next_due_on == day("2026-07-08")
    [task] = check_in_tasks()
    assert task.done_at is not None
    # Nothing more is due until July 8; then the next check-in comes, with its own email.
    assert run(spa, at("2026-07-07 09:00")) == 0
    assert run(spa, at("2026-07-08 09:00")) == 1
    assert [task.due_on for task in check_in_tasks()] == [day("2026-04-06"), day("2026-07-08")]
    assert len(check_in_emails()) == 2


def test_other_touchpoints_do_not_move_the_check_in(spa, owner):
    practice = make_active(spa, owner=owner)
    run(spa, at("2026-02-01 09:00"))
    with scope(spa=spa), freeze_time(at("2026-03-01 12:00")):
        activity.touchpoint_log(
            spa=spa, practice=practice, kind="phone_call", occurred_on=day("2026-03-01"), actor=owner
        )
    assert cadence_of(practice).next_due_on == day("2026-04-06")


def test_removing_a_check_in_recomputes_from_the_ones_that_remain(spa, owner):
    practice = make_active(spa, owner=owner)
    log_check_in(practice, "2026-02-01", owner)
    latest = log_check_in(practice, "2026-03-01", owner)
    assert cadence_of(practice).next_due_on == day("2026-05-31")
    with scope(spa=spa):
        activity.touchpoint_delete(touchpoint=latest, actor=owner)
    assert cadence_of(practice).last_check_in_on == day("2026-02-01")
    assert cadence_of(practice).next_due_on == day("2026-05-03")


def test_completing_the_check_in_task_logs_the_check_in_and_undo_moves_the_date_back(spa, owner):
    practice = make_active(spa, owner=owner)
    run(spa, at("2026-04-06 09:00"))
    [task] = check_in_tasks()
    with scope(spa=spa), freeze_time(at("2026-04-07 11:00")):
        activity.task_complete(task=task, actor=owner)
    assert cadence_of(practice).next_due_on == day("2026-07-07")
    assert rows(Touchpoint, practice=practice, kind="check_in")
    with scope(spa=spa), freeze_time(at("2026-04-07 11:05")):
        activity.task_reopen(task=task, actor=owner)
    assert rows(Touchpoint, practice=practice, kind="check_in") == []
    assert cadence_of(practice).next_due_on == day("2026-04-06")
    # The reopened task is the one for April 6: the job makes no second one.
    assert run(spa, at("2026-04-07 12:00")) == 0


def test_setting_a_cadence_moves_the_date_and_is_audited(spa, owner):
    from infra.models import AuditEvent

    practice = make_active(spa, owner=owner)
    log_check_in(practice, "2026-02-01", owner)
    with scope(spa=spa):
        check_in_cadence_set(practice=practice, cadence_days=30, actor=owner)
    assert cadence_of(practice).next_due_on == day("2026-03-03")
    with scope(spa=spa):
        check_in_cadence_set(practice=practice, cadence_days=None, actor=owner)
    assert cadence_of(practice).cadence_days is None
    assert cadence_of(practice).next_due_on == day("2026-05-03")
    events = rows(AuditEvent, spa=spa, action="check_in_cadence.updated")
    assert [event.detail for event in sorted(events, key=lambda event: event.pk)] == [
        {"from": None, "to": 30},
        {"from": 30, "to": None},
    ]


# --- the briefing ----------------------------------------------------------------------------------


def test_the_check_in_briefing_lists_what_is_new_since_the_last_check_in_and_the_referrals(spa, owner, other_spa):
    practice = make_active(spa, since="2025-06-01 10:00", owner=owner)
    log_check_in(practice, "2026-01-10", owner)
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Old facial", created_at=at("2026-01-09 18:00"))
        ServiceFactory(spa=spa, name="Prenatal massage", created_at=at("2026-01-10 09:00"))
        ServiceFactory(spa=spa, name="Withdrawn wrap", created_at=at("2026-02-01 09:00"), archived_at=timezone.now())
        EquipmentFactory(spa=spa, name="Heated table", created_at=at("2026-02-02 09:00"))
        ProductLineFactory(spa=spa, name="Calm line", brand="Avène", created_at=at("2026-02-03 09:00"))
        OfferFactory(spa=spa, title="15% off a first prenatal massage", created_at=at("2026-02-04 09:00"))
        CredentialFactory(
            spa=spa, person="Dana Reyes", credential="Certified lymphatic therapist", created_at=at("2026-02-05 09:00")
        )
        ReferralFactory(practice=practice, received_at=at("2026-01-05 10:00"), status="completed")  # before
        ReferralFactory(practice=practice, received_at=at("2026-02-10 10:00"), status="completed")
        ReferralFactory(practice=practice, received_at=at("2026-03-10 10:00"), status="scheduled")
        ReferralFactory(practice=practice, received_at=at("2026-03-20 10:00"), status="cancelled")
        ReferralFactory(practice=practice, received_at=at("2026-04-02 10:00"), status="received")
    with scope(spa=other_spa):
        ServiceFactory(spa=other_spa, name="Outsider secret service", created_at=at("2026-02-01 09:00"))
    run(spa, at("2026-04-11 09:00"))
    [task] = check_in_tasks()
    briefing = task.briefing
    assert briefing["kind"] == "check_in"
    assert briefing["since"] == "2026-01-10"
    assert briefing["since_reason"] == "last_check_in"
    assert briefing["written_on"] == "2026-04-11"
    news = briefing["new_at_spa"]
    assert news["services"] == {"names": ["Prenatal massage"], "more": 0}
    assert news["equipment"] == {"names": ["Heated table"], "more": 0}
    assert news["product_lines"] == {"names": ["Calm line (Avène)"], "more": 0}
    assert news["offers"] == {"names": ["15% off a first prenatal massage"], "more": 0}
    assert news["credentials"] == {"names": ["Dana Reyes — Certified lymphatic therapist"], "more": 0}
    assert briefing["referrals"] == {"received": 4, "completed": 1, "open": 2, "last_received_on": "2026-04-02"}
    assert "Outsider" not in str(briefing)
    assert "Jan 10, 2026" in task.notes


def test_a_first_check_in_briefs_from_the_day_the_practice_became_active(spa, owner):
    practice = make_active(spa, since="2026-01-05 10:00", owner=owner)
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Before the partnership", created_at=at("2026-01-04 10:00"))
        ServiceFactory(spa=spa, name="Lymphatic drainage", created_at=at("2026-02-01 10:00"))
        ReferralFactory(practice=practice, received_at=at("2026-02-10 10:00"), status="completed")
    run(spa, at("2026-04-06 09:00"))
    [task] = check_in_tasks()
    assert task.briefing["since"] == "2026-01-05"
    assert task.briefing["since_reason"] == "became_active"
    assert task.briefing["new_at_spa"]["services"]["names"] == ["Lymphatic drainage"]
    assert task.briefing["referrals"]["received"] == 1


def test_a_long_list_of_new_items_keeps_ten_names_and_counts_the_rest(spa, owner):
    make_active(spa, owner=owner)
    with scope(spa=spa):
        for number in range(BRIEFING_NAMES_PER_KIND + 3):
            ServiceFactory(spa=spa, name=f"Service {number:02d}", created_at=at("2026-02-01 10:00"))
    run(spa, at("2026-04-06 09:00"))
    [task] = check_in_tasks()
    services = task.briefing["new_at_spa"]["services"]
    assert len(services["names"]) == BRIEFING_NAMES_PER_KIND
    assert services["more"] == 3
    html = render_to_string("outreach/partials/task_briefing.html", {"briefing": task.briefing})
    assert "and 3 more" in html


def test_the_briefing_snippet_draws_a_check_in_briefing(spa, owner):
    briefing = {
        "version": 1,
        "kind": "check_in",
        "written_on": "2026-04-11",
        "since": "2026-01-10",
        "since_reason": "last_check_in",
        "new_at_spa": {
            "services": {"names": ["Prenatal massage", "Scar massage"], "more": 0},
            "offers": {"names": ["15% off"], "more": 0},
        },
        "referrals": {"received": 4, "completed": 1, "open": 2, "last_received_on": "2026-04-02"},
    }
    html = render_to_string("outreach/partials/task_briefing.html", {"briefing": briefing})
    assert "Since the last check-in on Jan 10, 2026" in html
    assert "Prenatal massage, Scar massage" in html
    assert "New offers for referred patients" in html
    assert "4 received" in html and "1 completed" in html and "2 still open" in html
    assert "latest on Apr 2" in html
    assert "New equipment" not in html  # empty kinds are left out
    assert render_to_string("outreach/partials/task_briefing.html", {"briefing": {}}).strip() == ""


def test_the_briefing_snippet_says_so_when_nothing_is_new(spa, owner):
    briefing = {"kind": "check_in", "since": "2026-01-10", "since_reason": "became_active", "new_at_spa": {}}
    html = render_to_string("outreach/partials/task_briefing.html", {"briefing": briefing})
    assert "Since becoming a partner on Jan 10, 2026" in html
    assert "Nothing new in the catalog since then" in html
