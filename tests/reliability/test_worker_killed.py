"""A Celery worker SIGKILLed in the middle of a task (OOM killer, a deploy that does not wait, a power cut):
after a new worker starts, the PDF is rendered and the email sent exactly once.

Real worker subprocesses (tests/reliability/celery_app.py) on this run's PostgreSQL database and a private
Redis. The first worker stops dead inside the render or the send and says so; only then is it killed, so
the moment is exact, not a guess. Then the dead worker's lease runs out (ten and five minutes in
production; here the row is aged instead of waiting), and two deliveries reach the new worker: the killed
task's own message, which the broker gives back because tasks are acknowledged late, and a second one (the
sweep's re-enqueue for the document, a duplicate send for the email). The claim lets exactly one of them
do the work.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.documents import RENDER_LEASE
from infra.models import GeneratedDocument, OutgoingEmail
from infra.outbox import email_enqueue_rendered
from infra.tasks import documents_sweep_task, outbox_drain_task, outbox_send_task, outbox_sweep_task
from referrals.pads.services import referral_pad_request
from tests.conftest import postgres_only, redis_only
from tests.factories import PracticeFactory, ReferralCodeFactory

from .support import celery_through, needs_redis_server, wait_until

RENDER_TASK = "spas.tasks.document_render_task"
SEND_TASK = "spas.tasks.outbox_send_task"
DRAIN_TASK = "spas.tasks.outbox_drain_task"
SWEEP_TASK = "spas.tasks.outbox_sweep_task"
pytestmark = [postgres_only, redis_only, needs_redis_server, pytest.mark.django_db(transaction=True)]
# The broker gives an unacknowledged message back once it is this old (production: an hour).
VISIBILITY_SECONDS = 1


def _fresh(model, pk):
    with scopes_disabled():
        return model.objects.get(pk=pk)


def _finished(events, task, worker):
    return [e for e in events.all("task_finished") if e["task"] == task and e["worker"] == worker]


def test_a_pdf_whose_worker_is_killed_mid_render_is_rendered_exactly_once_after_a_restart(
    redis_server, workers, spa, owner, monkeypatch
):
    monkeypatch.setenv("RELIABILITY_VISIBILITY_TIMEOUT", str(VISIBILITY_SECONDS))
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology", specialty="dermatology")
        ReferralCodeFactory(spa=spa, practice=practice, code="KILL42")
    broker = redis_server.url()
    events = workers.events

    with celery_through(broker):
        first = workers.start(broker_url=broker, name="first", faults="hang_render")
        with scope(spa=spa):
            document = referral_pad_request(spa=spa, practice=practice, requested_by=owner, paper="letter", pages=1)
        [killed_task] = events.wait_for(
            "task_started", timeout=60, where=lambda e: e["task"] == RENDER_TASK, process=first
        )
        events.wait_for("hanging", timeout=60, where=lambda e: e["what"] == "render", process=first)
        assert _fresh(GeneratedDocument, document.pk).status == GeneratedDocument.Status.RENDERING

        first.kill()

        # Acknowledged late: the broker still holds the killed task's message.
        assert redis_server.client().hlen("unacked") == 1
        # The dead worker's lease runs out; the sweep (beat, every two minutes) sends the render again.
        with scopes_disabled():
            GeneratedDocument.objects.filter(pk=document.pk).update(started_at=F("started_at") - RENDER_LEASE)
        assert documents_sweep_task() == 1
        assert redis_server.client().llen("celery") == 1

        workers.start(broker_url=broker, name="second")
        # Both deliveries reach the new worker: the sweep's, and the killed task's own message, given back.
        wait_until(
            lambda: len(_finished(events, RENDER_TASK, "second")) == 2,
            timeout=90,
            message=f"two render tasks to finish in the new worker\n{workers.logs()}",
        )

    runs = _finished(events, RENDER_TASK, "second")
    assert killed_task["id"] in {run["id"] for run in runs}
    assert sorted(run["result"] or "" for run in runs) == ["", GeneratedDocument.Status.READY]
    [rendered] = events.all("rendered")
    assert rendered["worker"] == "second"
    assert rendered["document_id"] == document.pk
    document = _fresh(GeneratedDocument, document.pk)
    assert document.status == GeneratedDocument.Status.READY
    assert document.page_count == 1
    with document.file.open("rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    client = redis_server.client()
    assert client.llen("celery") == 0
    # The worker acknowledges after its task_finished signal: give the last ack a moment to reach Redis.
    wait_until(lambda: client.hlen("unacked") == 0, timeout=10, message="the broker to hold no unacked message")


def test_an_email_whose_worker_is_killed_mid_send_is_sent_exactly_once_after_a_restart(
    redis_server, workers, spa, monkeypatch
):
    monkeypatch.setenv("RELIABILITY_VISIBILITY_TIMEOUT", str(VISIBILITY_SECONDS))
    broker = redis_server.url()
    events = workers.events

    with celery_through(broker):
        first = workers.start(broker_url=broker, name="first", faults="hang_email")
        with transaction.atomic():
            email = email_enqueue_rendered(
                spa=spa, to="frontdesk@derm.example", subject="New referral", body_text="See the app."
            )
        # The commit asked for a drain; the worker's drain claimed the row and stopped dead sending it.
        [killed_task] = events.wait_for(
            "task_started", timeout=60, where=lambda e: e["task"] == DRAIN_TASK, process=first
        )
        events.wait_for("hanging", timeout=60, where=lambda e: e["what"] == "email", process=first)
        assert _fresh(OutgoingEmail, email.pk).status == OutgoingEmail.Status.SENDING

        first.kill()

        assert redis_server.client().hlen("unacked") == 1
        # The five-minute lease runs out, and the email is asked for three times more: a one-email send, a
        # second drain and the sweep (beat, every minute), beside the killed drain's own message, given back.
        with scopes_disabled():
            OutgoingEmail.objects.filter(pk=email.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
        outbox_send_task.delay(email.pk)
        outbox_drain_task.delay()
        outbox_sweep_task.delay()

        workers.start(broker_url=broker, name="second")
        wait_until(
            lambda: (
                len(_finished(events, DRAIN_TASK, "second")) == 2
                and _finished(events, SEND_TASK, "second")
                and _finished(events, SWEEP_TASK, "second")
            ),
            timeout=90,
            message=f"the drains, the send and the sweep to finish in the new worker\n{workers.logs()}",
        )

    drains = _finished(events, DRAIN_TASK, "second")
    assert killed_task["id"] in {run["id"] for run in drains}
    sends = _finished(events, SEND_TASK, "second")
    sweeps = _finished(events, SWEEP_TASK, "second")
    # One of the four sent it; the others found it claimed or already sent.
    sent_by = [run["result"] for run in sends].count(OutgoingEmail.Status.SENT)
    assert sent_by + sum(run["result"] for run in drains) + sum(run["result"] for run in sweeps) == 1
    [sent] = events.all("email_sent")
    assert sent["worker"] == "second"
    assert sent["to"] == ["frontdesk@derm.example"]
    email = _fresh(OutgoingEmail, email.pk)
    assert email.status == OutgoingEmail.Status.SENT
    assert email.sent_at is not None
    client = redis_server.client()
    assert client.llen("celery") == 0
    # The worker acknowledges after its task_finished signal: give the last ack a moment to reach Redis.
    wait_until(lambda: client.hlen("unacked") == 0, timeout=10, message="the broker to hold no unacked message")
