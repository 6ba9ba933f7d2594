"""The check-in job over the check-in spa's 10,000 active partners, each run in a fresh process.

    python -m bench.checkins reset            # delete what earlier runs created (tasks, their audit events, emails)
    python -m bench.checkins run [--profile]  # run outreach.health.checkins.check_ins_create_due once; JSON on stdout

``run`` is what the hourly Celery task does for one spa (``outreach.tasks._for_each_spa``): the job inside the
spa's scope, emails included (each check-in task emails its assignee through the outbox; the Celery message is
published to the bench's Redis after each task's transaction commits). The clock starts once Django is set up
and the database connection is open, as in a worker that has been running for a while; the setup time is
reported apart. Besides the wall time: CPU time of this process, the number of SQL statements and their time
(``connection.execute_wrapper``), the rows written, and the process's peak RSS. ``--profile`` adds the 25
functions with the most cumulative time (cProfile) to the JSON, to see where the time goes.
"""

import json
import os
import sys
import time

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

_setup_started = time.perf_counter()

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from bench.seed import CHECKIN_SLUG  # noqa: E402
from bench.server import memory_kib  # noqa: E402

SETUP_S = time.perf_counter() - _setup_started


class StatementCounter:
    """Counts statements and their time, and the writes by table (INSERT INTO / UPDATE "table")."""

    def __init__(self):
        self.count, self.seconds, self.writes = 0, 0.0, {}

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1
            words = sql.split(None, 3)
            if words and words[0] in ("INSERT", "UPDATE", "DELETE"):
                table = (words[2] if words[0] in ("INSERT", "DELETE") else words[1]).strip('"')
                key = f"{words[0]} {table}"
                self.writes[key] = self.writes.get(key, 0) + 1


def _spa():
    from spas.models import Spa

    return Spa.objects.get(slug=CHECKIN_SLUG)


def reset():
    """Remove the check-in tasks earlier runs created, with their audit events and emails (all of this spa's)."""
    from infra.models import OutgoingEmail
    from outreach.models import Task

    spa = _spa()
    with scopes_disabled():
        tasks, _by_model = Task.objects.filter(spa=spa).delete()
        emails, _by_model = OutgoingEmail.objects.filter(spa=spa).delete()
        with connection.cursor() as cursor:
            # Audit events are append-only in the app (model and queryset refuse); this is the benchmark's own
            # throwaway spa, reset to its seeded state.
            cursor.execute("DELETE FROM spas_auditevent WHERE spa_id = %s", [spa.pk])
            audit_events = cursor.rowcount
    return {"tasks": tasks, "emails": emails, "audit_events": audit_events}


def run(profile=False):
    from infra.models import OutgoingEmail
    from outreach.health.checkins import check_ins_create_due
    from outreach.models import CheckInCadence, Task
    from partners.models import Practice, Stage

    spa = _spa()
    with scopes_disabled():
        partners = Practice.objects.filter(spa=spa, stage=Stage.ACTIVE).count()
        due = CheckInCadence.objects.filter(spa=spa, next_due_on__isnull=False).count()
        emails_before = OutgoingEmail.objects.filter(spa=spa).count()
    connection.ensure_connection()
    counter = StatementCounter()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    # Outermost, so each statement's time includes the row-level-security wrapper's tenant setting (spas.rls).
    connection.execute_wrappers.insert(0, counter)
    with scope(spa=spa):
        if profiler:
            profiler.enable()
        created = check_ins_create_due(spa=spa)
        if profiler:
            profiler.disable()
    connection.execute_wrappers.remove(counter)
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    with scopes_disabled():
        open_tasks = Task.objects.filter(spa=spa, kind="check_in", done_at=None).count()
        emails = OutgoingEmail.objects.filter(spa=spa).count() - emails_before
    result = {
        "partners": partners,
        "cadences_due": due,
        "created": created,
        "open_check_in_tasks": open_tasks,
        "emails": emails,
        "wall_s": wall,
        "cpu_s": cpu,
        "statements": counter.count,
        "sql_s": counter.seconds,
        "writes": counter.writes,
        "setup_s": SETUP_S,
        "peak_rss_kib": (memory_kib(os.getpid()) or (0, 0))[1],
    }
    if profiler:
        import io
        import pstats

        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(25)
        result["profile"] = buffer.getvalue()
    return result


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command == "reset":
        result = reset()
    elif command == "run":
        result = run(profile="--profile" in sys.argv)
    else:
        raise SystemExit(f"unknown command {command!r}: reset or run")
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
