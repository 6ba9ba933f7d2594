"""Credential expiry reminders: one email to every owner 60 and 30 days before a credential expires,
sent through the outbox by a daily job that is safe to run twice."""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from spa_referrals.celery import app as celery_app
from spas import catalog
from spas.models import Credential, Role, Spa
from spas.tasks import credential_reminders_task
from tests.rendered_emails import rendered

from ..factories import CredentialFactory, MembershipFactory, ServiceFactory, SpaFactory, UserFactory

TODAY = date(2026, 3, 10)
TASK = "spas.tasks.credential_reminders_task"


@pytest.fixture
def second_owner(spa):
    return MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co-owner@serene.example")).user


@pytest.fixture
def team(owner, second_owner, manager_user, staff_user):
    """Two owners, a manager and a staff member: only the owners hear about credentials."""
    return [owner, second_owner, manager_user, staff_user]


@pytest.fixture
def reminders(outbox_rows):
    """The reminder emails, with the text the worker will send."""

    def rows(spa=None, **filters):
        if spa is not None:
            filters["spa"] = spa
        return [rendered(email) for email in outbox_rows(template="credential-expiring", **filters)]

    return rows


def _credential(spa, expires_in_days, today=TODAY, **fields):
    return CredentialFactory(spa=spa, expires_on=today + timedelta(days=expires_in_days), **fields)


def _send(spa, today=TODAY):
    with scope(spa=spa):
        return catalog.credential_reminders_send(spa=spa, today=today)


def _fresh(credential):
    with scopes_disabled():
        return Credential.objects.get(pk=credential.pk)


def _noon_in_new_york(day):
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("America/New_York"))


# --- the two thresholds -------------------------------------------------------------------------


def test_sixty_days_before_expiry_every_owner_gets_one_email(spa, team, reminders):
    credential = _credential(spa, 60, person="Ana Ruiz", credential="Certified prenatal massage therapist")

    assert _send(spa) == 1

    rows = reminders(spa)
    assert sorted(row.to for row in rows) == ["co-owner@serene.example", "owner@serene.example"]
    for row in rows:
        assert row.subject == "A credential of Ana Ruiz expires in 60 days"
        assert "Certified prenatal massage therapist" in row.body_text
        assert "May 9, 2026" in row.body_text
    assert _fresh(credential).reminded_60_at is not None
    assert _fresh(credential).reminded_30_at is None


def test_managers_and_staff_get_no_reminder(spa, team, reminders):
    _credential(spa, 45)

    _send(spa)

    recipients = {row.to for row in reminders(spa)}
    assert "manager@serene.example" not in recipients
    assert "staff@serene.example" not in recipients


def test_thirty_days_before_expiry_the_owners_get_a_second_email(spa, owner, reminders):
    credential = _credential(spa, 60, person="Ana Ruiz")
    _send(spa)

    assert _send(spa, today=TODAY + timedelta(days=29)) == 0
    assert _send(spa, today=TODAY + timedelta(days=30)) == 1

    subjects = [row.subject for row in reminders(spa)]
    assert subjects == ["A credential of Ana Ruiz expires in 60 days", "A credential of Ana Ruiz expires in 30 days"]
    assert _fresh(credential).reminded_30_at is not None


def test_a_credential_more_than_sixty_days_away_gets_no_reminder_yet(spa, owner, reminders):
    credential = _credential(spa, 61)

    assert _send(spa) == 0

    assert reminders(spa) == []
    assert _fresh(credential).reminded_60_at is None


def test_a_credential_first_seen_inside_sixty_days_gets_its_reminder(spa, owner, reminders):
    _credential(spa, 52)

    _send(spa)

    [row] = reminders(spa)
    assert "52 days" in row.subject


def test_a_credential_first_seen_at_twenty_days_gets_one_email_not_two(spa, owner, reminders):
    credential = _credential(spa, 20, person="Ana Ruiz")

    assert _send(spa) == 1
    assert _send(spa, today=TODAY + timedelta(days=1)) == 0

    [row] = reminders(spa)
    assert row.subject == "A credential of Ana Ruiz expires in 20 days"
    credential = _fresh(credential)
    assert credential.reminded_60_at is not None
    assert credential.reminded_30_at is not None


def test_a_credential_expiring_in_one_day_says_day_not_days(spa, owner, reminders):
    _credential(spa, 1, person="Ana Ruiz")

    _send(spa)

    [row] = reminders(spa)
    assert row.subject == "A credential of Ana Ruiz expires in 1 day"
    assert "(1 day from now)" in row.body_text


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_on": TODAY - timedelta(days=1)},
        {"expires_on": TODAY + timedelta(days=400)},
        {"expires_on": None},
    ],
    ids=["expired", "far-future", "no-expiry"],
)
def test_no_reminder_for_credentials_outside_the_window(spa, owner, reminders, fields):
    CredentialFactory(spa=spa, **fields)

    assert _send(spa) == 0
    assert _send(spa, today=TODAY + timedelta(days=5)) == 0

    assert reminders(spa) == []


def test_no_reminder_for_an_archived_credential(spa, owner, reminders):
    credential = _credential(spa, 45)
    with scope(spa=spa):
        catalog.catalog_item_set_archived(item=credential, archived=True, actor=owner)

    assert _send(spa) == 0
    assert _send(spa, today=TODAY + timedelta(days=20)) == 0

    assert reminders(spa) == []


def test_reminders_go_to_the_credentials_own_spa_only(spa, owner, other_spa, outsider, reminders):
    _credential(spa, 45, person="Ana Ruiz")
    _credential(other_spa, 45, person="Otto's therapist")

    _send(spa)

    [ours] = reminders()
    assert (ours.spa, ours.to) == (spa, "owner@serene.example")

    _send(other_spa)

    [theirs] = reminders(other_spa)
    assert theirs.to == "owner@outsider.example"
    assert "Ana Ruiz" not in theirs.subject + theirs.body_text
    assert "Otto" not in ours.subject + ours.body_text


def test_an_inactive_owner_gets_no_reminder(spa, owner, second_owner, reminders):
    second_owner.is_active = False
    second_owner.save(update_fields=["is_active"])
    _credential(spa, 45)

    _send(spa)

    assert [row.to for row in reminders(spa)] == ["owner@serene.example"]


# --- renewing -----------------------------------------------------------------------------------


def test_renewing_a_credential_starts_its_reminders_over(spa, owner, reminders):
    credential = _credential(spa, 20, person="Ana Ruiz")
    _send(spa)
    assert len(reminders(spa)) == 1

    with scope(spa=spa):
        renewed = Credential.objects.get(pk=credential.pk)
        renewed.expires_on = TODAY + timedelta(days=365)
        catalog.catalog_item_save(spa=spa, item=renewed, actor=owner)
    assert _fresh(credential).reminded_60_at is None
    assert _fresh(credential).reminded_30_at is None

    assert _send(spa, today=TODAY + timedelta(days=304)) == 0
    assert _send(spa, today=TODAY + timedelta(days=305)) == 1
    assert _send(spa, today=TODAY + timedelta(days=335)) == 1
    assert [row.subject for row in reminders(spa)] == [
        "A credential of Ana Ruiz expires in 20 days",
        "A credential of Ana Ruiz expires in 60 days",
        "A credential of Ana Ruiz expires in 30 days",
    ]


def test_renewing_through_the_edit_form_starts_the_reminders_over(owner_client, spa, owner, reminders):
    credential = _credential(spa, 20, person="Ana Ruiz", credential="LMT")
    _send(spa)

    response = owner_client.post(
        reverse("catalog:edit", args=[spa.slug, "credentials", credential.public_id]),
        {"person": "Ana Ruiz", "credential": "LMT", "expires_on": (TODAY + timedelta(days=45)).isoformat()},
    )

    assert response.status_code == 302
    assert _fresh(credential).reminded_60_at is None
    assert _send(spa) == 1
    assert [row.subject for row in reminders(spa)][-1] == "A credential of Ana Ruiz expires in 45 days"


def test_editing_a_credential_without_a_new_expiry_sends_nothing_again(spa, owner, reminders):
    credential = _credential(spa, 45, issuer="Old board")
    _send(spa)

    with scope(spa=spa):
        edited = Credential.objects.get(pk=credential.pk)
        edited.issuer = "New board"
        catalog.catalog_item_save(spa=spa, item=edited, actor=owner)

    assert _send(spa) == 0
    assert len(reminders(spa)) == 1
    assert _fresh(credential).issuer == "New board"


def test_an_edit_opened_before_the_reminder_went_out_does_not_bring_it_back(spa, owner, reminders):
    credential = _credential(spa, 45, issuer="Old board")
    with scope(spa=spa):
        stale = Credential.objects.get(pk=credential.pk)  # the edit form is open…
    _send(spa)  # …while the daily job claims the reminder

    stale.issuer = "New board"
    with scope(spa=spa):
        catalog.catalog_item_save(spa=spa, item=stale, actor=owner)

    assert _fresh(credential).reminded_60_at is not None
    assert _send(spa) == 0
    assert len(reminders(spa)) == 1


# --- the email ----------------------------------------------------------------------------------


def test_the_email_links_to_the_credentials_edit_page_and_holds_no_health_information(spa, owner, reminders, other_spa):
    credential = _credential(spa, 60, person="Ana Ruiz", number="LMT-99871", specialties=["oncology", "ob_gyn"])
    ServiceFactory(spa=spa, name="Oncology comfort massage", precautions="Avoid port sites and radiation fields.")

    _send(spa)

    [row] = reminders(spa)
    link = settings.SITE_URL + reverse("catalog:edit", args=[spa.slug, "credentials", credential.public_id])
    assert link in row.body_text
    assert f'href="{link}"' in row.body_html
    everything = row.subject + row.body_text + row.body_html
    for private in ("LMT-99871", "Oncology", "OB-GYN", "Avoid port sites", other_spa.name):
        assert private not in everything


def test_the_reminder_is_delivered_to_the_owners_mailbox(spa, owner, deliver_outbox):
    credential = _credential(spa, 60, person="Ana Ruiz")
    _send(spa)

    [mail] = deliver_outbox()

    assert mail.to == ["owner@serene.example"]
    assert mail.subject == "A credential of Ana Ruiz expires in 60 days"
    assert str(credential.public_id) in mail.body


def test_the_reminder_is_sent_once_its_transaction_commits(spa, owner, mailoutbox, django_capture_on_commit_callbacks):
    _credential(spa, 30, today=catalog.spa_today(spa), person="Ana Ruiz")

    with django_capture_on_commit_callbacks(execute=True):
        credential_reminders_task()

    assert [mail.subject for mail in mailoutbox] == ["A credential of Ana Ruiz expires in 30 days"]


# --- the daily job ------------------------------------------------------------------------------


def test_running_the_job_twice_sends_each_reminder_once(spa, owner, other_spa, outsider, reminders):
    _credential(spa, 45, today=catalog.spa_today(spa))
    _credential(other_spa, 10, today=catalog.spa_today(other_spa))

    first = credential_reminders_task()
    second = credential_reminders_task()

    assert (first, second) == (2, 0)
    assert sorted(row.to for row in reminders()) == ["owner@outsider.example", "owner@serene.example"]


def test_a_daily_job_over_seventy_days_sends_exactly_the_sixty_and_thirty_day_emails(
    spa, owner, second_owner, reminders
):
    expires_on = TODAY + timedelta(days=70)
    CredentialFactory(spa=spa, person="Ana Ruiz", expires_on=expires_on)

    for day in range(75):
        # Two beats on the same day (a restarted beat, a redelivered message) change nothing.
        for hour in (12, 18):
            with freeze_time(_noon_in_new_york(TODAY + timedelta(days=day)).replace(hour=hour)):
                credential_reminders_task()

    rows = reminders(spa)
    assert len(rows) == 4
    by_owner = {}
    for row in rows:
        by_owner.setdefault(row.to, []).append(row.subject)
    assert by_owner == {
        "owner@serene.example": [
            "A credential of Ana Ruiz expires in 60 days",
            "A credential of Ana Ruiz expires in 30 days",
        ],
        "co-owner@serene.example": [
            "A credential of Ana Ruiz expires in 60 days",
            "A credential of Ana Ruiz expires in 30 days",
        ],
    }


@freeze_time("2026-03-01 03:00:00+00:00")  # still Feb 28 in New York, already Mar 1 in Berlin
def test_the_job_counts_days_on_each_spas_own_calendar(spa, owner, other_spa, outsider, reminders):
    spa.timezone = "America/New_York"
    spa.save(update_fields=["timezone"])
    other_spa.timezone = "Europe/Berlin"
    other_spa.save(update_fields=["timezone"])
    # 61 days after Feb 28, 60 days after Mar 1.
    expires_on = date(2026, 3, 1) + timedelta(days=60)
    CredentialFactory(spa=spa, person="New York therapist", expires_on=expires_on)
    CredentialFactory(spa=other_spa, person="Berlin therapist", expires_on=expires_on)

    credential_reminders_task()

    assert [row.subject for row in reminders()] == ["A credential of Berlin therapist expires in 60 days"]


def test_one_spas_broken_settings_do_not_stop_the_next_spas_reminders(db, reminders, caplog):
    broken = SpaFactory(slug="broken-spa")
    working = SpaFactory(slug="working-spa", timezone="America/Chicago")
    MembershipFactory(spa=broken, role=Role.OWNER)
    MembershipFactory(spa=working, role=Role.OWNER, user=UserFactory(email="owner@working.example"))
    _credential(broken, 45, today=catalog.spa_today(broken))
    _credential(working, 45, today=catalog.spa_today(working))
    Spa.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus_Mons")  # bad data bypasses validation

    with caplog.at_level(logging.ERROR, logger="spas.tasks"):
        sent = credential_reminders_task()

    assert sent == 1
    assert [row.to for row in reminders()] == ["owner@working.example"]
    assert f"Credential reminders failed for spa {broken.pk}" in caplog.text


def test_the_job_is_on_the_beat_schedule_daily_with_time_limits():
    entries = [entry for entry in celery_app.conf.beat_schedule.values() if entry["task"] == TASK]

    assert len(entries) == 1
    assert float(entries[0]["schedule"]) == 24 * 60 * 60
    assert TASK in celery_app.tasks
    assert credential_reminders_task.soft_time_limit and credential_reminders_task.time_limit
    assert credential_reminders_task.soft_time_limit < credential_reminders_task.time_limit
