"""Every PostgreSQL connection to the database is terminated (a failover, a restart, an administrator's
``pg_terminate_backend``): the next request and the next task succeed. Web and worker processes keep their
connections between requests (CONN_MAX_AGE); CONN_HEALTH_CHECKS (infra/postgresql: a socket poll on a busy
connection, SELECT 1 on an idle one) makes each request's first query check the connection and open a new one
instead of failing on the dead one.

Three kinds of process: this one, through Django's test client; a real web server (gunicorn, one sync
worker that keeps its connection from request to request); and a real Celery worker. (pytest-django's
``live_server`` cannot show it: its server closes every connection after every request, so there is never a
stale connection to trip over.)
"""

import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import psycopg2
import pytest
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.test.client import ClientHandler
from django.urls import reverse
from django_scopes import scopes_disabled

from infra.models import OutgoingEmail
from infra.outbox import email_enqueue_rendered
from referrals.models import Referral
from tests.conftest import postgres_only, redis_only

from .conftest import manual_form, manual_form_url
from .support import (
    PROJECT_DIR,
    app_environment,
    celery_through,
    free_port,
    needs_redis_server,
    this_runs_database_url,
    wait_until,
)

pytestmark = [postgres_only, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reconnect_afterwards")]
TERMINATE_ALL = (
    # With a timeout, pg_terminate_backend returns once the backend is gone, as after a real failover.
    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture
def reconnect_afterwards():
    """This process's connection is among those terminated: drop it before the test database is flushed, so
    even a failing test leaves the next one a working connection."""
    yield
    connection.close()


def terminate_every_connection():
    """From a second connection of our own, end every other connection to this database. Returns how many."""
    db = connection.settings_dict
    killer = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"]
    )
    try:
        killer.autocommit = True
        with killer.cursor() as cursor:
            cursor.execute(TERMINATE_ALL)
            return cursor.fetchone()[0]
    finally:
        killer.close()


def backend_pids(application_name):
    db = connection.settings_dict
    observer = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"], port=db["PORT"]
    )
    try:
        with observer.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
                [application_name],
            )
            return {row[0] for row in cursor.fetchall()}
    finally:
        observer.close()


class ServerHandler(ClientHandler):
    """The test client's handler, plus what a real server does around each request.

    Django's test client disconnects ``close_old_connections`` from request_started/request_finished (so a
    test's own transaction survives its requests); a real WSGI server (WSGIHandler) sends both. Without
    them no request would ever health-check its connection, here or in production.
    """

    def __call__(self, environ):
        close_old_connections()  # request_started
        try:
            return super().__call__(environ)
        finally:
            close_old_connections()  # request_finished


class ServerLikeClient(Client):
    def __init__(self, **defaults):
        super().__init__(**defaults)
        self.handler = ServerHandler(enforce_csrf_checks=False)


def test_the_next_request_after_every_connection_was_terminated_succeeds(spa, owner, practice):
    browser = ServerLikeClient()
    browser.force_login(owner)
    inbox = reverse("referrals:inbox", args=[spa.slug])
    assert browser.get(inbox).status_code == 200
    assert connection.connection is not None  # kept for the next request (CONN_MAX_AGE)

    assert terminate_every_connection() >= 1

    assert browser.get(inbox).status_code == 200
    # A write goes through as well.
    response = browser.post(manual_form_url(spa), manual_form(practice))
    assert response.status_code == 302
    with scopes_disabled():
        assert Referral.objects.filter(spa=spa).count() == 1


# --- a real web server ---------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, *, cookie=""):
    """(status, body) of a GET, redirects not followed."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def web_server(tmp_path):
    """gunicorn with one sync worker on a free port, on this run's database, named in pg_stat_activity."""
    application_name = f"reliability-web-{uuid.uuid4().hex[:8]}"
    port = free_port()
    environment = app_environment(DATABASE_URL=f"{this_runs_database_url()}?application_name={application_name}")
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "spa_referrals.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--worker-class", "sync", "--timeout", "60"],
            cwd=PROJECT_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"

    def answers():
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log_path.read_text()[-4000:]}")
        try:
            return fetch(f"{base}/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_until(answers, timeout=60, message="gunicorn to answer /healthz")
        yield base, application_name, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_web_server_s_next_request_after_every_connection_was_terminated_succeeds(web_server, spa, owner):
    base, application_name, log_path = web_server
    browser = Client()
    browser.force_login(owner)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    inbox = base + reverse("referrals:inbox", args=[spa.slug])

    for _attempt in range(2):
        status, body = fetch(inbox, cookie=cookie)
        assert status == 200, log_path.read_text()[-4000:]
        assert "Referrals" in body
    [before] = backend_pids(application_name)  # one connection, kept from request to request

    assert terminate_every_connection() >= 1
    wait_until(lambda: not backend_pids(application_name), timeout=10, message="the web connection to end")

    status, _body = fetch(inbox, cookie=cookie)
    assert status == 200, log_path.read_text()[-4000:]
    assert backend_pids(application_name) - {before}  # on a new connection


# --- a real Celery worker ------------------------------------------------------------------------------


@redis_only
@needs_redis_server
def test_a_worker_s_next_task_after_every_connection_was_terminated_succeeds(redis_server, workers, spa):
    """Celery's Django fixup closes the worker's connection before and after every task, so a terminated
    connection is never reused by the next task (whatever CONN_HEALTH_CHECKS says)."""
    application_name = f"reliability-worker-{uuid.uuid4().hex[:8]}"
    broker = redis_server.url()

    def send(subject):
        with transaction.atomic():
            return email_enqueue_rendered(spa=spa, to="frontdesk@derm.example", subject=subject, body_text="Hi")

    def sent(subject):
        return [event for event in workers.events.all("email_sent") if event["subject"] == subject]

    with celery_through(broker):
        worker = workers.start(
            broker_url=broker,
            name="worker",
            env={"DATABASE_URL": f"{this_runs_database_url()}?application_name={application_name}"},
        )
        send("Before")
        workers.events.wait_for("email_sent", timeout=60, where=lambda e: e["subject"] == "Before", process=worker)

        assert terminate_every_connection() >= 1
        connection.close()  # this process's own connection (not under test here) was terminated too

        after = send("After")
        workers.events.wait_for("email_sent", timeout=60, where=lambda e: e["subject"] == "After", process=worker)

    assert len(sent("Before")) == 1
    assert len(sent("After")) == 1, workers.logs()

    def marked_sent():
        with scopes_disabled():
            return OutgoingEmail.objects.get(pk=after.pk).status == OutgoingEmail.Status.SENT

    # The worker marks the row just after the mail server took the message (the event above): wait for it.
    wait_until(marked_sent, timeout=10, message="the worker to mark the email sent")
