"""Contact attempt outcomes: only no answer, a voicemail or a wrong number count toward unreachable; a sent
message awaiting a reply schedules its own follow-up (Referral.follow_up_due_at), shown on the referral page and
picked up by My day; the referral rules say exactly what counts; existing data is corrected by a migration."""

import datetime
import importlib
import zoneinfo

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_scopes import scope
from freezegun import freeze_time

from outreach.activity.selectors import patients_to_contact
from referrals import services
from referrals.models import ReferralEvent, ReferralSettings, Status

from ..factories import PracticeFactory
from .spa_helpers import (
    HTMX,
    action_url,
    count,
    field_error,
    make_referral,
    page_text,
    reload,
    rows,
    set_unreachable_after,
    url,
)

# A Wednesday, 10:00 in Boston.
WEDNESDAY = datetime.datetime(2026, 12, 2, 15, 0, tzinfo=datetime.UTC)


def _attempt(referral, outcome, actor):
    with scope(spa=referral.spa):
        return services.referral_log_attempt(referral=referral, outcome=outcome, actor=actor)


def _local(moment, spa):
    return moment.astimezone(zoneinfo.ZoneInfo(spa.timezone))


def test_the_outcomes_are_offered_in_order_with_the_message_awaiting_a_reply():
    assert ReferralEvent.Outcome.choices == [
        ("reached", "Reached the patient"),
        ("no_answer", "No answer"),
        ("voicemail", "Left a voicemail"),
        ("wrong_number", "Wrong number"),
        ("message_sent", "Sent a message (awaiting reply)"),
    ]


def test_sent_messages_never_make_a_patient_unreachable(spa, staff_user):
    set_unreachable_after(spa, 3)
    referral = make_referral(spa, status=Status.ACCEPTED)

    for _ in range(3):
        _attempt(referral, "message_sent", staff_user)

    stored = reload(referral)
    assert stored.status == Status.ACCEPTED
    assert stored.failed_attempts == 0
    assert stored.first_contact_attempt_at is not None  # a message is an attempt: the response clock stops
    assert rows(ReferralEvent, referral=referral, kind="status") == []


@pytest.mark.parametrize("outcome", ["no_answer", "voicemail", "wrong_number"])
def test_no_answer_voicemail_and_wrong_number_each_count_as_failed(spa, staff_user, outcome):
    set_unreachable_after(spa, 2)
    referral = make_referral(spa, status=Status.ACCEPTED)

    _attempt(referral, "message_sent", staff_user)
    _attempt(referral, outcome, staff_user)
    assert (reload(referral).status, reload(referral).failed_attempts) == (Status.ACCEPTED, 1)
    _attempt(referral, outcome, staff_user)

    assert (reload(referral).status, reload(referral).failed_attempts) == (Status.UNREACHABLE, 2)


@freeze_time(WEDNESDAY)
def test_a_sent_message_schedules_its_follow_up_two_business_days_later(spa, staff_user):
    referral = make_referral(spa, status=Status.ACCEPTED)

    _attempt(referral, "message_sent", staff_user)

    due = _local(reload(referral).follow_up_due_at, spa)
    assert (due.date(), due.hour, due.minute) == (datetime.date(2026, 12, 4), 10, 0)  # Friday, same time


@freeze_time(datetime.datetime(2026, 12, 4, 15, 0, tzinfo=datetime.UTC))  # a Friday
def test_the_follow_up_delay_is_the_spas_in_business_days(spa, staff_user):
    with scope(spa=spa):
        ReferralSettings.objects.update_or_create(spa=spa, defaults={"message_follow_up_business_days": 3})
    referral = make_referral(spa, status=Status.ACCEPTED)

    _attempt(referral, "message_sent", staff_user)

    assert _local(reload(referral).follow_up_due_at, spa).date() == datetime.date(2026, 12, 9)  # the Wednesday


@pytest.mark.parametrize(("outcome", "status"), [("reached", Status.CONTACTED), ("no_answer", Status.ACCEPTED)])
def test_the_next_attempt_of_another_kind_settles_the_follow_up(spa, staff_user, outcome, status):
    referral = make_referral(spa, status=Status.ACCEPTED)
    _attempt(referral, "message_sent", staff_user)

    _attempt(referral, outcome, staff_user)

    stored = reload(referral)
    assert (stored.status, stored.follow_up_due_at) == (status, None)


def test_another_message_pushes_the_follow_up_back(spa, staff_user):
    referral = make_referral(spa, status=Status.ACCEPTED)
    with freeze_time(WEDNESDAY):
        _attempt(referral, "message_sent", staff_user)
    with freeze_time(WEDNESDAY + datetime.timedelta(days=2)):
        _attempt(referral, "message_sent", staff_user)

    assert _local(reload(referral).follow_up_due_at, spa).date() == datetime.date(2026, 12, 8)


def test_booking_the_appointment_settles_the_follow_up(spa, staff_user):
    referral = make_referral(spa, status=Status.CONTACTED)
    _attempt(referral, "message_sent", staff_user)
    assert reload(referral).follow_up_due_at is not None

    with scope(spa=spa):
        services.referral_transition(
            referral=referral,
            to_status=Status.SCHEDULED,
            actor=staff_user,
            scheduled_for=timezone.now() + datetime.timedelta(days=3),
        )

    assert reload(referral).follow_up_due_at is None


def test_my_day_lists_a_contacted_patient_who_owes_a_reply_to_a_sent_message(spa, staff_user):
    practice = PracticeFactory(spa=spa)
    referral = make_referral(spa, practice=practice, status=Status.CONTACTED, assignee=staff_user)
    with scope(spa=spa):
        assert patients_to_contact(spa=spa, user=staff_user)["referrals"] == []

    _attempt(referral, "message_sent", staff_user)

    with scope(spa=spa):
        listed = patients_to_contact(spa=spa, user=staff_user)["referrals"]
    assert [row.pk for row in listed] == [referral.pk]
    assert listed[0].next_contact_due_at == reload(referral).follow_up_due_at


# --- the pages ------------------------------------------------------------------------------------


@freeze_time(WEDNESDAY)
def test_logging_a_sent_message_on_the_page_shows_when_to_follow_up(staff_client, spa, staff_user):
    set_unreachable_after(spa, 1)
    referral = make_referral(spa, status=Status.ACCEPTED)

    response = staff_client.post(
        action_url("attempt", referral), {"version": referral.version, "outcome": "message_sent"}, **HTMX
    )

    assert response.status_code == 200
    assert reload(referral).status == Status.ACCEPTED
    body = page_text(response)
    follow_up = body.split("data-follow-up>", 1)[1].split("</dd>", 1)[0]
    assert "Fri, Dec 4, 10 a.m." in follow_up
    assert "Overdue" not in follow_up
    assert "Sent a message (awaiting reply)" in body  # the timeline and the outcome menu


def test_the_referral_page_flags_an_overdue_follow_up(staff_client, spa):
    referral = make_referral(spa, status=Status.ACCEPTED, follow_up_due_at=timezone.now() - datetime.timedelta(hours=2))

    body = page_text(staff_client.get(url("detail", spa, referral.public_id)))

    assert "Overdue" in body.split("data-follow-up>", 1)[1].split("</dd>", 1)[0]


def test_the_attempt_form_says_what_counts_toward_unreachable(staff_client, spa):
    referral = make_referral(spa, status=Status.ACCEPTED)

    body = page_text(staff_client.get(url("detail", spa, referral.public_id)))

    assert "No answer, a voicemail or a wrong number count toward unreachable. A sent message does not" in body


def test_the_referral_rules_say_exactly_what_counts(owner_client, spa):
    body = page_text(owner_client.get(url("settings", spa)))

    assert "Only failed attempts count: no answer, left a voicemail, wrong number." in body
    assert "A message sent and awaiting a reply does not count" in body
    assert "follow up on a sent message after (business days)" in body.lower()


def test_the_follow_up_delay_is_set_on_the_referral_rules(owner_client, spa):
    data = {
        "first_contact_business_days": 2,
        "unreachable_after_attempts": 3,
        "message_follow_up_business_days": 4,
        "authorization_validity_months": 12,
        "health_retention_months": "",
    }

    assert owner_client.post(url("settings", spa), data).status_code == 302
    with scope(spa=spa):
        assert ReferralSettings.objects.get(spa=spa).message_follow_up_business_days == 4

    refused = owner_client.post(url("settings", spa), {**data, "message_follow_up_business_days": 0})
    assert refused.status_code == 400
    assert field_error(refused, "message_follow_up_business_days")
    with scope(spa=spa):
        assert ReferralSettings.objects.get(spa=spa).message_follow_up_business_days == 4


# --- the data migration ---------------------------------------------------------------------------

MIGRATION = importlib.import_module("referrals.migrations.0014_sent_messages_are_not_failed_attempts")


def _history(referral, *entries):
    """Timeline rows as the old code wrote them, a minute apart: ("attempt", outcome), ("status", from, to) for a
    move by hand, or ("status", from, to, "with the attempt") for a move the attempt before it made."""
    start = timezone.now() - datetime.timedelta(days=5)
    with scope(spa=referral.spa):
        for minute, entry in enumerate(entries):
            if len(entry) == 4:
                minute -= 1
            fields = (
                {"kind": "attempt", "outcome": entry[1]}
                if entry[0] == "attempt"
                else {"kind": "status", "from_status": entry[1], "to_status": entry[2]}
            )
            ReferralEvent.objects.create(
                spa=referral.spa,
                referral=referral,
                created_at=start + datetime.timedelta(minutes=minute),
                **fields,
            )


def test_the_migration_gives_back_patients_that_sent_messages_made_unreachable(spa):
    referral = make_referral(spa, status=Status.UNREACHABLE, failed_attempts=3)
    _history(
        referral,
        ("attempt", "message_sent"),
        ("attempt", "no_answer"),
        ("attempt", "message_sent"),
        ("status", Status.ACCEPTED, Status.UNREACHABLE, "with the attempt"),
    )

    MIGRATION.uncount_sent_messages(django_apps, None)

    stored = reload(referral)
    assert (stored.status, stored.failed_attempts, stored.version) == (Status.ACCEPTED, 1, referral.version + 1)
    assert stored.follow_up_due_at is not None  # its latest attempt was a message: the follow-up is owed
    correction = rows(ReferralEvent, referral=referral, kind="status")[-1]
    assert (correction.from_status, correction.to_status, correction.note) == (
        Status.UNREACHABLE,
        Status.ACCEPTED,
        "Corrected: a sent message no longer counts as a failed attempt.",
    )


def test_the_migration_leaves_real_failures_and_hand_made_moves_alone(spa):
    set_unreachable_after(spa, 3)
    failed = make_referral(spa, status=Status.UNREACHABLE, failed_attempts=4)
    _history(
        failed,
        ("attempt", "message_sent"),
        ("attempt", "no_answer"),
        ("attempt", "voicemail"),
        ("status", Status.ACCEPTED, Status.UNREACHABLE, "with the attempt"),
        ("attempt", "no_answer"),
    )
    by_hand = make_referral(spa, status=Status.UNREACHABLE, failed_attempts=1)
    _history(by_hand, ("attempt", "message_sent"), ("status", Status.ACCEPTED, Status.UNREACHABLE))
    untouched = make_referral(spa, status=Status.ACCEPTED, failed_attempts=2)
    _history(untouched, ("attempt", "no_answer"), ("attempt", "no_answer"))

    MIGRATION.uncount_sent_messages(django_apps, None)

    # Three real failures still reach the spa's three: unreachable it stays, with the message taken back.
    assert (reload(failed).status, reload(failed).failed_attempts) == (Status.UNREACHABLE, 3)
    assert count(ReferralEvent, referral=failed, kind="status") == 1
    assert reload(failed).follow_up_due_at is None
    # Marked unreachable by hand: the count is corrected, the decision stays.
    assert (reload(by_hand).status, reload(by_hand).failed_attempts) == (Status.UNREACHABLE, 0)
    assert reload(untouched).version == untouched.version


def test_the_migration_takes_back_only_messages_sent_before_the_patient_was_reached(spa):
    reached_at = timezone.now() - datetime.timedelta(days=5) + datetime.timedelta(minutes=2, seconds=30)
    referral = make_referral(spa, status=Status.CONTACTED, failed_attempts=2, contacted_at=reached_at)
    _history(
        referral,
        ("attempt", "message_sent"),
        ("attempt", "no_answer"),
        ("attempt", "reached"),
        ("attempt", "message_sent"),
    )

    MIGRATION.uncount_sent_messages(django_apps, None)

    stored = reload(referral)
    assert (stored.status, stored.failed_attempts) == (Status.CONTACTED, 1)
    assert stored.follow_up_due_at is not None
