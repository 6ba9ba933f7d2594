"""Two beat processes (a second one started by mistake, or an old one that never stopped during a deploy)
fire every scheduled job twice at the same moment. Each job, run twice at once on PostgreSQL from two
threads with their own connections, must leave exactly what one run leaves — the same tasks, the same
emails, the same marks — and a third run afterwards must add nothing.

The jobs are the Celery task functions the beat schedule names (spa_referrals/celery.py), over all spas,
at one frozen instant: Monday 6 April 2026, 09:20 in the spa's New York.
"""

import datetime
import threading
import zoneinfo
from dataclasses import dataclass

import pytest
from django.core import mail
from django.db import connection, transaction
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import OutgoingEmail
from infra.outbox import email_enqueue_rendered
from infra.tasks import outbox_sweep_task
from outreach.activity import services as activity
from outreach.models import PartnerHealthSnapshot, Task, TaskDigest, TaskKind, TaskPractice
from outreach.tasks import (
    check_ins_create_due_task,
    fresh_approaches_task,
    partner_health_refresh_task,
    task_digests_send_task,
    thank_you_suggestions_task,
)
from partners.models import Stage
from referrals.consent import services as consent
from referrals.models import Authorization, Referral, ReferralEvent
from referrals.outcomes.services import outcome_report_save
from referrals.tasks import authorizations_expire_task, overdue_referrals_notify_task
from spas.models import Role
from spas.tasks import credential_reminders_task
from tests.conftest import postgres_only
from tests.factories import (
    CredentialFactory,
    MembershipFactory,
    PracticeFactory,
    ReferralFactory,
    UserFactory,
)

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = datetime.datetime(2026, 4, 6, 9, 20, tzinfo=NEW_YORK)
TODAY = NOW.date()
BEATS = 2
pytestmark = [postgres_only, pytest.mark.django_db(transaction=True)]


def _rows(model, **filters):
    with scopes_disabled():
        return list(model.objects.filter(**filters))


def _emails(template):
    return sorted(email.to for email in _rows(OutgoingEmail, template=template))


def _practice(spa, **fields):
    with scope(spa=spa):
        return PracticeFactory(spa=spa, **fields)


# --- each job: what to set up, and what one run leaves behind -------------------------------------
# ``setup(spa, people)`` makes the data and returns (how many things one run does, what it leaves behind);
# ``outcome(spa)`` reads what the runs really left, in the same shape.


@dataclass
class Job:
    task: object
    setup: object
    outcome: object


def _check_ins(spa, people):
    since = datetime.datetime(2026, 1, 5, 10, tzinfo=NEW_YORK)  # active for 91 days: a check-in is due today
    practices = [
        _practice(spa, name=f"Active Derm {n}", stage=Stage.ACTIVE, stage_changed_at=since, owner=people[n % 2])
        for n in range(3)
    ]
    tasks = sorted((practice.pk, TODAY) for practice in practices)
    return 3, (tasks, sorted({practice.owner.email for practice in practices}))  # one email per assignee


def _check_ins_outcome(spa):
    tasks = _rows(Task, spa=spa, kind=TaskKind.CHECK_IN)
    return sorted((task.practice_id, task.due_on) for task in tasks), _emails("check-in-due")


def _digests(spa, people):
    for person in people:
        with scope(spa=spa):
            activity.task_create(spa=spa, title="Call the office manager", due_on=TODAY, assignee=person)
            activity.task_create(spa=spa, title="Overdue letter", due_on=TODAY - datetime.timedelta(2), assignee=person)
    return len(people), (sorted((person.pk, TODAY) for person in people), sorted(person.email for person in people))


def _digests_outcome(spa):
    return sorted((d.user_id, d.local_date) for d in _rows(TaskDigest, spa=spa)), _emails("task-digest")


def _thank_yous(spa, people):
    practices = [_practice(spa, name=f"Referring Derm {n}", stage=Stage.ACTIVE, owner=people[0]) for n in range(3)]
    for practice in practices:
        with scope(spa=spa):
            ReferralFactory(spa=spa, practice=practice, received_at=NOW - datetime.timedelta(minutes=15))
    return 3, sorted(practice.pk for practice in practices)


def _thank_yous_outcome(spa):
    # Thank-you notes roll up into one task per assignee and week: each practice is on it once.
    [task] = _rows(Task, spa=spa, kind=TaskKind.THANK_YOU_NOTE)
    return sorted(line.practice_id for line in _rows(TaskPractice, task=task))


def _fresh_approaches(spa, people):
    declined_at = NOW - datetime.timedelta(days=200)  # past the default six months
    practices = [
        _practice(
            spa,
            name=f"Declined Derm {n}",
            stage=Stage.DECLINED,
            stage_changed_at=declined_at,
            declined_reason="Too busy this year",
            owner=people[0],
        )
        for n in range(3)
    ]
    return 3, sorted(practice.pk for practice in practices)


def _fresh_approaches_outcome(spa):
    return sorted(task.practice_id for task in _rows(Task, spa=spa, kind=TaskKind.FRESH_APPROACH))


def _overdue(spa, people):
    practice = _practice(spa, name="Slow Derm")
    with scope(spa=spa):
        referrals = [
            ReferralFactory(
                spa=spa,
                practice=practice,
                received_at=NOW - datetime.timedelta(days=5),
                first_contact_due_at=NOW - datetime.timedelta(hours=1 + n),
            )
            for n in range(3)
        ]
    owners = [people[0].email, people[2].email]  # unassigned: the owners hear about each
    return 3, (sorted(referral.pk for referral in referrals), sorted(owners * 3))


def _overdue_outcome(spa):
    marked = sorted(r.pk for r in _rows(Referral, spa=spa) if r.overdue_notified_at is not None)
    return marked, _emails("referral-overdue")


def _credentials(spa, people):
    with scope(spa=spa):
        CredentialFactory(spa=spa, person="Ana Ruiz", expires_on=TODAY + datetime.timedelta(days=60))
        CredentialFactory(spa=spa, person="Bo Chen", expires_on=TODAY + datetime.timedelta(days=20))
    return 2, sorted([people[0].email, people[2].email] * 2)  # one email per credential to each owner


def _credentials_outcome(spa):
    return _emails("credential-expiring")


def _authorizations(spa, people, count=1):
    # One authorization here: with several, two runs can split them and each send its own email — that bug
    # has a deterministic test of its own below (test_two_expiry_runs_that_split_the_work_...).
    practice = _practice(spa, name="Sharing Derm")
    authorizations = []
    with freeze_time(NOW - datetime.timedelta(days=30)), scope(spa=spa):
        for n in range(count):
            referral = ReferralFactory(spa=spa, practice=practice)
            authorization, _token = consent.authorization_create(
                referral=referral,
                signature_method=Authorization.SignatureMethod.TYPED,
                signer_name=f"Signer {n}",
                expires_at=NOW - datetime.timedelta(hours=1 + n),
            )
            authorizations.append(authorization)
            outcome_report_save(
                referral=referral,
                author=people[0],
                services=[],
                sessions=2,
                observations="Calmer skin",
                recommendations="",
                measures={},
            )
    # One run: each authorization marked once, a note on each referral, ONE email to each owner (the author
    # is an owner) listing the drafts.
    marked = sorted(authorization.pk for authorization in authorizations)
    return count, (marked, count, sorted([people[0].email, people[2].email]))


def _authorizations_outcome(spa):
    marked = sorted(a.pk for a in _rows(Authorization, spa=spa) if a.expired_marked_at is not None)
    notes = [e for e in _rows(ReferralEvent, spa=spa, kind=ReferralEvent.Kind.NOTE) if "expired" in e.note]
    return marked, len(notes), _emails("outcome-drafts-blocked")


def _outbox(spa, people):
    with transaction.atomic():
        for n in range(5):
            email_enqueue_rendered(
                spa=spa, to=f"office{n}@derm.example", subject=f"Hello {n}", body_text="See the app."
            )
    mail.outbox.clear()  # (the eager test settings sent them at once; the sweep is what is under test)
    with scopes_disabled():
        OutgoingEmail.objects.update(status=OutgoingEmail.Status.PENDING, sent_at=None, attempts=0)
    return 5, sorted(f"office{n}@derm.example" for n in range(5))


def _outbox_outcome(spa):
    return sorted(message.to[0] for message in mail.outbox)


def _partner_health(spa, people):
    """Three partners whose health was assessed yesterday: the spa's day has turned."""
    for n in range(3):
        _practice(spa, name=f"Partner Derm {n}", stage=Stage.ACTIVE, stage_changed_at=NOW - datetime.timedelta(40 * n))
    with scope(spa=spa):
        PartnerHealthSnapshot.objects.filter(spa=spa).update(assessed_on=TODAY - datetime.timedelta(1))
    return 1, [TODAY] * 3  # one spa refreshed: every row today's


def _partner_health_outcome(spa):
    return sorted(row.assessed_on for row in _rows(PartnerHealthSnapshot, spa=spa))


JOBS = {
    "check-ins": Job(check_ins_create_due_task, _check_ins, _check_ins_outcome),
    "task-digests": Job(task_digests_send_task, _digests, _digests_outcome),
    "thank-you-suggestions": Job(thank_you_suggestions_task, _thank_yous, _thank_yous_outcome),
    "fresh-approaches": Job(fresh_approaches_task, _fresh_approaches, _fresh_approaches_outcome),
    "overdue-notifications": Job(overdue_referrals_notify_task, _overdue, _overdue_outcome),
    "credential-reminders": Job(credential_reminders_task, _credentials, _credentials_outcome),
    "authorization-expiry": Job(authorizations_expire_task, _authorizations, _authorizations_outcome),
    "outbox-sweep": Job(outbox_sweep_task, _outbox, _outbox_outcome),
    "partner-health": Job(partner_health_refresh_task, _partner_health, _partner_health_outcome),
}


# --- running a job as two beats would ------------------------------------------------------------------


def _run_at_once(task, runs):
    barrier = threading.Barrier(runs)
    results = [None] * runs
    errors = []

    def beat(index):
        try:
            barrier.wait(timeout=30)
            results[index] = task()
        except Exception as error:  # noqa: BLE001 - reported below with the beat's number
            errors.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat, args=(index,), daemon=True) for index in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    assert errors == []
    return results


@pytest.fixture
def people(spa, owner, staff_user):
    """An owner, a staff member and a second owner."""
    co_owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co-owner@serene.example")).user
    return [owner, staff_user, co_owner]


@pytest.mark.parametrize("name", list(JOBS))
def test_two_beats_firing_a_job_at_once_leave_what_one_run_leaves(name, spa, people, mailoutbox):
    job = JOBS[name]
    with freeze_time(NOW):
        count, one_run_leaves = job.setup(spa, people)

        results = _run_at_once(job.task, BEATS)

        assert job.outcome(spa) == one_run_leaves
        assert sum(results) == count  # between them the two runs did the work once
        # A third run in the same minute finds nothing left to do.
        assert job.task() == 0
        assert job.outcome(spa) == one_run_leaves


# --- two expiry runs that split the work -----------------------------------------------------------


class TakeTurns:
    """Makes two concurrent runs interleave deterministically: the first run to mark an authorization as
    expired waits, right after that mark commits, until the other run has marked one too — or until
    ``patience`` seconds have passed, which is what happens when runs are serialised (the other one then
    never finds anything to mark)."""

    def __init__(self, real_audit_record, patience=3):
        self.real = real_audit_record
        self.patience = patience
        self.markers = set()
        self.lock = threading.Lock()
        self.both_marked = threading.Event()

    def audit_record(self, *args, **kwargs):
        result = self.real(*args, **kwargs)
        if kwargs.get("action") == "authorization.expired":
            marker = threading.get_ident()
            transaction.on_commit(lambda: self._take_turns(marker))
        return result

    def _take_turns(self, marker):
        with self.lock:
            first_mark = marker not in self.markers
            self.markers.add(marker)
            if len(self.markers) >= BEATS:
                self.both_marked.set()
        if first_mark:
            self.both_marked.wait(timeout=self.patience)


def test_two_expiry_runs_that_split_the_work_still_send_each_owner_one_email(spa, people, monkeypatch, mailoutbox):
    from referrals.consent import services as consent_module

    turns = TakeTurns(consent_module.audit_record)
    monkeypatch.setattr(consent_module, "audit_record", turns.audit_record)
    with freeze_time(NOW):
        count, one_run_leaves = _authorizations(spa, people, count=2)

        results = _run_at_once(authorizations_expire_task, BEATS)

        assert sum(results) == count
        assert _authorizations_outcome(spa) == one_run_leaves
