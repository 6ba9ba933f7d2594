"""Nothing in the product ever suggests a gift because a referral arrived (DESIGN.md, "Gifts and
referrals"): referrals come in, every outreach job on the beat schedule runs, and no gift, no task and
no email brings up a gift; a thank-you suggestion, if any, is a note."""

import datetime

import pytest
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

import outreach.tasks
from infra.models import OutgoingEmail
from outreach.models import Gift, Task, TaskKind, TaskSource
from referrals.services import referral_create
from spa_referrals.celery import app
from tests.rendered_emails import rendered

from .helpers import make_clinician, make_contact, make_practice, rows

OUTREACH_JOBS = sorted(
    entry["task"].rsplit(".", 1)[1]
    for entry in app.conf.beat_schedule.values()
    if entry["task"].startswith("outreach.tasks.")
)


def run_every_outreach_job():
    """Run each periodic outreach job whose module exists yet; return the names of those that ran."""
    ran = []
    for name in OUTREACH_JOBS:
        job = getattr(outreach.tasks, name, None)
        if job is None:
            continue
        try:
            job()
        except ImportError:  # an area whose module is not written yet
            continue
        ran.append(name)
    return ran


def mentions_a_gift(*texts):
    return any("gift" in (text or "").lower() for text in texts)


def test_the_beat_schedule_has_outreach_jobs():
    assert "thank_you_suggestions_task" in OUTREACH_JOBS
    assert all(hasattr(outreach.tasks, name) for name in OUTREACH_JOBS)


@pytest.mark.parametrize("stage", ["active", "trial", "meeting"])
def test_referrals_never_lead_to_a_gift_being_suggested_or_recorded(spa, owner, staff_user, stage):
    practice = make_practice(spa, name="Glow Dermatology", stage=stage, owner=owner)
    clinician = make_clinician(practice, first_name="Priya", last_name="Patel")
    make_contact(practice, name="Rosa Alvarez", role="office_manager")

    ran = []
    with freeze_time("2026-06-15 14:00:00"):
        with scope(spa=spa):
            for n in range(3):
                referral_create(
                    spa=spa,
                    practice=practice,
                    clinician=clinician,
                    channel="phone",
                    consent_method="verbal",
                    consent_captured_by="Front desk",
                    notify=False,
                    patient={
                        "patient_first_name": f"Patient{n}",
                        "patient_last_name": "Example",
                        "patient_phone": f"617-555-01{n:02d}",
                    },
                )
        ran += run_every_outreach_job()
    # The next morning (digest hour in New York), a week later (thank-you rate limit), a quarter later.
    for moment in ("2026-06-16 11:05:00", "2026-06-23 11:05:00", "2026-09-20 11:05:00"):
        with freeze_time(moment):
            ran += run_every_outreach_job()

    assert ran, "no outreach job could run"
    assert rows(Gift) == []
    tasks = rows(Task, spa=spa)
    assert [task.title for task in tasks if mentions_a_gift(task.kind, task.title, task.notes)] == []
    thank_yous = [task for task in tasks if task.source == TaskSource.THANK_YOU]
    assert all(task.kind == TaskKind.THANK_YOU_NOTE for task in thank_yous)
    with scopes_disabled():
        emails = [rendered(email) for email in OutgoingEmail.objects.filter(spa=spa)]
    assert emails, "no email to check"
    assert [email.subject for email in emails if mentions_a_gift(email.subject, email.body_text)] == []


def test_a_gift_in_the_ledger_does_not_change_what_referrals_prompt(spa, owner):
    """Even a practice whose people already received gifts gets only a note suggested, never another gift."""
    from outreach.gifts.services import gift_record

    practice = make_practice(spa, name="Glow Dermatology", stage="active", owner=owner)
    clinician = make_clinician(practice, first_name="Priya", last_name="Patel")
    with freeze_time("2026-06-15 14:00:00"):
        with scope(spa=spa):
            gift_record(
                spa=spa,
                practice=practice,
                recipient=clinician,
                given_on=datetime.date(2026, 6, 1),
                kind="meal",
                description="Lunch presentation (her share)",
                fair_market_value="28.50",
                actor=owner,
            )
            referral_create(
                spa=spa,
                practice=practice,
                clinician=clinician,
                channel="phone",
                consent_method="verbal",
                consent_captured_by="Front desk",
                notify=False,
                patient={"patient_first_name": "Ana", "patient_last_name": "Example", "patient_phone": "617-555-0199"},
            )
        run_every_outreach_job()
    assert len(rows(Gift)) == 1
    tasks = rows(Task, spa=spa)
    assert [task.title for task in tasks if mentions_a_gift(task.kind, task.title, task.notes)] == []
