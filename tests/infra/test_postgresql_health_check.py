"""The PostgreSQL backend checks a persistent connection (SELECT 1) only after it sat idle (infra/postgresql)."""

from unittest import mock

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend"),
]


@pytest.fixture
def fresh_connection(settings):
    """A second connection to the test database, with health checks on, as a web request would hold it."""
    settings.HEALTH_CHECK_AFTER_IDLE_SECONDS = 10.0
    wrapper = connections.create_connection("default")
    wrapper.settings_dict["CONN_HEALTH_CHECKS"] = True
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _request(wrapper):
    """What a request does with the connection: Django's request-start bookkeeping, then a query."""
    wrapper.close_if_unusable_or_obsolete()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # returns once it is gone


def test_the_backend_is_in_use():
    assert type(connections["default"]).__module__ == "infra.postgresql.base"


def test_a_connection_used_a_moment_ago_is_not_checked(fresh_connection):
    with mock.patch.object(fresh_connection, "is_usable", wraps=fresh_connection.is_usable) as is_usable:
        _request(fresh_connection)
        _request(fresh_connection)

    assert is_usable.call_count == 0


def test_an_idle_connection_is_checked_and_a_dead_one_replaced(fresh_connection):
    old_pid = _request(fresh_connection)
    _terminate(old_pid)
    fresh_connection.last_checked_or_used_at -= 11  # idle for longer than the limit

    with mock.patch.object(fresh_connection, "is_usable", wraps=fresh_connection.is_usable) as is_usable:
        new_pid = _request(fresh_connection)

    assert is_usable.call_count == 1
    assert new_pid != old_pid


def test_with_a_zero_limit_every_request_is_checked(fresh_connection, settings):
    settings.HEALTH_CHECK_AFTER_IDLE_SECONDS = 0

    with mock.patch.object(fresh_connection, "is_usable", wraps=fresh_connection.is_usable) as is_usable:
        _request(fresh_connection)
        _request(fresh_connection)

    assert is_usable.call_count == 2


def test_a_busy_connection_the_server_ended_is_replaced_without_a_round_trip(fresh_connection):
    old_pid = _request(fresh_connection)
    _terminate(old_pid)

    with mock.patch.object(fresh_connection, "is_usable", wraps=fresh_connection.is_usable) as is_usable:
        new_pid = _request(fresh_connection)  # used a moment ago: the socket is polled, not queried

    assert is_usable.call_count == 0
    assert new_pid != old_pid
