"""The probe's findings about the server `make run` starts: Django's debug pages, and a 500 from the
development static handler on a traversal path.

These start the real development server (`manage.py runserver` under the local settings, as `make run`
does) in a subprocess with its own SQLite folder, and talk to it over HTTP.
"""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from spa_referrals.management.commands.runserver import is_loopback

PROJECT_DIR = Path(settings.BASE_DIR)
TRAVERSALS = [
    "/static/..%2f..%2fvar/db.sqlite3",
    "/static/..%2F..%2Fmanage.py",
    "/static/../../manage.py",
    "/static/%2e%2e/%2e%2e/manage.py",
    "/static/vendor/bootstrap/..%2f..%2f..%2fpackage.json",
]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _local_env(tmp_path, **overrides):
    leave_out = {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "ALLOWED_HOSTS"}
    env = {name: value for name, value in os.environ.items() if name not in leave_out}
    env.update(DJANGO_SETTINGS_MODULE="spa_referrals.settings.local", VAR_DIR=str(tmp_path / "var"))
    env.update(overrides)
    return env


def _runserver(tmp_path, address, **env):
    return subprocess.Popen(
        [sys.executable, "manage.py", "runserver", address, "--noreload"],
        cwd=PROJECT_DIR,
        env=_local_env(tmp_path, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _get(port, path, host=None, method="GET", body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or f"127.0.0.1:{port}")
    for name, value in (headers or {}).items():
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def trial_server(tmp_path_factory):
    """`make run`'s web server with the defaults a person trying the product gets (no DEBUG set)."""
    tmp_path = tmp_path_factory.mktemp("trial")
    port = _free_port()
    server = _runserver(tmp_path, f"127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(server.stdout.read())
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(timeout=10)


def _looks_like_debug_page(body):
    return any(
        marker in body
        for marker in ("Django tried these URL patterns", "DEBUG = True", "Traceback", "SECRET_KEY", "technical_500")
    )


def test_local_settings_leave_debug_off_unless_asked(tmp_path):
    code = "from django.conf import settings; print(settings.DEBUG)"
    run = lambda **env: subprocess.run(  # noqa: E731
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=PROJECT_DIR,
        env=_local_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run().stdout.strip().splitlines()[-1] == "False"
    assert run(DEBUG="1").stdout.strip().splitlines()[-1] == "True"


def test_an_unknown_address_gets_the_products_404_not_the_url_list(trial_server):
    status, body = _get(trial_server, "/no-such-page/")

    assert status == 404
    assert "Page not found" in body or "404" in body
    assert not _looks_like_debug_page(body)


def test_a_bad_host_header_gets_a_plain_400(trial_server):
    status, body = _get(trial_server, "/", host="evil.example")

    assert status == 400
    assert not _looks_like_debug_page(body)


def test_an_oversized_post_to_the_landing_page_gets_a_plain_error(trial_server):
    body = ("a=" + "x" * 3_000_000).encode()
    status, page = _get(
        trial_server,
        "/r/ANYCODE",
        method="POST",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status in (400, 403, 404, 413)
    assert not _looks_like_debug_page(page)


def test_static_files_are_still_served_with_debug_off(trial_server):
    status, body = _get(trial_server, "/static/css/app.css")

    assert status == 200
    assert "--brand" in body


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_traversal_paths_are_404_on_the_trial_server(trial_server, path):
    status, body = _get(trial_server, path)

    assert status == 404
    assert "SQLite format" not in body and "DJANGO_SETTINGS_MODULE" not in body


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("autorefresh", [False, True])
def test_static_traversal_paths_are_404_in_process(settings, db, path, autorefresh):
    settings.WHITENOISE_AUTOREFRESH = autorefresh

    response = Client().get(path)

    assert response.status_code == 404


def test_debug_with_a_non_loopback_host_is_refused(tmp_path):
    server = _runserver(tmp_path, f"0.0.0.0:{_free_port()}", DEBUG="1")
    output, _ = server.communicate(timeout=60)

    assert server.returncode != 0
    assert "DEBUG=1 with HOST=0.0.0.0" in output


def test_the_guard_refuses_in_process_before_anything_listens(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="Serve on 127.0.0.1, or leave DEBUG off"):
        call_command("runserver", "192.0.2.10:8000", use_reloader=False)


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not a bind
        ("::", False),
        ("192.168.1.20", False),
        ("myhost.local", False),
    ],
)
def test_what_counts_as_loopback(address, loopback):
    assert is_loopback(address) is loopback
