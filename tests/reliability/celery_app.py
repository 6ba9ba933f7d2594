"""The Celery app the fault-injection tests run real worker subprocesses with: ``celery -A
tests.reliability.celery_app worker``. It is the project's own app (same tasks, same settings, the test
database and a private Redis from the environment) plus what a test needs to observe and to control from
outside the process:

- ``RELIABILITY_EVENTS``: a file the worker appends one JSON line to for each thing that happens: ready,
  a task started or finished, a PDF render started or saved, an email handed to the backend or sent.
  Tests wait on these lines instead of sleeping.
- ``RELIABILITY_FAULTS`` (comma-separated): ``hang_render`` / ``hang_email`` make the worker stop dead
  inside the render or the send, after saying so, so the test can SIGKILL it at exactly that moment.
- ``RELIABILITY_MEDIA_ROOT``: the test's media folder, so rendered files land where the test reads them.

The suite never imports this module; only worker subprocesses do.
"""

import json
import os
import time

import django
from celery import signals

from spa_referrals.celery import app

django.setup()

from django.conf import settings  # noqa: E402 - after setup, on purpose
from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402

from infra import documents  # noqa: E402

EVENTS = os.environ["RELIABILITY_EVENTS"]
FAULTS = {fault for fault in os.environ.get("RELIABILITY_FAULTS", "").split(",") if fault}
WORKER = os.environ.get("RELIABILITY_WORKER", "worker")
HANG_SECONDS = 600  # far past any test's deadline: the test kills the worker long before


def emit(event, **fields):
    line = json.dumps({"event": event, "worker": WORKER, "pid": os.getpid(), **fields}, default=str)
    with open(EVENTS, "a") as events:
        events.write(line + "\n")
        events.flush()
        os.fsync(events.fileno())


def _hang(what):
    emit("hanging", what=what)
    time.sleep(HANG_SECONDS)


# Tasks a worker sends (the documents sweep re-enqueues renders) go through the broker, not inline.
app.conf.task_always_eager = False
app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "visibility_timeout": int(os.environ.get("RELIABILITY_VISIBILITY_TIMEOUT", "3600")),
    # kombu 5.7 looks for messages past their visibility timeout every interval × throttle seconds
    # (10 × 10 by default): every second here, or a killed task's message comes back after the test gave up.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
settings.MEDIA_ROOT = os.environ["RELIABILITY_MEDIA_ROOT"]
settings.EMAIL_BACKEND = "tests.reliability.celery_app.RecordingEmailBackend"


class RecordingEmailBackend(BaseEmailBackend):
    """Where the outbox finally hands each message: one "email_sent" line per message actually sent."""

    def send_messages(self, email_messages):
        for message in email_messages:
            emit("email_sending", to=message.to, subject=message.subject)
            if "hang_email" in FAULTS:
                _hang("email")
            emit("email_sent", to=message.to, subject=message.subject)
        return len(email_messages)


_render = documents.render_template_to_pdf
_save_rendered = documents.save_rendered


def _recorded_render(template_name, context, **kwargs):
    emit("render_started", template=template_name)
    if "hang_render" in FAULTS:
        _hang("render")
    return _render(template_name, context, **kwargs)


def _recorded_save(document, content, page_count):
    _save_rendered(document, content, page_count)
    emit("rendered", document_id=document.pk, pages=page_count)


documents.render_template_to_pdf = _recorded_render
documents.save_rendered = _recorded_save


@signals.worker_ready.connect
def _ready(**kwargs):
    emit("worker_ready")


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, args=None, **kwargs):
    emit("task_started", task=task.name, id=task_id, args=list(args or ()))


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, args=None, retval=None, state=None, **kwargs):
    emit("task_finished", task=task.name, id=task_id, args=list(args or ()), result=retval, state=state)
