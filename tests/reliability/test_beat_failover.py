"""Two beats, one hot standby: both run the project's RedBeatScheduler (spa_referrals/settings/base.py); the one
holding the lock in Redis sends the schedule and the other waits for the lock. The leader is SIGKILLed, so it
cannot let go of the lock, and the standby takes over once the lock expires. The schedule goes on from where
the leader left it: no run is sent twice, and the pause lasts no longer than the lock's expiry plus one wait
for it.

Real ``celery beat`` processes (tests/reliability/beat_app.py: the project's app and beat settings, with a job
every second and a lock of seconds instead of 30) on a private Redis server; nothing consumes the queue. The test
reads what reached the broker: each heartbeat message, which beat sent it (its ``origin``), and which run of the
job it is (RedBeat's run count and time, which beat_app.py puts in the message's headers).

It needs neither this run's database nor REDIS_URL: the beats use only their own redis-server.
"""

import json
import re
import time
from dataclasses import dataclass

from .support import needs_redis_server, wait_until

pytestmark = [needs_redis_server]

HEARTBEAT_TASK = "tests.reliability.heartbeat"
HEARTBEAT_EVERY = 1.0  # seconds (beat_app.py)
# Production's proportions (a lock that outlives three of beat's longest sleeps: settings/base.py), in seconds
# instead of tens of seconds. The leader, sending every second, renews the lock every second: it keeps the lock
# through a stall of some 8 s on a loaded machine.
MAX_LOOP_INTERVAL = 3
LOCK_TIMEOUT = 3 * MAX_LOOP_INTERVAL
BEAT_ENV = {
    "RELIABILITY_BEAT_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
    "RELIABILITY_BEAT_MAX_LOOP_INTERVAL": str(MAX_LOOP_INTERVAL),
}
# What a loaded machine may add to a wait: a process not scheduled at once.
SLACK = 5


@dataclass(frozen=True)
class Heartbeat:
    sender_pid: int
    run: int
    ran_at: float


def _heartbeats(broker):
    """Every heartbeat message on the broker's queue, in the order they arrived."""
    heartbeats = []
    for raw in reversed(broker.lrange("celery", 0, -1)):  # pushed on the left: the oldest is last
        headers = json.loads(raw)["headers"]
        if headers["task"] != HEARTBEAT_TASK:
            continue
        sender_pid = int(re.fullmatch(r"gen(\d+)@.+", headers["origin"]).group(1))
        heartbeats.append(Heartbeat(sender_pid, headers["run"], headers["ran_at"]))
    return heartbeats


def _more_heartbeats_than(broker, count, *, timeout, message):
    return wait_until(lambda: len(_heartbeats(broker)) > count, timeout=timeout, message=message)


def test_a_standby_beat_takes_over_from_a_killed_leader_and_sends_no_run_twice(redis_server, beats):
    broker_url = redis_server.url()
    broker = redis_server.client()
    first = beats.start(broker_url=broker_url, name="first", env=BEAT_ENV)
    second = beats.start(broker_url=broker_url, name="second", env=BEAT_ENV)

    _more_heartbeats_than(broker, 0, timeout=60, message="a first heartbeat")
    leader = {first.pid: first, second.pid: second}[_heartbeats(broker)[0].sender_pid]
    standby = second if leader is first else first
    # Both are running (start() waited for each): the standby asks for the lock every MAX_LOOP_INTERVAL seconds
    # while the leader sends three more heartbeats.
    _more_heartbeats_than(broker, len(_heartbeats(broker)) + 2, timeout=30, message="three heartbeats more")
    assert "beat: Acquired lock" not in standby.log()
    # Kill the leader just after a heartbeat went out, a second before its next run.
    _more_heartbeats_than(broker, len(_heartbeats(broker)), timeout=30, message="one heartbeat more")
    killed_at = time.time()
    leader.kill()

    def standby_heartbeats():
        standby.check_alive()
        return len([heartbeat for heartbeat in _heartbeats(broker) if heartbeat.sender_pid == standby.pid]) >= 3

    wait_until(standby_heartbeats, timeout=LOCK_TIMEOUT + MAX_LOOP_INTERVAL + 60, message="the standby's heartbeats")

    heartbeats = _heartbeats(broker)
    context = f"{heartbeats}\n{beats.logs()}"
    # One sender at a time: the leader's heartbeats, then the standby's, which began after the leader died.
    senders = [heartbeat.sender_pid for heartbeat in heartbeats]
    sent_by_leader = senders.count(leader.pid)
    assert sent_by_leader >= 5, context
    assert senders == [leader.pid] * sent_by_leader + [standby.pid] * (len(senders) - sent_by_leader), context
    last_of_leader, first_of_standby = heartbeats[sent_by_leader - 1], heartbeats[sent_by_leader]
    assert first_of_standby.ran_at > killed_at, context
    assert "beat: Acquired lock" in standby.log()
    # No run sent twice: each run once, in order, the standby going on from the leader's last run. (The run after
    # it may be missing: a leader killed between recording a run in Redis and publishing it never sends that one.)
    runs = [heartbeat.run for heartbeat in heartbeats]
    assert runs[:sent_by_leader] == list(range(1, sent_by_leader + 1)), context
    assert first_of_standby.run - last_of_leader.run in (1, 2), context
    assert runs[sent_by_leader:] == list(range(first_of_standby.run, runs[-1] + 1)), context
    # ... each at least the job's interval after the one before (a run sent twice would follow at once) ...
    intervals = [later.ran_at - earlier.ran_at for earlier, later in zip(heartbeats, heartbeats[1:], strict=False)]
    assert min(intervals) >= HEARTBEAT_EVERY - 0.05, context
    # ... and the schedule paused no longer than the leader's lock outlived it, plus one wait for the lock.
    assert first_of_standby.ran_at - killed_at <= LOCK_TIMEOUT + MAX_LOOP_INTERVAL + SLACK, context
