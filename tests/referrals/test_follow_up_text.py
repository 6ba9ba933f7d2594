"""Patient follow-up by text: which channel is chosen, the request Twilio receives (a real local HTTP server stands
in for it), no health details in the text, retries (500, a network error, 429), the permanent refusal (400), the
sweep that sends what a lost enqueue left, revocation and erasure before the text leaves, and tenant scoping."""

import base64
import datetime
import re
import socket

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from freezegun import freeze_time

from infra import sms_outbox
from infra.models import AuditEvent, OutgoingText
from infra.tasks import text_outbox_sweep_task, text_send_task
from referrals.consent import services as consent
from referrals.inbound.services import inbound_sms_number_assign
from referrals.models import PatientFollowUp
from referrals.tasks import follow_ups_send_task

from .follow_up_helpers import HEALTH_DETAILS, NEW_YORK, completed_referral
from .twilio_helpers import FakeTwilio

DUE = datetime.datetime(2026, 3, 5, 10, 0, tzinfo=NEW_YORK)  # Thursday 10:00, two days after Tuesday's visit
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-auth-token"  # noqa: S105 - a test double's
SPA_NUMBER = "+16175550100"
PATIENT_NUMBER = "+16175550142"
URL = re.compile(r"https?://\S+")


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio().start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def spa_number(spa):
    inbound_sms_number_assign(spa=spa, number=SPA_NUMBER)
    return SPA_NUMBER


def _closed_port_url():
    """An address where nothing listens: connecting is refused (a network error)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _texter(spa, owner, **fields):
    """A completed referral of a patient who prefers texts, with a valid mobile number."""
    fields = {"preferred_contact_method": "text", "patient_phone": PATIENT_NUMBER, **fields}
    return completed_referral(spa, owner, **fields)


def _follow_up(referral):
    with scopes_disabled():
        return PatientFollowUp.objects.select_related("text_message").get(referral=referral)


def _texts(**filters):
    with scopes_disabled():
        return list(OutgoingText.objects.filter(**filters).order_by("created_at", "id"))


def _send_due(at=DUE):
    """The beat's follow-up run at ``at``. Inside the test's transaction nothing commits, so the after-commit send
    request does not fire: the rows wait for the sweep, as after a lost enqueue."""
    with freeze_time(at):
        return follow_ups_send_task()


def _sweep(at=DUE):
    with freeze_time(at):
        return text_outbox_sweep_task()


# --- which channel ------------------------------------------------------------------------------------------------


def test_a_patient_who_prefers_texts_gets_the_thank_you_by_text_and_no_email(
    spa, owner, twilio, spa_number, mailoutbox
):
    referral = _texter(spa, owner)
    assert _follow_up(referral).channel == "text"  # planned so when scheduled
    assert _send_due() == 1
    assert _sweep() == 1
    assert mailoutbox == []
    [request] = twilio.requests
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {expected_auth}"
    form = request["form"]
    assert form["To"] == [PATIENT_NUMBER] and form["From"] == [SPA_NUMBER]
    follow_up = _follow_up(referral)
    assert (follow_up.state, follow_up.channel) == ("sent", "text")
    text = follow_up.text_message
    assert (text.status, text.attempts, text.provider_message_id) == ("sent", 1, "SM" + "1".zfill(32))
    assert text.sent_at is not None and text.spa_id == spa.pk
    with scopes_disabled():
        sent = AuditEvent.objects.get(action="follow_up.sent", object_id=str(follow_up.public_id))
    assert sent.detail == {"channel": "text"}


def test_the_text_holds_the_spas_name_thanks_and_the_two_links_and_nothing_about_the_patient(
    spa, owner, twilio, spa_number, client
):
    referral = _texter(spa, owner, patient_first_name="Ada", patient_last_name="Quokkaby")
    _send_due()
    _sweep()
    body = twilio.requests[0]["form"]["Body"][0]
    assert body.startswith(f"{spa.name}: thank you for your visit.")
    links = URL.findall(body)
    assert len(links) == 2 and "/follow-up/" in links[0] and links[1].endswith("/stop/")
    # The links name only the follow-up (signed); the rest of the text is fixed wording around the spa's name.
    words = body.replace(links[0], "").replace(links[1], "")
    personal = (*HEALTH_DETAILS, referral.practice.name, "dermatology", "Quokkaby", "Ada", PATIENT_NUMBER, "5550142")
    for detail in personal:
        assert detail.lower() not in words.lower()
    assert words.replace(spa.name, "") == ": thank you for your visit. How did we do?  No more messages: "
    # The links are the follow-up's signed links: the stop link stops it.
    with freeze_time(DUE + datetime.timedelta(hours=1)):
        client.post(re.sub(r"^https?://[^/]+", "", links[1]))
    assert (_follow_up(referral).state, _follow_up(referral).reason) == ("stopped", "opt_out")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("prefers_email", "the patient prefers email"),
        ("prefers_calls", "the patient prefers calls"),
        ("no_phone", "no phone number"),
        ("unparseable_phone", "a phone number from before validation"),
        ("no_account_sid", "texts are off (no account SID)"),
        ("no_auth_token", "texts are off (no auth token)"),
        ("no_spa_number", "the spa has no referral text number"),
    ],
)
def test_the_thank_you_goes_by_email_when_a_text_condition_is_missing(
    spa, owner, twilio, settings, deliver_outbox, change, why
):
    fields = {
        "prefers_email": {"preferred_contact_method": "email"},
        "prefers_calls": {"preferred_contact_method": "phone"},
        "no_phone": {"patient_phone": ""},
        "unparseable_phone": {"patient_phone": "call me after 5"},
    }.get(change, {})
    if change != "no_spa_number":
        inbound_sms_number_assign(spa=spa, number=SPA_NUMBER)
    if change == "no_account_sid":
        settings.TWILIO_ACCOUNT_SID = ""
    if change == "no_auth_token":
        settings.TWILIO_AUTH_TOKEN = ""
    referral = _texter(spa, owner, **fields)
    assert _send_due() == 1, why
    _sweep()
    with freeze_time(DUE):
        mails = deliver_outbox()
    assert twilio.requests == [] and _texts() == []
    assert [message.to for message in mails] == [[referral.patient_email]]
    follow_up = _follow_up(referral)
    assert (follow_up.state, follow_up.channel, follow_up.text_message) == ("sent", "email", None)


def test_texts_switched_off_between_scheduling_and_sending_send_an_email_instead(
    spa, owner, twilio, spa_number, settings, deliver_outbox
):
    referral = _texter(spa, owner)
    assert _follow_up(referral).channel == "text"
    settings.TWILIO_ACCOUNT_SID = ""
    _send_due()
    with freeze_time(DUE):
        assert [message.to for message in deliver_outbox()] == [[referral.patient_email]]
    assert _follow_up(referral).channel == "email" and twilio.requests == []


def test_a_patient_with_no_email_who_prefers_texts_is_followed_up_by_text(spa, owner, twilio, spa_number):
    referral = _texter(spa, owner, patient_email="")
    assert _follow_up(referral).state == "scheduled"
    _send_due()
    _sweep()
    assert [request["form"]["To"] for request in twilio.requests] == [[PATIENT_NUMBER]]


@pytest.mark.parametrize(
    ("fields", "texts_on", "why"),
    [
        ({}, False, "this spa cannot send texts yet"),
        ({"patient_phone": ""}, True, "no valid phone number to text"),
        ({"preferred_contact_method": "phone"}, True, "No email address for the patient."),
    ],
)
def test_with_no_email_and_no_way_to_text_nothing_is_scheduled_and_the_page_says_why(
    spa, owner, owner_client, twilio, settings, fields, texts_on, why
):
    if texts_on:
        inbound_sms_number_assign(spa=spa, number=SPA_NUMBER)
    referral = _texter(spa, owner, patient_email="", **fields)
    with scopes_disabled():
        assert not PatientFollowUp.objects.filter(referral=referral).exists()
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    assert "No follow-up is scheduled for this patient." in page
    assert why in page


def test_the_referral_page_shows_the_channel_and_the_texts_progress(spa, owner, owner_client, twilio, spa_number):
    referral = _texter(spa, owner)
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    assert "A thank-you text message with a satisfaction question goes to the patient" in page
    twilio.answer(500, {"code": 20500, "message": "Internal Server Error"})
    _send_due()
    _sweep()
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    channel = page.split('id="follow-up-channel"')[1].split("</div>")[0]
    assert "Text message" in channel and "not sent yet (attempts: 1)" in channel and "Twilio answered 500" in channel


# --- sending: success, retries, failures -----------------------------------------------------------------------


def test_it_is_sent_after_the_causing_transaction_commits(spa, owner, twilio, django_capture_on_commit_callbacks):
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=False) as callbacks:
        text = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Hello")
    assert twilio.requests == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()  # the commit: the send task runs (eagerly, in the tests)
    assert len(twilio.requests) == 1
    assert _texts(pk=text.pk)[0].status == "sent"


def test_a_500_is_retried_with_backoff_and_then_sent(spa, owner, twilio, spa_number):
    referral = _texter(spa, owner)
    twilio.answer(500, {"code": 20500, "message": "Internal Server Error"})
    _send_due()
    _sweep()
    text = _follow_up(referral).text_message
    assert (text.status, text.attempts) == ("pending", 1)
    assert text.last_error == "Twilio answered 500 (error 20500): Internal Server Error"
    assert "thank you" not in text.last_error.lower()  # the error never carries the body
    wait = (text.next_attempt_at - DUE).total_seconds()
    assert 24 <= wait <= 36  # 30 s, ± the jitter
    assert _sweep(DUE + datetime.timedelta(seconds=10)) == 0  # not due yet: nothing asked, nothing sent
    assert len(twilio.requests) == 1
    assert _sweep(DUE + datetime.timedelta(minutes=1)) == 1
    text.refresh_from_db()
    assert (text.status, text.attempts, text.last_error) == ("sent", 2, "")
    assert len(twilio.requests) == 2
    assert twilio.requests[0]["form"] == twilio.requests[1]["form"]  # the same text again


def test_a_400_invalid_to_fails_at_once_and_is_not_retried(spa, owner, owner_client, twilio, spa_number):
    referral = _texter(spa, owner)
    twilio.answer(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
    _send_due()
    _sweep()
    text = _follow_up(referral).text_message
    assert (text.status, text.attempts) == ("failed", 1)
    assert text.last_error == "Twilio answered 400 (error 21211): The 'To' number is not a valid phone number."
    assert _sweep(DUE + datetime.timedelta(days=1)) == 0
    assert len(twilio.requests) == 1
    page = owner_client.get(f"/s/{spa.slug}/referrals/{referral.public_id}/").content.decode()
    assert "could not be sent (attempts: 1)" in page and "error 21211" in page


def test_a_network_error_is_retried(spa, owner, twilio, spa_number, settings):
    referral = _texter(spa, owner)
    settings.TWILIO_API_URL = _closed_port_url()
    _send_due()
    _sweep()
    text = _follow_up(referral).text_message
    assert (text.status, text.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in text.last_error
    settings.TWILIO_API_URL = twilio.url  # the network is back
    _sweep(DUE + datetime.timedelta(minutes=1))
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("sent", 2)
    assert len(twilio.requests) == 1


def test_a_429_waits_as_long_as_twilio_asks(spa, twilio):
    with scope(spa=spa), freeze_time(DUE):
        text = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Hello")
    twilio.answer(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "600"})
    with freeze_time(DUE):
        assert text_send_task(text.pk) == "pending"
    text.refresh_from_db()
    assert text.next_attempt_at == DUE + datetime.timedelta(seconds=600)


def test_transient_failures_end_failed_after_the_bounded_number_of_attempts(spa, twilio, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    with scope(spa=spa), freeze_time(DUE):
        text = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Hello")
    for _attempt in range(5):
        twilio.answer(503, {"code": 20503, "message": "Service Unavailable"})
    moment = DUE
    for _attempt in range(5):
        moment += datetime.timedelta(hours=7)  # past any backoff
        _sweep(moment)
    text.refresh_from_db()
    assert (text.status, text.attempts) == ("failed", 3)
    assert len(twilio.requests) == 3


def test_the_sweep_sends_a_row_whose_enqueue_was_lost_and_one_a_dead_worker_held(
    spa, twilio, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(sms_outbox, "enqueue", broker_down)
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        lost = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Lost request")
        held = sms_outbox.text_enqueue(spa=spa, to="+16175550143", from_number=SPA_NUMBER, body="Dead worker")
    # A worker claimed the second and died: its lease runs out two minutes later.
    with scopes_disabled():
        OutgoingText.objects.filter(pk=held.pk).update(status="sending", locked_until=timezone.now())
    assert twilio.requests == [] and _texts(status="pending") == [lost]
    monkeypatch.undo()
    assert _sweep(timezone.now() + datetime.timedelta(minutes=3)) == 2
    assert sorted(request["form"]["Body"][0] for request in twilio.requests) == ["Dead worker", "Lost request"]
    assert {text.status for text in _texts()} == {"sent"}


def test_a_sent_text_is_not_sent_again_by_a_redelivered_message_or_the_sweep(spa, twilio):
    with scope(spa=spa):
        text = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Hello")
    assert text_send_task(text.pk) == "sent"
    assert text_send_task(text.pk) is None  # the redelivered message finds the row taken
    assert _sweep(timezone.now() + datetime.timedelta(hours=1)) == 0
    assert len(twilio.requests) == 1


@pytest.mark.parametrize(
    ("to", "from_number", "body"),
    [("617-555-0142", SPA_NUMBER, "Hi"), (PATIENT_NUMBER, "", "Hi"), (PATIENT_NUMBER, SPA_NUMBER, "x" * 1601)],
)
def test_a_text_that_is_not_e164_or_too_long_is_refused_and_nothing_is_written(spa, to, from_number, body):
    from django.core.exceptions import ValidationError

    with scope(spa=spa), pytest.raises(ValidationError):
        sms_outbox.text_enqueue(spa=spa, to=to, from_number=from_number, body=body)
    assert _texts() == []


# --- stopping before it leaves -----------------------------------------------------------------------------------


def test_revoking_after_the_text_was_queued_but_before_it_left_cancels_it(spa, owner, twilio, spa_number):
    referral = _texter(spa, owner)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
    _send_due()  # the text waits in the outbox (its send request not run yet)
    assert _follow_up(referral).text_message.status == "pending"
    with scope(spa=spa):
        consent.authorization_revoke(authorization=authorization, channel="patient_link")
    follow_up = _follow_up(referral)
    assert (follow_up.state, follow_up.reason) == ("stopped", "revoked")
    assert follow_up.text_message.status == "cancelled"
    assert _sweep(DUE + datetime.timedelta(minutes=5)) == 0
    assert text_send_task(follow_up.text_message_id) is None  # a send request still in the queue does nothing
    assert twilio.requests == []
    with scopes_disabled():
        assert AuditEvent.objects.filter(action="follow_up.text_cancelled").count() == 1


def test_revoking_before_the_follow_up_is_due_sends_no_text(spa, owner, twilio, spa_number):
    referral = _texter(spa, owner)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
        consent.authorization_revoke(authorization=authorization, channel="staff")
    assert _send_due() == 0
    _sweep()
    assert twilio.requests == [] and _texts() == []
    assert _follow_up(referral).state == "stopped"


def test_revoking_after_the_text_left_changes_nothing_sent(spa, owner, twilio, spa_number):
    referral = _texter(spa, owner)
    with scope(spa=spa):
        authorization, _token = consent.authorization_create(
            referral=referral, signature_method="typed", signer_name="Ada Lovelace"
        )
    _send_due()
    _sweep()
    with scope(spa=spa):
        consent.authorization_revoke(authorization=authorization, channel="patient_link")
    follow_up = _follow_up(referral)
    assert follow_up.state == "sent" and follow_up.text_message.status == "sent"


def test_erasing_the_patient_cancels_a_waiting_text_and_forgets_the_number_and_the_text(spa, owner, twilio, spa_number):
    from referrals.patient_rights.services import patient_erase

    referral = _texter(spa, owner)
    _send_due()
    with scope(spa=spa):
        patient_erase(spa=spa, referrals=[referral], actor=owner, request_channel="phone")
    [text] = _texts()
    assert (text.status, text.to, text.body) == ("cancelled", "", "")
    _sweep(DUE + datetime.timedelta(minutes=5))
    assert twilio.requests == []


def test_a_text_erased_while_a_worker_held_it_is_not_sent_when_the_lease_lapses(spa, owner, twilio, spa_number):
    from referrals.patient_rights.services import patient_erase

    referral = _texter(spa, owner)
    _send_due()
    [text] = _texts()
    with scopes_disabled():  # a worker claimed it (and then died): too late for the erasure to cancel it
        held_until = timezone.now() + sms_outbox.LEASE
        OutgoingText.objects.filter(pk=text.pk).update(status="sending", locked_until=held_until)
    with scope(spa=spa):
        patient_erase(spa=spa, referrals=[referral], actor=owner, request_channel="phone")
    [text] = _texts()
    assert (text.status, text.to, text.body) == ("sending", "", "")
    _sweep(held_until + datetime.timedelta(minutes=1))  # the lease lapsed: the sweep hands the row to a worker again
    [text] = _texts()
    assert text.status == "failed" and "Erased" in text.last_error
    assert twilio.requests == []


# --- tenancy -------------------------------------------------------------------------------------------------------


def test_the_text_outbox_is_scoped_to_its_spa(spa, other_spa, twilio):
    with scope(spa=spa):
        text = sms_outbox.text_enqueue(spa=spa, to=PATIENT_NUMBER, from_number=SPA_NUMBER, body="Hello")
        assert list(OutgoingText.objects.all()) == [text]
    with scope(spa=other_spa):
        assert not OutgoingText.objects.exists()
        assert sms_outbox.text_cancel(spa=other_spa, text_id=text.pk, reason="not yours") is False
    with pytest.raises(ScopeError):
        list(OutgoingText.objects.all())
    assert _texts(pk=text.pk)[0].status == "pending"


def test_the_sweep_is_on_the_beat_schedule_every_minute():
    from spa_referrals.celery import app

    entries = [
        entry for entry in app.conf.beat_schedule.values() if entry["task"] == "infra.tasks.text_outbox_sweep_task"
    ]
    assert [entry["schedule"] for entry in entries] == [60.0]


def test_texts_are_off_by_default():
    assert django_settings.TWILIO_ACCOUNT_SID == ""
    assert django_settings.TWILIO_API_URL == "https://api.twilio.com"
    assert sms_outbox.texts_enabled() is False
