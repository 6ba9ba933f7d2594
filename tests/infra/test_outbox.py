"""The outbox: rows first, sent once, retried on transient SMTP failures, never lost."""

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from kombu.exceptions import OperationalError

from infra import outbox, outbox_common
from infra.models import OutgoingEmail
from infra.outbox import email_enqueue, email_enqueue_rendered
from infra.tasks import outbox_drain_task
from spa_referrals.celery import app as celery_app
from spas.models import Role

Status = OutgoingEmail.Status


def _invitation_context(spa, inviter):
    return {
        "spa": spa,
        "inviter": inviter,
        "role": Role.STAFF.label,
        "accept_url": "http://testserver/invitations/abc123/",
        "expires_at": timezone.now() + timedelta(days=7),
    }


def _queued_email(spa, to="frontdesk@derm.example", **fields):
    """A pending row, as email_enqueue leaves it when the enqueue message never ran."""
    email = email_enqueue_rendered(spa=spa, to=to, subject=f"Hello {to}", body_text="Plain body")
    if fields:
        _update(email, **fields)
    return email


def _update(email, **fields):
    with scopes_disabled():
        OutgoingEmail.objects.filter(pk=email.pk).update(**fields)
    email.refresh_from_db()


def _make_due(email):
    _update(email, next_attempt_at=timezone.now() - timedelta(seconds=1))


# --- Enqueue and the surrounding transaction ----------------------------------------------


def test_an_email_enqueued_in_a_rolled_back_transaction_leaves_no_row_and_sends_nothing(
    spa, owner, mailoutbox, django_capture_on_commit_callbacks
):
    context = _invitation_context(spa, owner)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email_enqueue(spa=spa, to="new@serene.example", template_name="invitation", context=context)
        raise RuntimeError("the invitation failed after the email was queued")

    assert callbacks == []
    with scopes_disabled():
        assert OutgoingEmail.objects.count() == 0
    assert mailoutbox == []


def test_a_committed_email_is_sent_once_from_the_template_triplet(
    spa, owner, mailoutbox, django_capture_on_commit_callbacks, deliver_outbox
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email = email_enqueue(
            spa=spa, to="new@serene.example", template_name="invitation", context=_invitation_context(spa, owner)
        )

    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.sent_at is not None
    assert email.attempts == 1
    assert email.template == "invitation"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["new@serene.example"]
    assert message.subject == "You're invited to join Serene Test Spa on Spa Referrals"
    assert "Olivia Owner invited you to join Serene Test Spa as Staff." in message.body
    assert "http://testserver/invitations/abc123/" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "<strong>Serene Test Spa</strong>" in html
    assert 'href="http://testserver/invitations/abc123/"' in html

    # The periodic sweep does not send it a second time.
    assert len(deliver_outbox()) == 1


def test_an_email_whose_enqueue_fails_because_the_broker_is_down_is_committed_and_sent_by_the_sweep(
    spa, mailoutbox, django_capture_on_commit_callbacks, deliver_outbox
):
    outage = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        mock.patch.object(outbox_drain_task, "apply_async", side_effect=outage) as delay,
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        email = email_enqueue_rendered(spa=spa, to="frontdesk@derm.example", subject="Hi", body_text="Body")

    assert delay.call_count == 1
    email.refresh_from_db()
    assert email.status == Status.PENDING
    assert mailoutbox == []

    assert [message.to for message in deliver_outbox()] == [["frontdesk@derm.example"]]
    email.refresh_from_db()
    assert email.status == Status.SENT


@pytest.fixture
def unreachable_broker():
    """Publish for real to a Redis port where nothing listens (connection refused, no mock)."""
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url", "broker_transport_options")}

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.update(task_always_eager=False, broker_url="redis://127.0.0.1:1/0", broker_transport_options={})
    reset_pools()
    yield
    celery_app.conf.update(saved)
    reset_pools()


def test_an_enqueue_during_a_real_broker_outage_still_commits_the_row(
    spa, mailoutbox, unreachable_broker, django_capture_on_commit_callbacks, deliver_outbox
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        email = email_enqueue_rendered(spa=spa, to="frontdesk@derm.example", subject="Hi", body_text="Body")

    email.refresh_from_db()
    assert email.status == Status.PENDING
    assert mailoutbox == []
    assert len(deliver_outbox()) == 1


# --- Delivery: success, transient and permanent failures -------------------------------------


def test_delivery_hands_the_message_to_the_smtp_server(spa, smtp_server):
    email = _queued_email(spa)

    assert outbox.deliver(email.pk) == Status.SENT

    [(from_email, recipients, raw_message), _kwargs] = smtp_server.sendmail.call_args
    assert "no-reply@spa-referrals.example" in from_email
    assert recipients == ["frontdesk@derm.example"]
    assert b"Subject: Hello frontdesk@derm.example" in raw_message
    email.refresh_from_db()
    assert email.status == Status.SENT


def test_a_disconnected_smtp_server_keeps_the_email_pending_with_a_backoff_that_grows(spa, smtp_server, mailoutbox):
    smtp_server.sendmail.side_effect = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    email = _queued_email(spa)
    delays = []

    for attempt in (1, 2, 3):
        started = timezone.now()
        assert outbox.deliver(email.pk) == Status.PENDING
        email.refresh_from_db()
        assert email.status == Status.PENDING
        assert email.attempts == attempt
        assert email.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
        assert email.sent_at is None
        assert email.locked_until is None
        delays.append(email.next_attempt_at - started)

        # Not due yet: another delivery does not even try.
        assert outbox.deliver(email.pk) is None
        assert smtp_server.sendmail.call_count == attempt
        _make_due(email)

    assert delays[0] >= timedelta(seconds=outbox_common.BACKOFF_BASE_SECONDS)
    assert delays[0] < delays[1] < delays[2]
    assert delays[2] >= timedelta(seconds=4 * outbox_common.BACKOFF_BASE_SECONDS)
    assert mailoutbox == []


def test_the_backoff_stops_growing_at_its_cap():
    assert outbox.backoff_delay(1) == timedelta(seconds=outbox_common.BACKOFF_BASE_SECONDS)
    assert outbox.backoff_delay(2) == timedelta(seconds=2 * outbox_common.BACKOFF_BASE_SECONDS)
    assert outbox.backoff_delay(40) == timedelta(seconds=outbox.BACKOFF_CAP_SECONDS)


def test_an_email_that_keeps_failing_is_marked_failed_after_the_last_attempt(spa, smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    smtp_server.sendmail.side_effect = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    email = _queued_email(spa)

    statuses = []
    for _attempt in range(3):
        statuses.append(outbox.deliver(email.pk))
        _make_due(email)

    assert statuses == [Status.PENDING, Status.PENDING, Status.FAILED]
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.attempts == 3
    assert email.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert email.sent_at is None
    # A failed row is final: neither a late task nor the sweep tries again.
    assert outbox.deliver(email.pk) is None
    assert outbox.due_email_ids() == []
    assert smtp_server.sendmail.call_count == 3


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPRecipientsRefused({"frontdesk@derm.example": (550, b"5.1.1 User unknown")}),
        smtplib.SMTPDataError(554, b"5.7.1 Message rejected"),
        smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "no-reply@spa-referrals.example"),
        ValueError("something no retry can fix"),
    ],
    ids=["recipient-refused-550", "data-rejected-554", "sender-refused-553", "unexpected-error"],
)
def test_a_permanent_failure_marks_the_email_failed_at_once(spa, smtp_server, error):
    smtp_server.sendmail.side_effect = error
    email = _queued_email(spa)

    assert outbox.deliver(email.pk) == Status.FAILED

    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.attempts == 1
    assert email.last_error.startswith(type(error).__name__ + ": ")
    assert outbox.due_email_ids() == []


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPRecipientsRefused({"frontdesk@derm.example": (450, b"4.2.1 Mailbox busy, try later")}),
        smtplib.SMTPDataError(451, b"4.3.0 Temporary server error"),
        smtplib.SMTPAuthenticationError(535, b"5.7.8 Username and Password not accepted"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=["recipient-busy-450", "data-temporary-451", "auth-misconfigured-535", "connection-refused"],
)
def test_a_temporary_smtp_failure_is_retried_later(spa, smtp_server, error):
    smtp_server.sendmail.side_effect = error
    email = _queued_email(spa)

    assert outbox.deliver(email.pk) == Status.PENDING

    email.refresh_from_db()
    assert email.attempts == 1
    assert email.next_attempt_at > timezone.now()
    assert email.last_error.startswith(type(error).__name__ + ": ")


def test_a_hung_smtp_server_cut_off_by_the_time_limit_is_retried_later(spa, smtp_server):
    smtp_server.sendmail.side_effect = SoftTimeLimitExceeded()
    email = _queued_email(spa)

    with pytest.raises(SoftTimeLimitExceeded):
        outbox.deliver(email.pk)

    email.refresh_from_db()
    assert email.status == Status.PENDING
    assert email.attempts == 1
    assert email.locked_until is None
    assert email.next_attempt_at > timezone.now()


# --- At most once per row ----------------------------------------------------------------


def test_delivering_the_same_row_twice_sends_it_once(spa, mailoutbox):
    email = _queued_email(spa)

    assert outbox.deliver(email.pk) == Status.SENT
    assert outbox.deliver(email.pk) is None

    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.attempts == 1


def test_a_redelivered_task_arriving_while_the_first_is_sending_does_not_send_again(spa, smtp_server):
    email = _queued_email(spa)
    second_delivery = []

    def sendmail(*args, **kwargs):
        # The broker redelivers the message while the first worker is still talking to SMTP.
        second_delivery.append(outbox.deliver(email.pk))
        return {}

    smtp_server.sendmail.side_effect = sendmail

    assert outbox.deliver(email.pk) == Status.SENT
    assert second_delivery == [None]
    assert smtp_server.sendmail.call_count == 1


# --- The sweep ---------------------------------------------------------------------------


def test_the_sweep_sends_due_and_abandoned_rows_and_leaves_the_others_alone(spa, deliver_outbox):
    now = timezone.now()
    due = _queued_email(spa, to="due@derm.example")
    retry_due = _queued_email(spa, to="retry@derm.example", attempts=2, next_attempt_at=now - timedelta(minutes=1))
    not_yet_due = _queued_email(spa, to="later@derm.example", attempts=1, next_attempt_at=now + timedelta(minutes=5))
    already_sent = _queued_email(spa, to="sent@derm.example", status=Status.SENT, sent_at=now - timedelta(hours=1))
    failed = _queued_email(spa, to="failed@derm.example", status=Status.FAILED, attempts=8)
    # A worker claimed this row and was killed before it could send (OOM, deploy, power cut).
    abandoned = _queued_email(spa, to="abandoned@derm.example")
    assert outbox._claim(abandoned.pk)
    # Another worker is sending this one right now: its lease still runs.
    in_flight = _queued_email(spa, to="inflight@derm.example")
    assert outbox._claim(in_flight.pk)

    # While the dead worker's lease runs, the sweep leaves its row alone too.
    assert sorted(message.to[0] for message in deliver_outbox()) == ["due@derm.example", "retry@derm.example"]

    _update(abandoned, locked_until=timezone.now() - timedelta(seconds=1))
    assert sorted(message.to[0] for message in deliver_outbox()) == [
        "abandoned@derm.example",
        "due@derm.example",
        "retry@derm.example",
    ]

    for email in (due, retry_due, abandoned):
        email.refresh_from_db()
        assert email.status == Status.SENT
    for email, status in ((not_yet_due, Status.PENDING), (failed, Status.FAILED), (in_flight, Status.SENDING)):
        email.refresh_from_db()
        assert email.status == status
        assert email.sent_at is None
    already_sent.refresh_from_db()
    assert already_sent.sent_at == now - timedelta(hours=1)


def test_the_sweep_task_reports_how_many_rows_it_handled(spa):
    from infra.tasks import outbox_sweep_task

    _queued_email(spa, to="one@derm.example")
    _queued_email(spa, to="two@derm.example")

    assert outbox_sweep_task() == 2
    assert outbox_sweep_task() == 0


# --- The embedded default's email backend -------------------------------------------------


def test_the_console_and_file_backend_prints_the_email_and_keeps_a_copy(spa, settings, tmp_path, capsys):
    settings.EMAIL_BACKEND = "infra.email_backends.ConsoleAndFileEmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "email")
    email = _queued_email(spa, to="frontdesk@derm.example")

    assert outbox.deliver(email.pk) == Status.SENT

    [copy] = (tmp_path / "email").iterdir()
    saved = copy.read_text()
    assert "Subject: Hello frontdesk@derm.example" in saved
    assert "To: frontdesk@derm.example" in saved
    assert "Plain body" in saved
    assert "Subject: Hello frontdesk@derm.example" in capsys.readouterr().out
