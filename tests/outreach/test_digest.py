"""The morning task digest: at the spa's digest hour in its own time zone, once per member per day, listing
overdue tasks and those due today, through the outbox."""

import datetime
import zoneinfo
from collections import Counter

import pytest
from django_scopes import scope
from freezegun import freeze_time

from infra.models import OutgoingEmail
from outreach.activity import services as activity
from outreach.activity.digest import task_digests_send
from outreach.models import TaskDigest, outreach_settings_for
from outreach.tasks import task_digests_send_task
from spas.models import Role
from tests.factories import MembershipFactory, SpaFactory, UserFactory
from tests.rendered_emails import rendered

from .helpers import make_practice, rows


def _task(spa, user, due_on, title="Call the office manager", **fields):
    with scope(spa=spa):
        return activity.task_create(spa=spa, title=title, due_on=due_on, assignee=user, **fields)[0]


def digests():
    """The digest emails, with the text the worker will send."""
    return [rendered(email) for email in rows(OutgoingEmail, template="task-digest")]


def test_nothing_goes_out_before_the_spa_s_digest_hour(spa, owner):
    _task(spa, owner, datetime.date(2026, 12, 1))
    with freeze_time("2026-12-01 11:59:00"), scope(spa=spa):  # 6:59 in New York
        assert task_digests_send(spa=spa) == 0
    assert digests() == []


def test_the_digest_lists_overdue_and_today_and_goes_once(spa, owner, staff_user):
    practice = make_practice(spa, name="Brookline Dermatology")
    _task(spa, owner, datetime.date(2026, 11, 28), title="Overdue letter", practice=practice)
    _task(spa, owner, datetime.date(2026, 12, 1), title="Call Dr. Patel")
    _task(spa, owner, datetime.date(2026, 12, 3), title="Lunch next week")
    _task(spa, staff_user, datetime.date(2026, 12, 1), title="Stacy's call")
    with freeze_time("2026-12-01 12:05:00"), scope(spa=spa):  # 7:05 in New York
        assert task_digests_send(spa=spa) == 2
        assert task_digests_send(spa=spa) == 0
    by_recipient = {email.to: email for email in digests()}
    assert set(by_recipient) == {owner.email, staff_user.email}
    mine = by_recipient[owner.email]
    assert mine.subject == f"Your day at {spa.name}: 2 tasks"
    assert "Overdue letter · Brookline Dermatology" in mine.body_text
    assert "Call Dr. Patel" in mine.body_text
    assert "Lunch next week" not in mine.body_text and "Stacy" not in mine.body_text
    assert f"/s/{spa.slug}/outreach/" in mine.body_text


def test_a_member_with_nothing_due_gets_no_email_and_no_afternoon_digest(spa, owner):
    with freeze_time("2026-12-01 12:05:00"), scope(spa=spa):
        assert task_digests_send(spa=spa) == 0
    _task(spa, owner, datetime.date(2026, 12, 1))  # added later that morning
    with freeze_time("2026-12-01 14:00:00"), scope(spa=spa):
        assert task_digests_send(spa=spa) == 0
    assert digests() == []
    assert [row.task_count for row in rows(TaskDigest, user=owner)] == [0]


def test_done_tasks_and_deactivated_members_are_left_out(spa, owner):
    leaver = UserFactory(email="leaver@serene.example", is_active=False)
    MembershipFactory(spa=spa, user=leaver, role=Role.STAFF)
    _task(spa, leaver, datetime.date(2026, 12, 1))
    done = _task(spa, owner, datetime.date(2026, 12, 1))
    with scope(spa=spa):
        activity.task_complete(task=done, actor=owner)
    with freeze_time("2026-12-01 12:05:00"), scope(spa=spa):
        assert task_digests_send(spa=spa) == 0
    assert digests() == []


def test_a_claim_made_by_another_run_means_no_second_email(spa, owner):
    _task(spa, owner, datetime.date(2026, 12, 1))
    with scope(spa=spa):
        TaskDigest.objects.create(spa=spa, user=owner, local_date=datetime.date(2026, 12, 1), task_count=1)
    with freeze_time("2026-12-01 12:05:00"), scope(spa=spa):
        assert task_digests_send(spa=spa) == 0
    assert digests() == []


def test_a_beat_that_was_down_catches_up_in_the_morning_but_not_in_the_evening(spa, owner, other_spa, outsider):
    _task(spa, owner, datetime.date(2026, 12, 1))
    _task(other_spa, outsider, datetime.date(2026, 12, 1))
    with freeze_time("2026-12-01 15:30:00"):  # 10:30 in New York: still the morning
        assert task_digests_send_task() == 2
    _task(spa, owner, datetime.date(2026, 12, 2))
    with freeze_time("2026-12-02 22:00:00"):  # 17:00: too late for a morning digest
        assert task_digests_send_task() == 0


def test_the_digest_hour_is_the_spa_s_setting(spa, owner):
    with scope(spa=spa):
        settings_row = outreach_settings_for(spa)
        settings_row.digest_hour = 9
        settings_row.save()
    _task(spa, owner, datetime.date(2026, 12, 1))
    with freeze_time("2026-12-01 13:30:00"), scope(spa=spa):  # 8:30 in New York
        assert task_digests_send(spa=spa) == 0
    with freeze_time("2026-12-01 14:00:00"), scope(spa=spa):  # 9:00
        assert task_digests_send(spa=spa) == 1


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata"])
def test_each_member_gets_one_digest_per_local_day_across_time_zones(db, zone):
    """Beat every 15 minutes for three days over three spas in different zones: one digest per member per day."""
    spas = [SpaFactory(timezone="America/New_York"), SpaFactory(timezone=zone), SpaFactory(timezone="Europe/London")]
    people = []
    for spa in spas:
        person = MembershipFactory(spa=spa, role=Role.OWNER).user
        people.append((spa, person))
        for day in range(-1, 5):
            _task(spa, person, datetime.date(2026, 12, 1) + datetime.timedelta(days=day))
    start = datetime.datetime(2026, 11, 30, 18, 0, tzinfo=datetime.UTC)
    for step in range(3 * 24 * 4):
        with freeze_time(start + datetime.timedelta(minutes=15 * step)):
            task_digests_send_task()
    sent = Counter()
    for email in sorted(digests(), key=lambda email: email.created_at):
        spa = next(spa for spa in spas if spa.pk == email.spa_id)
        local = email.created_at.astimezone(zoneinfo.ZoneInfo(spa.timezone))
        first = not any(key[:2] == (email.spa_id, email.to) for key in sent)
        # At 7:00 local; only the very first may come later that morning (the run started mid-morning there).
        assert local.hour == 7 or (first and 7 <= local.hour < 11), f"{spa.timezone}: sent at {local:%H:%M}"
        sent[(email.spa_id, email.to, local.date())] += 1
    assert set(sent.values()) == {1}
    per_member = Counter((spa_id, to) for spa_id, to, _day in sent)
    # 72 hours hold three local 7 o'clocks everywhere (four where the run began inside a morning window).
    assert all(count in (3, 4) for count in per_member.values()), per_member
    assert len(per_member) == len(people)
