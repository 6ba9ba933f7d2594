"""Patient follow-up after a completed referral: the schedule on the spa's calendar, consent, the email through the
outbox without health details, the signed links (valid, expired, reused, tampered, another referral's), the
satisfaction answer, the separate testimonial opt-in, the opt-out, revocation, staff cancel and the roll-up."""

import datetime
import re

import pytest
from django.core import signing
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent
from referrals.consent import services as consent
from referrals.followup import links
from referrals.followup.selectors import practice_rating
from referrals.followup.services import follow_up_due_at, follow_ups_send_due
from referrals.models import Authorization, PatientFollowUp, SatisfactionResponse
from referrals.models import TestimonialPermission as SharingPermission  # a Test* name pytest would collect
from referrals.tasks import follow_ups_send_task

from .follow_up_helpers import HEALTH_DETAILS, NEW_YORK, VISIT, completed_referral

DUE = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=NEW_YORK)  # Thursday 10:00, two days after Tuesday's visit
URL = re.compile(r"https?://[^\s\"<]+")


def _follow_up(referral):
    with scopes_disabled():
        return PatientFollowUp.objects.filter(referral=referral).first()


def _send_and_deliver(deliver_outbox, at=DUE):
    with freeze_time(at):
        follow_ups_send_task()
        return deliver_outbox()


def _path(url):
    return re.sub(r"^https?://[^/]+", "", url)


@pytest.fixture
def sent(spa, owner, deliver_outbox):
    """A completed referral whose thank-you was sent: (referral, feedback path, stop path); the test runs an hour
    after it was sent (the clock ticking from there)."""
    referral = completed_referral(spa, owner)
    mails = _send_and_deliver(deliver_outbox)
    urls = URL.findall(mails[-1].body)
    feedback = _path(next(url for url in urls if "/follow-up/" in url and not url.endswith("/stop/")))
    stop = _path(next(url for url in urls if url.endswith("/stop/")))
    with freeze_time(DUE + datetime.timedelta(hours=1), tick=True):
        yield referral, feedback, stop


# --- the schedule ---------------------------------------------------------------------------------------------


def test_it_schedules_the_thank_you_two_days_after_the_visit_at_ten_on_the_spas_clock(spa, owner):
    referral = completed_referral(spa, owner)
    follow_up = _follow_up(referral)
    assert follow_up.state == "scheduled"
    assert follow_up.due_at == DUE
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="follow_up.scheduled", object_id=str(follow_up.public_id)).exists()


def test_a_due_day_on_a_weekend_moves_to_monday_and_the_spas_time_zone_decides_the_day(spa):
    thursday_evening = datetime.datetime(2026, 3, 5, 20, 0, tzinfo=NEW_YORK)
    monday = datetime.datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert follow_up_due_at(spa=spa, visit_at=thursday_evening, now=thursday_evening) == monday
    # 23:30 Tuesday in New York is already Wednesday in UTC: the spa's calendar counts from Tuesday.
    tuesday_late = datetime.datetime(2026, 3, 3, 23, 30, tzinfo=NEW_YORK)
    assert follow_up_due_at(spa=spa, visit_at=tuesday_late, now=tuesday_late) == DUE
    spa.timezone = "Asia/Tokyo"
    tokyo = follow_up_due_at(spa=spa, visit_at=tuesday_late, now=tuesday_late)
    assert tokyo.astimezone(datetime.UTC) == datetime.datetime(2026, 3, 6, 1, 0, tzinfo=datetime.UTC)  # Fri 10:00


def test_a_completion_recorded_late_sends_at_the_next_business_moment_not_in_the_past(spa):
    saturday = datetime.datetime(2026, 3, 14, 12, 0, tzinfo=NEW_YORK)
    assert follow_up_due_at(spa=spa, visit_at=VISIT, now=saturday) == datetime.datetime(
        2026, 3, 16, 10, 0, tzinfo=NEW_YORK
    )
    wednesday_noon = datetime.datetime(2026, 3, 11, 12, 0, tzinfo=NEW_YORK)
    assert follow_up_due_at(spa=spa, visit_at=VISIT, now=wednesday_noon) == wednesday_noon


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"consent_to_contact": False}, "did not agree to be contacted"),
        ({"patient_email": ""}, "No email address"),
    ],
)
def test_without_contact_consent_nothing_is_scheduled_and_the_referral_page_says_why(
    spa, owner, owner_client, fields, why
):
    referral = completed_referral(spa, owner, **fields)
    assert _follow_up(referral) is None
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    assert "No follow-up is scheduled for this patient." in page
    assert why in page


def test_a_revoked_authorization_before_completion_means_no_follow_up(spa, owner):
    referral = completed_referral(spa, owner, visit=VISIT)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
        consent.authorization_revoke(authorization=authorization, channel="patient_link")
    second = completed_referral(spa, owner, practice=referral.practice)
    with scope(spa=spa):
        other, _token = consent.authorization_create(referral=second, signature_method="typed", signer_name="Bo")
    # The first one's scheduled follow-up stopped with the revocation, in the same transaction.
    assert _follow_up(referral).state == "stopped"
    assert _follow_up(referral).reason == "revoked"
    assert _follow_up(second).state == "scheduled"


# --- sending --------------------------------------------------------------------------------------------------


def test_it_sends_through_the_outbox_once_with_no_health_details(spa, owner, deliver_outbox, outbox_rows):
    referral = completed_referral(spa, owner)
    with freeze_time(DUE - datetime.timedelta(minutes=1)):
        assert follow_ups_send_task() == 0  # not due yet
    mails = _send_and_deliver(deliver_outbox)
    assert len(mails) == 1
    message = mails[0]
    assert message.to == ["ada@patient.example"]
    assert spa.name in message.subject
    html = message.alternatives[0][0]
    for text in (message.subject, message.body, html):
        for detail in (*HEALTH_DETAILS, referral.practice.name, "dermatology", referral.patient_last_name):
            assert detail.lower() not in text.lower()
    assert "/follow-up/" in message.body and "/stop/" in message.body
    assert [row.template for row in outbox_rows(to="ada@patient.example")] == ["patient-follow-up"]
    follow_up = _follow_up(referral)
    assert follow_up.state == "sent" and follow_up.sent_at == DUE
    # A second beat (or the next quarter hour) sends nothing more.
    assert len(_send_and_deliver(deliver_outbox, at=DUE + datetime.timedelta(hours=1))) == 1


def test_consent_gone_by_the_time_it_is_due_stops_instead_of_sending(spa, owner, deliver_outbox):
    referral = completed_referral(spa, owner)
    with scope(spa=spa):
        type(referral).objects.filter(pk=referral.pk).update(patient_email="")
        with freeze_time(DUE):
            assert follow_ups_send_due(spa=spa) == 0
    assert deliver_outbox() == []
    assert (_follow_up(referral).state, _follow_up(referral).reason) == ("stopped", "no_consent")


# --- the signed links -----------------------------------------------------------------------------------------


def test_the_feedback_link_saves_one_answer_and_a_reused_link_says_already_answered(client, spa, sent):
    referral, feedback, _stop = sent
    page = client.get(feedback)
    assert page.status_code == 200
    assert 'name="share_testimonial"' in page.content.decode()
    assert "checked" not in re.search(r'<input[^>]*name="share_testimonial"[^>]*>', page.content.decode()).group(0)
    answered = client.post(feedback, {"score": "5", "comment": "Lovely, calm place."})
    assert answered.status_code == 200
    assert "Thank you for your answer" in answered.content.decode()
    again = client.post(feedback, {"score": "1", "comment": "changed my mind"})
    assert "You already answered" in again.content.decode()
    with scopes_disabled():
        answers = list(SatisfactionResponse.objects.filter(follow_up__referral=referral))
        assert [(answer.score, answer.comment) for answer in answers] == [(5, "Lovely, calm place.")]
        assert answers[0].practice_id == referral.practice_id
        assert not SharingPermission.objects.exists()  # not ticked: not given
        assert AuditEvent.objects.filter(action="satisfaction.submitted").count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"score": "7"}, "Choose a rating from 1 to 5."),
        ({"score": ""}, "Choose a rating from 1 to 5."),
        ({"score": "4", "share_testimonial": "on"}, "Write the comment you allow us to share"),
        ({"score": "4", "comment": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_answers_are_refused_beside_the_field_and_change_nothing(client, sent, data, error):
    _referral, feedback, _stop = sent
    response = client.post(feedback, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    with scopes_disabled():
        assert not SatisfactionResponse.objects.exists()
        assert not SharingPermission.objects.exists()


def test_an_expired_link_shows_a_friendly_page_and_changes_nothing(client, sent):
    _referral, feedback, stop = sent
    # Counted in real time, not on the wall clock (a DST change falls inside these 30 days).
    with freeze_time(DUE.astimezone(datetime.UTC) + links.LINK_MAX_AGE + datetime.timedelta(minutes=1)):
        expired = client.post(feedback, {"score": "5"})
        stopped = client.post(stop)
    assert expired.status_code == stopped.status_code == 410
    assert "This link has expired." in expired.content.decode()
    with scopes_disabled():
        assert not SatisfactionResponse.objects.exists()
        assert PatientFollowUp.objects.get().state == "sent"


def test_a_tampered_or_wrong_purpose_link_is_not_found_and_changes_nothing(client, sent):
    _referral, feedback, stop = sent
    token = feedback.rstrip("/").rsplit("/", 1)[-1]
    stop_token = stop.rstrip("/").split("/")[-2]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.post(f"/follow-up/{tampered}/", {"score": "5"}).status_code == 404
    # The opt-out token does not open the question, nor the question's token the opt-out.
    assert client.post(f"/follow-up/{stop_token}/", {"score": "5"}).status_code == 404
    assert client.post(f"/follow-up/{token}/stop/").status_code == 404
    with scopes_disabled():
        assert not SatisfactionResponse.objects.exists()
        assert PatientFollowUp.objects.get().state == "sent"


def test_a_link_for_one_referral_cannot_act_on_another(client, spa, owner, other_spa, deliver_outbox, sent):
    referral, feedback, _stop = sent
    other = completed_referral(other_spa, owner, patient_email="bo@patient.example")
    _send_and_deliver(deliver_outbox)
    other_follow_up = _follow_up(other)
    # A token names its follow-up inside the signature: changing the id breaks it.
    payload = signing.loads(feedback.rstrip("/").rsplit("/", 1)[-1], salt=links.SALT)
    forged = signing.dumps({**payload, "f": str(other_follow_up.public_id)}, salt="not-our-salt")
    assert client.post(f"/follow-up/{forged}/", {"score": "1"}).status_code == 404
    assert client.post(feedback, {"score": "2"}).status_code == 200
    with scopes_disabled():
        assert list(SatisfactionResponse.objects.values_list("follow_up__referral", flat=True)) == [referral.pk]


# --- testimonial and opt-out ----------------------------------------------------------------------------------


def test_the_testimonial_permission_is_separate_explicit_and_revocable(client, spa, sent):
    referral, feedback, _stop = sent
    client.post(feedback, {"score": "5", "comment": "Best massage ever.", "share_testimonial": "on"})
    with scopes_disabled():
        permission = SharingPermission.objects.get()
        assert spa.name in permission.wording and "withdraw" in permission.wording
        assert permission.revoked_at is None and permission.practice_id == referral.practice_id
    page = client.get(feedback).content.decode()
    assert "Withdraw my permission to share" in page
    withdraw = feedback + "testimonial/withdraw/"
    assert client.post(withdraw).status_code == 200
    assert client.post(withdraw).status_code == 200  # twice changes nothing
    with scopes_disabled():
        permission.refresh_from_db()
        assert permission.revoked_at is not None
        assert AuditEvent.objects.filter(action="testimonial.revoked").count() == 1
        assert SatisfactionResponse.objects.get().score == 5  # the answer stays


def test_the_opt_out_link_asks_first_then_stops_everything_at_once(client, spa, owner, sent):
    referral, feedback, stop = sent
    client.post(feedback, {"score": "4", "comment": "Nice.", "share_testimonial": "on"})
    page = client.get(stop)
    assert page.status_code == 200 and "Stop all follow-up messages" in page.content.decode()
    assert _follow_up(referral).state == "sent"  # a mail scanner's GET changes nothing
    done = client.post(stop)
    assert "you will hear nothing more from us" in done.content.decode()
    follow_up = _follow_up(referral)
    assert (follow_up.state, follow_up.reason) == ("stopped", "opt_out")
    with scopes_disabled():
        assert SharingPermission.objects.get().revoked_at is not None
        assert AuditEvent.objects.filter(action="follow_up.stopped", object_id=str(follow_up.public_id)).exists()


def test_an_opt_out_before_answering_closes_the_question(client, sent):
    _referral, feedback, stop = sent
    client.post(stop)
    response = client.post(feedback, {"score": "5"})
    assert "This follow-up is closed." in response.content.decode()
    with scopes_disabled():
        assert not SatisfactionResponse.objects.exists()


def test_revoking_the_authorization_stops_a_scheduled_follow_up_and_nothing_is_sent(spa, owner, deliver_outbox):
    referral = completed_referral(spa, owner)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
        consent.authorization_revoke(authorization=Authorization.objects.get(pk=authorization.pk), channel="staff")
    assert _follow_up(referral).state == "stopped"
    assert _send_and_deliver(deliver_outbox) == []


# --- staff ----------------------------------------------------------------------------------------------------


def test_staff_see_the_state_and_cancel_a_scheduled_follow_up(spa, owner, owner_client, deliver_outbox):
    referral = completed_referral(spa, owner)
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    assert "Patient follow-up" in page and "Cancel the follow-up" in page
    cancel = f"/s/{spa.slug}/referrals/{referral.public_id}/follow-up/cancel/"
    assert owner_client.post(cancel).status_code == 302
    follow_up = _follow_up(referral)
    assert (follow_up.state, follow_up.reason) == ("cancelled", "staff")
    with scopes_disabled():
        event = AuditEvent.objects.get(action="follow_up.cancelled")
        assert event.actor == owner
    # Cancelling again is refused with a message, not a 500; nothing is sent.
    again = owner_client.post(cancel, follow=True)
    assert "only a scheduled one can be cancelled" in again.content.decode()
    assert _send_and_deliver(deliver_outbox) == []


def test_outsiders_cannot_see_or_cancel_a_follow_up(spa, owner, client, outsider_client, other_spa):
    referral = completed_referral(spa, owner)
    cancel = f"/s/{spa.slug}/referrals/{referral.public_id}/follow-up/cancel/"
    assert outsider_client.post(cancel).status_code == 404
    # The outsider's own spa does not know this referral either: the same 404 as a missing one.
    foreign = outsider_client.post(f"/s/{other_spa.slug}/referrals/{referral.public_id}/follow-up/cancel/")
    missing = outsider_client.post(f"/s/{other_spa.slug}/referrals/{referral.practice.public_id}/follow-up/cancel/")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    anonymous = client.post(cancel)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert _follow_up(referral).state == "scheduled"


# --- the roll-up per practice ---------------------------------------------------------------------------------


def test_the_practice_page_says_how_its_patients_rate_the_spa(spa, owner, owner_client, client, deliver_outbox):
    first = completed_referral(spa, owner)
    completed_referral(spa, owner, practice=first.practice, patient_email="bo@patient.example")
    completed_referral(spa, owner, patient_email="cy@patient.example")  # another practice, another rating
    mails = _send_and_deliver(deliver_outbox)
    assert len(mails) == 3
    scores = {"ada@patient.example": "5", "bo@patient.example": "4", "cy@patient.example": "1"}
    for message in mails:
        score = scores[message.to[0]]
        feedback = _path(next(url for url in URL.findall(message.body) if not url.endswith("/stop/")))
        with freeze_time(DUE + datetime.timedelta(hours=1)):
            assert client.post(feedback, {"score": score}).status_code == 200
    with scope(spa=spa):
        ratings = {
            practice: practice_rating(spa=spa, practice=practice)
            for practice in {first.practice, *(f.practice for f in PatientFollowUp.objects.all())}
        }
    assert sorted((rating["average"], rating["count"]) for rating in ratings.values()) == [(1.0, 1), (4.5, 2)]
    page = owner_client.get(f"/s/{spa.slug}/partners/{first.practice.public_id}/").content.decode()
    assert "Patients referred by Glow Dermatology rate us <strong>4.5</strong> (2 answers)." in page


def test_a_practice_without_answers_shows_an_empty_state(spa, owner, owner_client):
    referral = completed_referral(spa, owner)
    page = owner_client.get(f"/s/{spa.slug}/partners/{referral.practice.public_id}/").content.decode()
    assert "No patient referred by this practice has answered" in page


def test_due_rows_are_found_by_the_partial_index(spa, owner):
    completed_referral(spa, owner)
    with scope(spa=spa), freeze_time(DUE):
        due = PatientFollowUp.objects.filter(spa=spa, state="scheduled", due_at__lte=timezone.now())
        assert due.count() == 1


def test_the_reports_page_rolls_ratings_up_per_practice_for_the_period(
    spa, owner, owner_client, client, deliver_outbox
):
    first = completed_referral(spa, owner)
    completed_referral(spa, owner, practice=first.practice, patient_email="bo@patient.example")
    for message, score in zip(sorted(_send_and_deliver(deliver_outbox), key=lambda m: m.to), ("5", "2"), strict=True):
        feedback = _path(next(url for url in URL.findall(message.body) if not url.endswith("/stop/")))
        with freeze_time(DUE + datetime.timedelta(hours=1)):
            client.post(feedback, {"score": score})
    march = owner_client.get(
        f"/s/{spa.slug}/reports/", {"report": "satisfaction", "start": "2026-03", "end": "2026-03"}
    )
    body = march.content.decode()
    section = body.split('id="report-table"')[1].split("</tbody>")[0]
    assert "Glow Dermatology" in section and "3.5" in section and ">2<" in section
    april = owner_client.get(
        f"/s/{spa.slug}/reports/", {"report": "satisfaction", "start": "2026-04", "end": "2026-04"}
    )
    assert april.status_code == 200 and "Glow Dermatology" not in april.content.decode()


def test_the_sender_is_on_the_beat_schedule_every_quarter_hour():
    from spa_referrals.celery import app

    entries = [
        entry for entry in app.conf.beat_schedule.values() if entry["task"] == "referrals.tasks.follow_ups_send_task"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"].minute == {0, 15, 30, 45}


def test_erasing_the_patient_stops_the_follow_up_and_blanks_their_comment(client, spa, owner, sent):
    from referrals.patient_rights.services import patient_erase

    referral, feedback, _stop = sent
    client.post(feedback, {"score": "4", "comment": "My knee feels better.", "share_testimonial": "on"})
    scheduled = completed_referral(spa, owner, practice=referral.practice, patient_email="bo@patient.example")
    with scope(spa=spa):
        patient_erase(spa=spa, referrals=[referral, scheduled], actor=owner, request_channel="phone")
    with scopes_disabled():
        answer = SatisfactionResponse.objects.get()
        assert (answer.score, answer.comment) == (4, "")  # the score still counts for the practice
        assert SharingPermission.objects.get().revoked_at is not None
    assert _follow_up(scheduled).state == "stopped"
