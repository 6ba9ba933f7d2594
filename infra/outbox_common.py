"""What the three outboxes share: the email outbox (``infra/outbox.py``), the text outbox (``infra/sms_outbox.py``)
and the webhook deliveries (``referrals/webhooks/delivery.py``).

Each writes its row in the transaction that causes it (synchronously: "email is at least once"); its own claims
and marks afterwards are bookkeeping, which ``bookkeeping_transaction`` commits without waiting for the disk. A
crash can lose the last few marks, and the row's lease then sends it again — never loses it. ``retry_delay`` is
the schedule a failed row waits on before its next attempt.
"""

import contextlib
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django_scopes import scopes_disabled

BACKOFF_BASE_SECONDS = 30


@contextlib.contextmanager
def bookkeeping_transaction():
    """A transaction over every spa (outbox work is not one spa's) whose commit returns before the WAL reaches the
    disk (``SET LOCAL synchronous_commit = off``, PostgreSQL only)."""
    with scopes_disabled(), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        yield


def retry_delay(attempts, *, cap_seconds, retry_after="", jitter=0.0):
    """The wait after the ``attempts``-th failure: BACKOFF_BASE_SECONDS doubling, never past ``cap_seconds``.

    ``jitter`` spreads each wait over (1 ± jitter) of the schedule's, so rows that failed together do not come back
    in step; a receiver's ``Retry-After`` (in seconds) makes the wait longer, never past the cap.
    """
    seconds = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), cap_seconds)
    if jitter:
        seconds *= secrets.SystemRandom().uniform(1 - jitter, 1 + jitter)
    if retry_after.strip().isdigit():
        seconds = max(seconds, min(int(retry_after.strip()), cap_seconds))
    return timedelta(seconds=seconds)
