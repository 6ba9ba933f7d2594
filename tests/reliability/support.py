"""What the fault-injection tests share: a private Redis server to kill, the Celery app pointed at it, real
worker subprocesses on the test database, real beat subprocesses, and waiting on observable state under a
deadline.

Nothing here touches the machine's own Redis or PostgreSQL server: each test starts its own
``redis-server`` on a free port and kills only that; the workers use the test run's own database.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import connection

from spa_referrals.celery import app

PROJECT_DIR = Path(settings.BASE_DIR)
REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server program")


class Deadline(AssertionError):
    """Raised when something a test waits for does not happen in time (a hang fails, it never blocks CI)."""


def wait_until(predicate, *, timeout, message, interval=0.05):
    """Poll ``predicate`` until it returns something truthy (and return that), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise Deadline(f"Timed out after {timeout} s: {message}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a Redis server of our own ----------------------------------------------------------------------


class RedisServer:
    """A throw-away ``redis-server`` on a free loopback port, without persistence: kill it and bring it back
    (empty, on the same port) whenever a test needs a broker outage."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None

    def url(self, database=0):
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self):
        assert self.process is None, "already running"
        log = (self.folder / "redis.log").open("a")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.folder), "--protected-mode", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until(self.answers, timeout=15, message=f"redis-server on port {self.port} to answer")
        return self

    def answers(self):
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server exited: {(self.folder / 'redis.log').read_text()[-2000:]}")
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
        except redis.exceptions.ConnectionError:
            return False

    def kill(self):
        """SIGKILL: the broker vanishes mid-conversation, as in a crash."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=15)
        self.process = None

    def client(self, database=0):
        return redis.Redis(port=self.port, db=database, socket_connect_timeout=1, socket_timeout=5)


def _first_start(server, attempts=3):
    """Start on a fresh free port; another process may take a probed port before redis binds it."""
    for attempt in range(attempts):
        try:
            return server.start()
        except AssertionError:
            server.kill()
            if attempt == attempts - 1:
                raise
            server.port = free_port()
    return server


@pytest.fixture
def redis_server(tmp_path):
    server = _first_start(RedisServer(tmp_path / "redis"))
    try:
        yield server
    finally:
        server.kill()


# --- this process's Celery app, pointed at that server ---------------------------------------------


def _reset_producer_pool():
    pool = app._pool
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.force_close_all()
    # Celery takes its producer pool from kombu's process-wide registry, keyed by broker URL: without this
    # a later test on the same URL would get the pool whose connections were just closed ("Acquire on
    # closed pool" in tests/infra/test_celery_worker.py when it ran after this suite in one worker).
    kombu.pools.reset()


@contextlib.contextmanager
def celery_through(broker_url, **transport_options):
    """Send this process's tasks through ``broker_url`` for real (not eagerly), then put everything back."""
    keys = ("broker_url", "broker_transport_options", "task_always_eager", "broker_connection_retry_on_startup")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options={"visibility_timeout": 3600, **transport_options},
        task_always_eager=False,
    )
    _reset_producer_pool()
    try:
        yield app
    finally:
        _reset_producer_pool()
        app.conf.update(saved)


# --- real worker subprocesses on the test database ---------------------------------------------------


def this_runs_database_url():
    """The database this test run uses (pytest-django's test database), as a DATABASE_URL."""
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "worker subprocesses need PostgreSQL"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


def app_environment(*, database=True, **overrides):
    """The environment of an app process (web or worker) on this run's database under the test settings.

    ``database=False`` for a process that never opens one (beat): it then needs no PostgreSQL either.
    """
    environment = {**os.environ}
    for variable in ("CELERY_BROKER_URL", "EMAIL_URL"):
        environment.pop(variable, None)
    environment.update(DJANGO_SETTINGS_MODULE="spa_referrals.settings.test", PYTHONUNBUFFERED="1")
    if database:
        environment["DATABASE_URL"] = this_runs_database_url()
    environment.update(overrides)
    return environment


class Events:
    """The JSON lines a worker subprocess writes as things happen (tests/reliability/celery_app.py)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.touch()

    def all(self, kind=None):
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return [event for event in lines if kind is None or event["event"] == kind]

    def wait_for(self, kind, *, timeout, count=1, where=None, process=None):
        def found():
            if process is not None:
                process.check_alive()
            matching = [event for event in self.all(kind) if where is None or where(event)]
            return matching if len(matching) >= count else None

        return wait_until(found, timeout=timeout, message=f"{count} × {kind!r} in {self.path.name}")


class Worker:
    """``celery worker`` through the test-only app in celery_app.py: one prefork child, as in production.

    (Not the solo pool: it runs tasks inside the event loop, which then cannot even send an early
    acknowledgement, so a test there could not tell late acknowledgement from early.)
    """

    def __init__(self, *, folder, broker_url, events, name, faults="", env=None):
        self.folder = Path(folder)
        self.log_path = self.folder / f"{name}.log"
        self.events = events
        self.name = name
        environment = app_environment(REDIS_URL=broker_url)
        environment.update(
            RELIABILITY_EVENTS=str(events.path),
            RELIABILITY_FAULTS=faults,
            RELIABILITY_WORKER=name,
            RELIABILITY_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            **(env or {}),
        )
        self.environment = environment
        self.process = None

    def start(self, *, ready_timeout=60):
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.reliability.celery_app", "worker", "--concurrency=1"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
            + ["--hostname", f"{self.name}-{uuid.uuid4().hex[:8]}@reliability"],
            cwd=PROJECT_DIR,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.events.wait_for(
            "worker_ready", timeout=ready_timeout, where=lambda event: event["worker"] == self.name, process=self
        )
        return self

    def check_alive(self):
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}")

    def log(self):
        return self.log_path.read_text()[-6000:] if self.log_path.exists() else ""

    def kill(self):
        """SIGKILL to the worker's whole process group: no shutdown, no ack, no cleanup (OOM, power cut)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self):
        """A warm shutdown (SIGTERM), then SIGKILL if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def workers(tmp_path):
    """Start workers with ``workers.start(...)``; every one is killed at the end, whatever happened."""
    started = []

    class Workers:
        events = Events(tmp_path / "events.jsonl")

        def start(self, *, broker_url, name, faults="", env=None):
            worker = Worker(
                folder=tmp_path, broker_url=broker_url, events=self.events, name=name, faults=faults, env=env
            )
            started.append(worker)
            return worker.start()

        def logs(self):
            return "\n".join(f"--- {worker.name} ---\n{worker.log()}" for worker in started)

    try:
        yield Workers()
    finally:
        for worker in started:
            worker.kill()


# --- real beat subprocesses ---------------------------------------------------------------------------


class Beat:
    """``celery beat`` through the test-only app in beat_app.py: the project's RedBeatScheduler on ``broker_url``.

    It logs to its own file; the test waits on lines the scheduler writes there ("beat: Starting...",
    "beat: Acquired lock").
    """

    def __init__(self, *, folder, broker_url, name, env):
        self.log_path = Path(folder) / f"{name}.log"
        self.name = name
        self.environment = app_environment(database=False, REDIS_URL=broker_url, **env)
        self.process = None

    @property
    def pid(self):
        return self.process.pid

    def start(self, *, started_timeout=60):
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.reliability.beat_app", "beat", "--loglevel=INFO"],
            cwd=PROJECT_DIR,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_for_log("beat: Starting...", timeout=started_timeout)
        return self

    def wait_for_log(self, text, *, timeout):
        def logged():
            self.check_alive()
            return text in self.log()

        return wait_until(logged, timeout=timeout, message=f"{text!r} in beat {self.name}'s log")

    def check_alive(self):
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"beat {self.name} exited with {self.process.returncode}:\n{self.log()[-6000:]}")

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self):
        """SIGKILL: the beat vanishes holding its lock, as on a lost host or an OOM kill."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)


@pytest.fixture
def beats(tmp_path):
    """Start beats with ``beats.start(...)``; every one is killed at the end, whatever happened."""
    started = []

    class Beats:
        def start(self, *, broker_url, name, env):
            beat = Beat(folder=tmp_path, broker_url=broker_url, name=name, env=env)
            started.append(beat)
            return beat.start()

        def logs(self):
            return "\n".join(f"--- {beat.name} ---\n{beat.log()[-4000:]}" for beat in started)

    try:
        yield Beats()
    finally:
        for beat in started:
            beat.kill()


# --- forms -------------------------------------------------------------------------------------------


def submission_token(response):
    """The hidden one-time token of the form a page rendered."""
    match = re.search(r'name="submission_token" value="([^"]+)"', response.content.decode())
    assert match, "the form carries no submission token"
    return match.group(1)
