"""Real Celery workers deliver the outbox: on Redis (CI, production) and on the filesystem broker (the demo)."""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import transaction

from infra.models import OutgoingEmail
from infra.outbox import email_enqueue_rendered
from spa_referrals.celery import app
from tests.conftest import redis_only

PROJECT_DIR = Path(settings.BASE_DIR)
SEND_TASK = "spas.tasks.outbox_send_task"
# What a commit asks for: one drain of the outbox (coalesced), which sends the due rows in batches.
DRAIN_TASK = "spas.tasks.outbox_drain_task"
SWEEP_TASK = "spas.tasks.outbox_sweep_task"


# --- A worker thread on the Redis broker ----------------------------------------------------


@pytest.fixture
def redis_worker():
    """A real worker (solo pool, in a thread) consuming a queue of its own on the test Redis."""
    queue = f"spa-test-{uuid.uuid4().hex}"  # no other worker, and no leftover message, can be on it
    saved = {key: app.conf[key] for key in ("task_always_eager", "task_default_queue", "worker_hijack_root_logger")}
    app.conf.update(task_always_eager=False, task_default_queue=queue, worker_hijack_root_logger=False)
    try:
        with start_worker(app, pool="solo", queues=[queue], perform_ping_check=False, shutdown_timeout=30):
            yield queue
    finally:
        app.conf.update(saved)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


@pytest.fixture
def task_runs():
    """(task name, thread id, return value) of every task that finishes while the test runs."""
    runs = []

    def record(sender=None, retval=None, **kwargs):
        runs.append((sender.name, threading.get_ident(), retval))

    task_postrun.connect(record, weak=False)
    yield runs
    task_postrun.disconnect(record)


def _wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)


def _wait_until_sent(email, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        email.refresh_from_db()
        if email.status != OutgoingEmail.Status.PENDING and email.status != OutgoingEmail.Status.SENDING:
            break
        time.sleep(0.1)
    return email.status


@redis_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_delivers_an_email_enqueued_by_a_committed_transaction(
    redis_worker, task_runs, spa, mailoutbox
):
    assert app.conf.broker_url.startswith("redis://")

    with transaction.atomic():
        email = email_enqueue_rendered(spa=spa, to="frontdesk@derm.example", subject="Welcome", body_text="Hello")

    assert _wait_until_sent(email) == OutgoingEmail.Status.SENT
    assert email.sent_at is not None
    assert [message.subject for message in mailoutbox] == ["Welcome"]
    # It ran in the worker's thread, taken from the broker, not inline in this one. The task marks the
    # row sent before it returns, so its postrun signal can come a moment after the status is seen.
    _wait_for(lambda: task_runs)
    [(task_name, thread_id, sent)] = task_runs
    assert task_name == DRAIN_TASK
    assert thread_id != threading.get_ident()
    assert sent == 1


# --- The embedded default: filesystem broker, SQLite, a worker process ----------------------


def _embedded_env(var_dir):
    """The environment of `make run` on a fresh clone: no DATABASE_URL, no REDIS_URL, no EMAIL_URL."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "CELERY_BROKER_URL"}
    }
    env.update(DJANGO_SETTINGS_MODULE="spa_referrals.settings.local", VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return env


def _python(code, env, timeout=60):
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_redis_the_app_uses_the_filesystem_broker_and_creates_its_folders(tmp_path):
    code = (
        "import json\n"
        "from spa_referrals.celery import app\n"
        "print(json.dumps({'url': app.conf.broker_url, 'options': app.conf.broker_transport_options}))\n"
    )

    config = json.loads(_python(code, _embedded_env(tmp_path)).strip().splitlines()[-1])

    assert config["url"] == "filesystem://"
    options = config["options"]
    queue_folder = tmp_path / "broker" / "queue"
    # One folder for both directions: a worker reads what the web process writes.
    assert options["data_folder_in"] == options["data_folder_out"] == str(queue_folder)
    assert options["processed_folder"] == str(tmp_path / "broker" / "processed")
    folders = [value for key, value in options.items() if key.endswith("_folder") or key.startswith("data_folder_")]
    assert folders
    for folder in folders:
        assert Path(folder).is_dir(), folder
        assert Path(folder).is_relative_to(tmp_path / "broker")


def test_the_beat_schedule_runs_the_outbox_sweep_and_a_worker_knows_the_task(tmp_path):
    # A fresh interpreter: the task must be found by the worker's autodiscovery, not by an import in a test.
    code = (
        "import json\n"
        "from spa_referrals.celery import app\n"
        "app.loader.import_default_modules()\n"
        "def seconds(s):\n"
        "    return s if isinstance(s, (int, float)) else s.remaining_estimate(s.now()).total_seconds()\n"
        "schedule = {name: {'task': entry['task'], 'seconds': seconds(entry['schedule'])}\n"
        "            for name, entry in app.conf.beat_schedule.items()}\n"
        "print(json.dumps({'schedule': schedule, 'registered': sorted(app.tasks)}))\n"
    )

    found = json.loads(_python(code, _embedded_env(tmp_path)).strip().splitlines()[-1])

    sweeps = [entry for entry in found["schedule"].values() if entry["task"] == SWEEP_TASK]
    assert len(sweeps) == 1
    assert 0 < sweeps[0]["seconds"] <= 300
    assert SWEEP_TASK in found["registered"]
    assert SEND_TASK in found["registered"]
    assert DRAIN_TASK in found["registered"]
    for entry in found["schedule"].values():
        assert entry["task"] in found["registered"]


ENQUEUE_SCRIPT = """
import django
django.setup()
from django.db import transaction
from infra.outbox import email_enqueue_rendered
with transaction.atomic():
    email = email_enqueue_rendered(to="frontdesk@derm.example", subject="Filesystem broker works", body_text="Hi")
print(email.pk)
"""


def _status_in_sqlite(database, email_id):
    connection = sqlite3.connect(database, timeout=5)
    try:
        row = connection.execute("SELECT status FROM spas_outgoingemail WHERE id = ?", [email_id]).fetchone()
    finally:
        connection.close()
    return row[0] if row else None


def test_a_worker_process_on_the_filesystem_broker_delivers_an_enqueued_email(tmp_path):
    """The `make run` path end to end, bounded in time; the worker is stopped whatever happens."""
    env = _embedded_env(tmp_path)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrate.returncode == 0, migrate.stderr

    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "spa_referrals", "worker", "--pool=solo", "--loglevel=INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            email_id = int(_python(ENQUEUE_SCRIPT, env).strip().splitlines()[-1])
            deadline = time.monotonic() + 60
            status = _status_in_sqlite(tmp_path / "db.sqlite3", email_id)
            while status in ("pending", "sending") and time.monotonic() < deadline:
                time.sleep(0.25)
                status = _status_in_sqlite(tmp_path / "db.sqlite3", email_id)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)

    worker_log = log_path.read_text()
    assert status == "sent", worker_log
    assert f"Task {DRAIN_TASK}[" in worker_log
    assert "succeeded" in worker_log
    # The embedded default's email backend kept a copy under VAR_DIR/email.
    [copy] = (tmp_path / "email").iterdir()
    assert "Subject: Filesystem broker works" in copy.read_text()
