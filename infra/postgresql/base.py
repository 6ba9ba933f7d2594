"""PostgreSQL (psycopg2) with a health check that costs no round trip on a busy connection.

Django's ``CONN_HEALTH_CHECKS`` runs ``SELECT 1`` before the first query of every request on a persistent
connection: a round trip per request, 7 % of an API create's time under load (bench, issue 15). This backend
keeps the guarantee (the next request after a restart, a failover or ``pg_terminate_backend`` succeeds) at the
price of a system call:

- a connection that served a request within ``HEALTH_CHECK_AFTER_IDLE_SECONDS`` is checked by polling its
  socket: an idle connection has nothing to read unless the server ended it (its goodbye message or the end of
  the stream), so "readable" means "dead" and the connection is closed before the request uses it;
- a connection idle for longer gets Django's ``SELECT 1``, which also catches what a poll cannot see quickly (a
  half-open socket after a network failure shows nothing until TCP gives up).

A connection with ``LISTEN`` would have notifications to read; the app uses none.
"""

import select
import time

from django.conf import settings
from django.db.backends.postgresql import base

DEFAULT_HEALTH_CHECK_AFTER_IDLE_SECONDS = 10.0


class DatabaseWrapper(base.DatabaseWrapper):
    # When this connection last began serving a request (or was opened).
    last_checked_or_used_at = None

    def connect(self):
        super().connect()
        self.last_checked_or_used_at = time.monotonic()

    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        now = time.monotonic()
        idle = self.last_checked_or_used_at is None or now - self.last_checked_or_used_at >= _idle_limit()
        if idle:
            super().close_if_health_check_failed()
        else:
            if self._server_hung_up():
                self.close()
            self.health_check_done = True
        if self.connection is not None:
            self.last_checked_or_used_at = now

    def _server_hung_up(self):
        """True when the idle connection's socket has something to read (or is broken): the server ended it."""
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            return bool(poller.poll(0))
        except (OSError, ValueError, self.Database.Error):
            return True


def _idle_limit():
    return getattr(settings, "HEALTH_CHECK_AFTER_IDLE_SECONDS", DEFAULT_HEALTH_CHECK_AFTER_IDLE_SECONDS)
