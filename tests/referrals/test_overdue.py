"""Overdue referrals: the flag, and the hourly job that tells the assignee and the owners, once."""

import datetime
import json

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone
from django_scopes import scope
from freezegun import freeze_time

from referrals import services
from referrals.models import Status
from referrals.tasks import overdue_referrals_notify, overdue_referrals_notify_task
from spa_referrals.celery import app as celery_app
from spas.models import Role
from tests.rendered_emails import rendered

from ..factories import MembershipFactory, UserFactory
from .spa_helpers import make_practice, make_referral, receive_referral, reload, url

HOUR = datetime.timedelta(hours=1)


def _overdue(spa, **fields):
    fields.setdefault("patient_first_name", "Harriet")
    fields.setdefault("patient_last_name", "Quimby")
    fields.setdefault("patient_phone", "617-555-0177")
    fields.setdefault("patient_email", "harriet@example.com")
    fields.setdefault("reason_category", "post_procedure_skin_care")
    fields.setdefault("reason_text", "Healing after a chemical peel")
    return make_referral(spa, first_contact_due_at=timezone.now() - HOUR, **fields)


# --- the flag ---------------------------------------------------------------------------------------


def test_a_referral_is_overdue_once_its_due_time_passes_without_an_attempt(spa, staff_user):
    with freeze_time("2025-06-06 19:30:00+00:00"):
        referral = receive_referral(spa)
    due = reload(referral).first_contact_due_at

    with freeze_time(due - datetime.timedelta(minutes=1)):
        assert not reload(referral).is_overdue
    with freeze_time(due + datetime.timedelta(minutes=1)):
        assert reload(referral).is_overdue


@pytest.mark.parametrize("status", [Status.RECEIVED, Status.ACCEPTED])
def test_received_and_accepted_referrals_can_be_overdue(spa, status):
    assert _overdue(spa, status=status).is_overdue


@pytest.mark.parametrize(
    "status",
    [Status.CONTACTED, Status.SCHEDULED, Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.UNREACHABLE],
)
def test_referrals_past_first_contact_are_never_overdue(spa, status):
    assert not _overdue(spa, status=status).is_overdue


def test_a_logged_attempt_stops_the_clock_even_without_reaching_the_patient(spa, staff_user):
    referral = _overdue(spa, status=Status.ACCEPTED)

    with scope(spa=spa):
        services.referral_log_attempt(referral=referral, outcome="no_answer", actor=staff_user)

    stored = reload(referral)
    assert stored.status == Status.ACCEPTED
    assert not stored.is_overdue


def test_the_referral_page_shows_the_overdue_badge(owner_client, spa):
    referral = _overdue(spa)

    page = owner_client.get(url("detail", spa, referral.public_id)).content.decode()

    assert '<span class="badge text-bg-danger"><i class="bi bi-alarm" aria-hidden="true"></i> Overdue</span>' in page


# --- the hourly job --------------------------------------------------------------------------------


@pytest.fixture
def second_owner(spa):
    return MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co-owner@serene.example")).user


def test_the_job_emails_the_assignee_and_the_owners_once_per_overdue_referral(
    spa, owner, second_owner, staff_user, outbox_rows
):
    assigned = _overdue(spa, assignee=staff_user, practice=make_practice(spa, name="Back Bay Dermatology"))
    unassigned = _overdue(spa, practice=make_practice(spa, name="Harbor Physio", specialty="physical_therapy"))
    make_referral(spa, patient_last_name="NotYetDue")

    sent = overdue_referrals_notify_task()

    assert sent == 2
    emails = [rendered(email) for email in outbox_rows(spa=spa, template="referral-overdue")]
    by_practice = {}
    for email in emails:
        by_practice.setdefault(email.subject, []).append(email.to)
    assert {subject: sorted(recipients) for subject, recipients in by_practice.items()} == {
        "Overdue: first contact for a referral from Back Bay Dermatology": sorted(
            [staff_user.email, owner.email, second_owner.email]
        ),
        "Overdue: first contact for a referral from Harbor Physio": sorted([owner.email, second_owner.email]),
    }
    assert reload(assigned).overdue_notified_at is not None
    assert reload(unassigned).overdue_notified_at is not None


def test_a_second_run_sends_nothing(spa, owner, outbox_rows):
    _overdue(spa)
    assert overdue_referrals_notify_task() == 1
    emails_after_first_run = len(outbox_rows(spa=spa))

    assert overdue_referrals_notify_task() == 0
    assert len(outbox_rows(spa=spa)) == emails_after_first_run == 1


def test_a_referral_that_becomes_overdue_later_is_announced_on_a_later_run(spa, owner, outbox_rows):
    referral = make_referral(spa, first_contact_due_at=timezone.now() + HOUR)

    assert overdue_referrals_notify_task() == 0
    with freeze_time(timezone.now() + 2 * HOUR):
        assert overdue_referrals_notify_task() == 1
    assert reload(referral).overdue_notified_at is not None
    assert len(outbox_rows(spa=spa, template="referral-overdue")) == 1


def test_the_overdue_email_carries_a_link_and_no_health_information(spa, owner, outbox_rows):
    referral = _overdue(spa, practice=make_practice(spa, name="Back Bay Dermatology"))

    overdue_referrals_notify_task()

    (email,) = map(rendered, outbox_rows(spa=spa, template="referral-overdue"))
    link = settings.SITE_URL + url("detail", spa, referral.public_id)
    assert link in email.body_text
    assert f'href="{link}"' in email.body_html
    for secret in [
        "Harriet",
        "Quimby",
        "617-555-0177",
        "harriet@example.com",
        "Post-procedure",
        "peel",
        "post_procedure",
    ]:
        assert secret not in email.subject
        assert secret not in email.body_text
        assert secret not in email.body_html
        assert secret not in json.dumps(email.context)


@freeze_time("2025-06-10 20:30:00+00:00")
def test_the_due_time_in_the_email_is_on_the_spas_clock(spa, owner, outbox_rows):
    make_referral(spa, first_contact_due_at=datetime.datetime(2025, 6, 10, 19, 30, tzinfo=datetime.UTC))

    overdue_referrals_notify_task()

    (email,) = map(rendered, outbox_rows(spa=spa, template="referral-overdue"))
    assert "First contact was due by Tuesday June 10, 3:30 p.m." in email.body_text


def test_the_job_goes_spa_by_spa_and_tells_each_spa_only_about_its_own(spa, owner, other_spa, outsider, outbox_rows):
    _overdue(spa, practice=make_practice(spa, name="Our Practice"))
    _overdue(other_spa, practice=make_practice(other_spa, name="Their Practice"))

    assert overdue_referrals_notify_task() == 2

    assert [(email.to, rendered(email).subject) for email in outbox_rows(spa=spa)] == [
        (owner.email, "Overdue: first contact for a referral from Our Practice")
    ]
    assert [(email.to, rendered(email).subject) for email in outbox_rows(spa=other_spa)] == [
        (outsider.email, "Overdue: first contact for a referral from Their Practice")
    ]


def test_closed_or_contacted_referrals_are_not_announced(spa, owner, outbox_rows):
    for status in (Status.CONTACTED, Status.DECLINED, Status.CANCELLED):
        _overdue(spa, status=status)

    with scope(spa=spa):
        assert overdue_referrals_notify(spa=spa) == 0
    assert outbox_rows(spa=spa) == []


def test_the_job_runs_hourly_at_five_past_from_the_beat_schedule():
    entry = next(
        entry
        for entry in celery_app.conf.beat_schedule.values()
        if entry["task"] == "referrals.tasks.overdue_referrals_notify_task"
    )

    assert entry["schedule"] == crontab(minute=5)
    assert "referrals.tasks.overdue_referrals_notify_task" in celery_app.tasks


# --- the overdue filter ----------------------------------------------------------------------------


def test_the_overdue_filter_and_count_agree_with_the_flag(owner_client, spa):
    overdue = [_overdue(spa, patient_last_name=f"Late{n}") for n in range(3)]
    make_referral(spa, patient_last_name="OnTime")
    _overdue(spa, status=Status.CONTACTED, patient_last_name="Reached")

    page = owner_client.get(url("inbox", spa, query="overdue=true")).content.decode()

    for referral in overdue:
        assert referral.patient_last_name in page
    assert "OnTime" not in page
    assert "Reached" not in page
    assert "3 referrals" in page
