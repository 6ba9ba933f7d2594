"""The Celery app the beat failover test runs real ``celery beat`` subprocesses with: ``celery -A
tests.reliability.beat_app beat``. It is the project's own app with the project's beat settings (the
RedBeatScheduler, its key prefix and Redis options: spa_referrals/settings/base.py, Redis from REDIS_URL),
changed only where a test must not wait minutes:

- the schedule is one job, ``heartbeat``, every second; no worker needs to know its task, because the test
  reads the messages off the broker;
- the lock expires after ``RELIABILITY_BEAT_LOCK_TIMEOUT`` seconds and beat sleeps at most
  ``RELIABILITY_BEAT_MAX_LOOP_INTERVAL`` seconds (production: 30 and 10).

Each heartbeat message carries, in its headers, RedBeat's record of the run it belongs to, read back from
Redis after the scheduler wrote it and before the message goes out: the entry's run count (``run``) and when
that run was due and taken (``ran_at``, seconds since the epoch). The sending beat is the message's own
``origin`` header (``gen<pid>@<host>``).

The suite never imports this module; only beat subprocesses do.
"""

import os

import django
from celery import signals
from redbeat.schedulers import RedBeatSchedulerEntry

from spa_referrals.celery import app

django.setup()

HEARTBEAT = "heartbeat"
HEARTBEAT_TASK = "tests.reliability.heartbeat"

app.conf.task_always_eager = False  # the test settings' default: beat would run the task itself
app.conf.beat_schedule = {HEARTBEAT: {"task": HEARTBEAT_TASK, "schedule": 1.0}}
app.conf.redbeat_lock_timeout = int(os.environ["RELIABILITY_BEAT_LOCK_TIMEOUT"])
app.conf.beat_max_loop_interval = int(os.environ["RELIABILITY_BEAT_MAX_LOOP_INTERVAL"])


@signals.before_task_publish.connect
def _label_with_the_run(sender=None, headers=None, **kwargs):
    if sender != HEARTBEAT_TASK:
        return
    entry = RedBeatSchedulerEntry.from_key(RedBeatSchedulerEntry.generate_key(app, HEARTBEAT), app=app)
    headers.update(run=entry.total_run_count, ran_at=entry.last_run_at.timestamp())
