"""The outbox's coalesced, batched drain (issue 15): one broker message per window instead of one per email,
rows claimed in batches that two drains never share, one mail connection per batch, and at least once:
a crash between sending and marking sends again, never loses."""

import smtplib
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from infra import outbox
from infra.models import OutgoingEmail
from infra.outbox import email_enqueue_rendered
from infra.tasks import outbox_drain_task
from tests.conftest import postgres_only, redis_only

Status = OutgoingEmail.Status


def _rows(**filters):
    with scopes_disabled():
        return list(OutgoingEmail.objects.filter(**filters).order_by("pk"))


def _enqueue(spa, to, subject=None):
    with transaction.atomic():
        return email_enqueue_rendered(spa=spa, to=to, subject=subject or f"Hello {to}", body_text="Body")


@pytest.fixture
def brokered(monkeypatch):
    """Tasks go through a broker again (not eagerly), and each drain request is counted instead of sent."""
    monkeypatch.setitem(outbox_drain_task.app.conf, "task_always_eager", False)
    requests = []
    monkeypatch.setattr(outbox_drain_task, "apply_async", lambda *args, **kwargs: requests.append(kwargs))
    return requests


def test_a_batch_goes_over_one_connection_and_is_marked_sent(spa, smtp_class, brokered):
    for number in range(7):
        _enqueue(spa, f"desk{number}@derm.example")

    assert outbox.drain() == 7

    assert smtp_class.call_count == 1  # one connection for the batch
    assert smtp_class.return_value.sendmail.call_count == 7
    assert {email.status for email in _rows()} == {Status.SENT}
    assert {email.attempts for email in _rows()} == {1}


def test_a_refused_recipient_does_not_block_the_rest_of_its_batch(spa, smtp_class, brokered):
    for to in ["first@derm.example", "gone@derm.example", "busy@derm.example", "last@derm.example"]:
        _enqueue(spa, to)

    def sendmail(from_email, recipients, message, *args, **kwargs):
        if recipients == ["gone@derm.example"]:
            raise smtplib.SMTPRecipientsRefused({"gone@derm.example": (550, b"5.1.1 User unknown")})
        if recipients == ["busy@derm.example"]:
            raise smtplib.SMTPRecipientsRefused({"busy@derm.example": (450, b"4.2.1 Mailbox busy")})
        return {}

    smtp_class.return_value.sendmail.side_effect = sendmail

    assert outbox.drain() == 2

    status = {email.to: email.status for email in _rows()}
    assert status == {
        "first@derm.example": Status.SENT,
        "gone@derm.example": Status.FAILED,  # a 5xx about this message is final
        "busy@derm.example": Status.PENDING,  # a 4xx is retried after the backoff
        "last@derm.example": Status.SENT,
    }
    [busy] = _rows(to="busy@derm.example")
    assert busy.next_attempt_at > timezone.now()
    assert "Mailbox busy" in busy.last_error


def test_a_mail_server_that_cannot_be_reached_leaves_the_batch_for_a_retry(spa, smtp_class, brokered):
    for number in range(3):
        _enqueue(spa, f"desk{number}@derm.example")
    smtp_class.side_effect = smtplib.SMTPConnectError(421, b"Too busy")

    assert outbox.drain() == 0

    assert {(email.status, email.attempts) for email in _rows()} == {(Status.PENDING, 1)}


def test_a_crash_between_sending_and_marking_sends_again_and_loses_nothing(spa, mailoutbox, brokered, monkeypatch):
    _enqueue(spa, "frontdesk@derm.example", subject="Once or twice, never none")

    def crash(sent, failed):
        raise SystemExit("the worker died before the outbox recorded the send")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "_mark", crash)
        with pytest.raises(SystemExit):
            outbox.drain()

    assert len(mailoutbox) == 1
    [email] = _rows()
    assert email.status == Status.SENDING  # claimed, never marked
    assert outbox.drain() == 0  # the lease still holds: nobody takes it yet

    with scopes_disabled():
        OutgoingEmail.objects.filter(pk=email.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert outbox.drain() == 1

    assert [message.subject for message in mailoutbox] == ["Once or twice, never none"] * 2
    assert _rows()[0].status == Status.SENT


def test_an_email_asks_for_a_drain_only_once_a_window(spa, brokered, django_capture_on_commit_callbacks):
    for number in range(20):
        with django_capture_on_commit_callbacks(execute=True):
            _enqueue(spa, f"desk{number}@derm.example")

    # One request, due when the window closes, covers all twenty.
    assert brokered == [{"countdown": outbox.DRAIN_WINDOW_SECONDS}]


def test_with_the_cache_down_every_email_asks_for_a_drain(
    spa, brokered, monkeypatch, django_capture_on_commit_callbacks
):
    def cache_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(outbox.cache, "add", cache_down)
    for number in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            _enqueue(spa, f"desk{number}@derm.example")

    assert len(brokered) == 3


@postgres_only
@redis_only
@pytest.mark.django_db(transaction=True)
def test_500_emails_committed_concurrently_are_each_sent_exactly_once_with_few_broker_messages(
    spa, mailoutbox, monkeypatch
):
    """Ten threads commit 500 emails while a stand-in worker runs each drain when it falls due."""
    monkeypatch.setitem(outbox_drain_task.app.conf, "task_always_eager", False)
    messages = []
    drains = []

    def run_drain():
        try:
            outbox.drain()
        finally:
            connection.close()

    def publish(*args, countdown=0, **kwargs):
        messages.append(countdown)
        timer = threading.Timer(countdown, run_drain)
        drains.append(timer)
        timer.start()

    monkeypatch.setattr(outbox_drain_task, "apply_async", publish)

    def commit_fifty(thread):
        try:
            for number in range(50):
                _enqueue(spa, f"patient{thread}-{number}@example.com", subject=f"Referral {thread}-{number}")
                time.sleep(0.002)
        finally:
            connection.close()

    threads = [threading.Thread(target=commit_fifty, args=(thread,)) for thread in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    time.sleep(outbox.DRAIN_WINDOW_SECONDS + 0.5)
    for timer in list(drains):
        timer.join(timeout=60)

    subjects = sorted(message.subject for message in mailoutbox)
    assert len(subjects) == 500
    assert len(set(subjects)) == 500  # each exactly once
    assert {email.status for email in _rows()} == {Status.SENT}
    assert 1 <= len(messages) < 50
