"""The daily authorization expiry (and what the spa is told), the spa's default validity for new
authorizations, and the nightly retention purge of closed referrals' health fields."""

import datetime
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent, OutgoingEmail
from referrals.consent import services as consent
from referrals.models import Authorization, OutcomeReport, Referral, ReferralEvent, referral_settings_for
from referrals.outcomes.services import authorizations_expire, outcome_report_save, outcome_report_share
from referrals.patient_rights.services import closed_referrals_purge
from referrals.tasks import authorizations_expire_task, health_fields_purge_task
from spa_referrals.celery import app
from tests.factories import MembershipFactory, UserFactory
from tests.rendered_emails import rendered

from .portal_helpers import make_referral

TYPED = Authorization.SignatureMethod.TYPED


def authorize(referral, **extra):
    with scope(spa=referral.spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method=TYPED, signer_name=referral.patient_name, **extra
        )
    return authorization


def draft(referral, author):
    with scope(spa=referral.spa):
        return outcome_report_save(
            referral=referral,
            author=author,
            services=[],
            sessions=2,
            observations="Calmer skin",
            recommendations="",
            measures={},
        )


def blocked_emails():
    """The "drafts can no longer be shared" emails, with the text the worker will send."""
    with scopes_disabled():
        emails = list(OutgoingEmail.objects.filter(template="outcome-drafts-blocked").order_by("to"))
    return [rendered(email) for email in emails]


# --- expiry -----------------------------------------------------------------------------------------


def test_the_expiry_job_tells_owners_and_authors_which_drafts_can_no_longer_be_shared(
    spa, owner, manager_user, practice_a
):
    referral = make_referral(practice_a, first="Ada", last="Lovelace")
    authorization = authorize(referral)
    draft(referral, manager_user)
    later = authorization.expires_at + timedelta(minutes=5)

    with scope(spa=spa):
        blocked = authorizations_expire(spa=spa, now=later)

    assert [report.referral_id for report in blocked] == [referral.pk]
    emails = blocked_emails()
    assert [email.to for email in emails] == sorted([owner.email, manager_user.email])
    body = emails[0].body_text
    assert reverse("outcomes:edit", args=[spa.slug, referral.public_id]) in body
    assert "Brookline Dermatology" in body
    assert "Ada" not in body and "Lovelace" not in body and "Calmer" not in body  # no health information
    assert emails[0].subject == "A draft outcome report can no longer be shared"
    with scope(spa=spa):
        assert Authorization.objects.get(pk=authorization.pk).expired_marked_at == later
        note = ReferralEvent.objects.get(referral=referral, kind="note")
    assert "can no longer be shared" in note.note
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="authorization.expired").count() == 1


def test_running_the_expiry_job_twice_tells_nobody_twice(spa, owner, practice_a):
    referral = make_referral(practice_a)
    authorization = authorize(referral)
    draft(referral, owner)
    with freeze_time(authorization.expires_at + timedelta(hours=1)):
        assert authorizations_expire_task() == 1
        assert authorizations_expire_task() == 0
    assert len(blocked_emails()) == 1


def test_drafts_still_covered_by_another_authorization_are_not_reported(spa, owner, practice_a):
    referral = make_referral(practice_a)
    short = authorize(referral, expires_at=timezone.now() + timedelta(days=2))
    authorize(referral)  # a newer one, a year long
    draft(referral, owner)
    with scope(spa=spa):
        assert authorizations_expire(spa=spa, now=short.expires_at + timedelta(minutes=1)) == []
    assert blocked_emails() == []


def test_shared_reports_and_reports_of_revoked_authorizations_are_not_reported(
    spa, owner, practice_a, django_capture_on_commit_callbacks
):
    shared_referral = make_referral(practice_a)
    shared_authorization = authorize(shared_referral)
    report = draft(shared_referral, owner)
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        outcome_report_share(report=report, actor=owner)
    revoked_referral = make_referral(practice_a)
    revoked = authorize(revoked_referral)
    draft(revoked_referral, owner)
    with scope(spa=spa):
        consent.authorization_revoke(authorization=revoked, channel="staff", actor=owner)
        assert authorizations_expire(spa=spa, now=shared_authorization.expires_at + timedelta(days=1)) == []
        assert OutcomeReport.objects.get(pk=report.pk).status == "shared"
    assert blocked_emails() == []


def test_the_expiry_job_keeps_each_spa_to_itself(spa, other_spa, owner, outsider, practice_a, other_spa_practice):
    ours = make_referral(practice_a)
    theirs = make_referral(other_spa_practice)
    ours_authorization = authorize(ours)
    authorize(theirs)
    draft(ours, owner)
    draft(theirs, outsider)
    with freeze_time(ours_authorization.expires_at + timedelta(days=1)):
        assert authorizations_expire_task() == 2
    by_recipient = {email.to: email for email in blocked_emails()}
    assert set(by_recipient) == {owner.email, outsider.email}
    assert by_recipient[owner.email].spa_id == spa.pk
    assert spa.slug not in by_recipient[outsider.email].body_text
    assert other_spa.slug not in by_recipient[owner.email].body_text


def test_the_jobs_are_on_the_beat_schedule():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"referrals.tasks.authorizations_expire_task", "referrals.tasks.health_fields_purge_task"} <= tasks


# --- default validity ------------------------------------------------------------------------------


def test_new_authorizations_end_after_the_spas_validity(spa, practice_a):
    with scope(spa=spa):
        settings_row = referral_settings_for(spa)
        settings_row.authorization_validity_months = 6
        settings_row.save()
    referral = make_referral(practice_a)
    with freeze_time("2026-03-15 12:00:00"):
        authorization = authorize(referral)
    assert authorization.expires_at == datetime.datetime(2026, 9, 15, 12, tzinfo=datetime.UTC)
    assert "ends on September 15, 2026," in authorization.text_signed
    # The patient's revocation link works at least as long as the authorization runs.
    assert authorization.revocation_token_expires_at >= authorization.expires_at


def test_the_default_validity_is_twelve_months(spa, practice_a):
    referral = make_referral(practice_a)
    with freeze_time("2026-03-15 12:00:00"):
        authorization = authorize(referral)
    assert authorization.expires_at == datetime.datetime(2027, 3, 15, 12, tzinfo=datetime.UTC)


# --- settings page -----------------------------------------------------------------------------------


def test_owners_set_validity_and_retention_on_the_response_rules_page(owner_client, spa):
    url = reverse("referrals:settings", args=[spa.slug])
    page = owner_client.get(url)
    assert "purge health information" in page.content.decode().lower()
    response = owner_client.post(
        url,
        {
            "first_contact_business_days": 2,
            "unreachable_after_attempts": 3,
            "message_follow_up_business_days": 2,
            "authorization_validity_months": 24,
            "health_retention_months": 36,
        },
    )
    assert response.status_code == 302
    with scope(spa=spa):
        settings_row = referral_settings_for(spa)
    assert (settings_row.authorization_validity_months, settings_row.health_retention_months) == (24, 36)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("authorization_validity_months", 0),
        ("authorization_validity_months", 121),
        ("authorization_validity_months", "twelve"),
        ("health_retention_months", 0),
        ("health_retention_months", 241),
        ("health_retention_months", "-3"),
    ],
)
def test_bad_settings_are_refused_beside_the_field(owner_client, spa, field, value):
    data = {
        "first_contact_business_days": 2,
        "unreachable_after_attempts": 3,
        "message_follow_up_business_days": 2,
        "authorization_validity_months": 12,
        "health_retention_months": "",
        field: value,
    }
    response = owner_client.post(reverse("referrals:settings", args=[spa.slug]), data)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    with scope(spa=spa):
        settings_row = referral_settings_for(spa)
    assert (settings_row.authorization_validity_months, settings_row.health_retention_months) == (12, None)


def test_staff_cannot_change_the_retention(staff_client, spa):
    response = staff_client.post(
        reverse("referrals:settings", args=[spa.slug]),
        {
            "first_contact_business_days": 2,
            "unreachable_after_attempts": 3,
            "authorization_validity_months": 12,
            "health_retention_months": 1,
        },
    )
    assert response.status_code == 403
    with scope(spa=spa):
        assert referral_settings_for(spa).health_retention_months is None


# --- retention purge ---------------------------------------------------------------------------------


def _closed(practice, *, months_ago, status="completed", first="Ada"):
    referral = make_referral(practice, first=first, last="Lovelace")
    with scope(spa=practice.spa):
        Referral.objects.filter(pk=referral.pk).update(
            status=status, closed_at=timezone.now() - relativedelta(months=months_ago), reason_text="Eczema flare"
        )
    return referral


def _set_retention(spa, months):
    with scope(spa=spa):
        settings_row = referral_settings_for(spa)
        settings_row.health_retention_months = months
        settings_row.save()


def _state(referral):
    with scope(spa=referral.spa):
        row = Referral.objects.get(pk=referral.pk)
    return row.patient_first_name, row.reason_text, row.health_fields_purged_at is not None


def test_the_purge_is_off_by_default(spa, practice_a):
    old = _closed(practice_a, months_ago=60)
    assert health_fields_purge_task() == 0
    assert _state(old) == ("Ada", "Eczema flare", False)


def test_the_purge_erases_only_referrals_closed_longer_ago_than_the_setting(spa, practice_a):
    _set_retention(spa, 6)
    old_completed = _closed(practice_a, months_ago=7)
    old_declined = _closed(practice_a, months_ago=8, status="declined")
    recent = _closed(practice_a, months_ago=5)
    old_but_open = make_referral(practice_a, first="Ada", last="Lovelace")
    with scope(spa=spa):
        Referral.objects.filter(pk=old_but_open.pk).update(
            received_at=timezone.now() - relativedelta(months=30), reason_text="Eczema flare"
        )

    assert health_fields_purge_task() == 2

    assert _state(old_completed) == ("", "", True)
    assert _state(old_declined) == ("", "", True)
    assert _state(recent) == ("Ada", "Eczema flare", False)
    assert _state(old_but_open) == ("Ada", "Eczema flare", False)
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="referral.purged").count() == 2
    assert health_fields_purge_task() == 0  # nothing twice


def test_each_spa_keeps_its_own_retention(spa, other_spa, practice_a, other_spa_practice):
    _set_retention(spa, 12)
    ours = _closed(practice_a, months_ago=13)
    theirs = _closed(other_spa_practice, months_ago=13)
    assert health_fields_purge_task() == 1
    assert _state(ours)[2] is True
    assert _state(theirs) == ("Ada", "Eczema flare", False)


def test_the_purge_works_through_large_backlogs_in_batches(spa, practice_a, monkeypatch):
    monkeypatch.setattr("referrals.patient_rights.services.PURGE_BATCH", 3)
    _set_retention(spa, 1)
    backlog = [_closed(practice_a, months_ago=2) for _ in range(7)]
    with scope(spa=spa):
        assert closed_referrals_purge(spa=spa) == 7
    assert all(_state(referral)[2] for referral in backlog)


def test_a_purge_leaves_a_waiting_email_for_the_same_person_alone(spa, practice_a):
    """The same patient may have a newer, open referral whose confirmation is still in the outbox."""
    _set_retention(spa, 6)
    old = _closed(practice_a, months_ago=7)
    with scope(spa=spa):
        Referral.objects.filter(pk=old.pk).update(patient_email="ada@x.example")
    newer = make_referral(practice_a, first="Ada", last="Lovelace")
    with scope(spa=spa):
        authorization, token = consent.authorization_create(referral=newer, signature_method=TYPED, signer_name="Ada")
        consent.authorization_confirmation_send(authorization=authorization, raw_token=token, to="ada@x.example")
    with scopes_disabled():
        OutgoingEmail.objects.filter(template="referral-confirmation").update(status="pending")
    assert health_fields_purge_task() == 1
    with scopes_disabled():
        waiting = OutgoingEmail.objects.get(template="referral-confirmation")
    assert (waiting.status, waiting.to) == ("pending", "ada@x.example")


def test_a_deactivated_owner_gets_no_expiry_email(spa, owner, practice_a):
    former = UserFactory(email="former@serene.example", is_active=False)
    MembershipFactory(spa=spa, user=former, role="owner")
    referral = make_referral(practice_a)
    authorization = authorize(referral)
    draft(referral, owner)
    with scope(spa=spa):
        authorizations_expire(spa=spa, now=authorization.expires_at + timedelta(minutes=1))
    assert [email.to for email in blocked_emails()] == [owner.email]
