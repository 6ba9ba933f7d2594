"""`make bench`: seed (or reuse) the bench database, serve the app under gunicorn with a Celery worker on loopback,
drive it from a separate load-generator process, run the sub-benchmarks, and print ONE table of everything.

    make bench                       # everything (about 10 minutes here, most of it the check-in job today)
    BENCH_RESEED=1 make bench        # drop and seed the bench database again
    BENCH_DURATION=40 make bench     # seconds measured per HTTP row (default 20, in BENCH_ROUNDS=2 passes)
    BENCH_REQUESTS=2000 make bench   # or a fixed number of requests per row
    BENCH_EXPLAIN=1 make bench       # also EXPLAIN ANALYZE the slowest queries of each page
    BENCH_ONLY="inbox,API referral create" make bench   # only these HTTP rows (and their baselines)
    BENCH_SKIP="checkins,pdf,memory,pads,cache off" make bench   # leave out whole parts (a quicker try)
    .venv/bin/python -m bench.run --seed-only   # just seed (or check) the bench database

The table's rows, in one run on one machine:
- the staff pages (dashboard, inbox) against a plain paginated ListView of the same referrals, at 8 clients;
- the API referral create (a practice's Bearer key, a fresh Idempotency-Key each) against a bare DRF endpoint
  inserting one row (bench.views.BareInsertApi), by throughput and p95; the portal form submit (GET the form for
  its CSRF token, POST a referral, as 8 front desks with their own sessions);
- the PDF renderer against bare WeasyPrint (bench/pdf.py), and pads rendered by the Celery worker;
- the check-in job over 10,000 active partners (bench/checkins.py), cold, then again (it must create nothing);
- peak memory of the gunicorn workers and of the Celery worker's processes, with bench/memory.py's breakdown.

Other knobs: BENCH_CONCURRENCY (8), BENCH_WARMUP (3 s), BENCH_WORKERS / BENCH_THREADS (gunicorn, 2 × 4),
BENCH_CELERY_CONCURRENCY (2), BENCH_PADS (6), BENCH_CHECKIN_TIMEOUT (900 s per run of the job),
BENCH_REFERRALS / BENCH_PRACTICES (the big spa's size), BENCH_CHECKIN_PARTNERS (10,000), BENCH_MAX_AGE_DAYS (7:
reseed a data set older than that, since "this month" and "overdue" are relative to the day it was seeded),
BENCH_DATABASE_URL, BENCH_REDIS_URL. Exit status 1 when a target is missed or a request failed, after printing
everything.

This module is the run, top to bottom; the HTTP rows and the load phase (gunicorn, the Celery worker) are in
bench/load_phase.py, the other phases in bench/phases.py, the table with its targets in bench/report.py.
"""

import datetime
import json
import os
import signal
import sys
import time
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from bench import database, load_phase, phases, queries, report, seed  # noqa: E402
from bench.knobs import env_int, skipped  # noqa: E402
from bench.settings import BENCH_VAR_DIR  # noqa: E402

# --- the data set ------------------------------------------------------------------------------------------------


def prepare_database(params, log=print):
    """Reuse the seeded database when its marker matches these parameters; otherwise drop, migrate, seed."""
    wanted = seed.fingerprint(params)
    max_age = datetime.timedelta(days=env_int("BENCH_MAX_AGE_DAYS", 7))
    created = database.ensure_database()
    marker = None if created else database.read_marker()
    if os.environ.get("BENCH_RESEED") == "1":
        reason = "BENCH_RESEED=1"
    elif created:
        reason = "new database"
    elif marker is None:
        reason = "no seed marker (empty database or an interrupted seed)"
    elif marker["params"] != wanted:
        changed = [key for key in wanted if marker["params"].get(key) != wanted[key]]
        reason = "seeded with other " + ", ".join(changed)
    elif timezone.now() - marker["seeded_at"] > max_age:
        reason = f"seeded on {marker['seeded_at']:%Y-%m-%d}, more than {max_age.days} days ago"
    else:
        reason = None
    if reason is None:
        call_command("migrate", "--noinput", verbosity=0)  # a new index applies to the data already there
        log(f"  reusing {database.database_name()} (seeded {marker['seeded_at']:%Y-%m-%d %H:%M} UTC, same parameters)")
        return {"reused": True, "seed_s": 0.0}
    log(f"  seeding {database.database_name()}: {reason}")
    if not created:
        database.ensure_database(drop=True)
    started = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    migrated = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")
        summary = seed.seed(params, log=log)
    seeded = time.perf_counter()
    database.vacuum_analyze()
    database.write_marker(wanted)
    log(
        f"  migrate {migrated - started:.1f} s, seed {seeded - migrated:.1f} s, "
        f"VACUUM ANALYZE {time.perf_counter() - seeded:.1f} s"
    )
    big = summary[seed.BIG_SLUG]
    log("  big spa referrals by status: " + ", ".join(f"{k} {v:,}" for k, v in big["referrals by status"].items()))
    return {"reused": False, "seed_s": seeded - migrated, "summary": summary}


def big_spa_figures(slug):
    from referrals.models import Referral
    from spas.models import Spa, User

    with scopes_disabled():
        spa = Spa.objects.get(slug=slug)
        return {
            "spa": spa,
            "owner": User.objects.get(email=f"owner@{slug}.bench.example"),
            "referrals": Referral.objects.filter(spa=spa).count(),
            "all_referrals": Referral.objects.count(),
            "spas": Spa.objects.count(),
        }


def check_services():
    """PostgreSQL and Redis must be up; say which one is not, and where the harness looked."""
    import psycopg2
    import redis
    from django.conf import settings

    try:
        database._server_connection().close()
    except psycopg2.OperationalError as error:
        raise SystemExit(f"PostgreSQL is not reachable ({error}); start it or set BENCH_DATABASE_URL.") from error
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        raise SystemExit(
            f"Redis is not reachable at {settings.REDIS_URL} ({error}); start it or set BENCH_REDIS_URL."
        ) from error


# --- the run -----------------------------------------------------------------------------------------------------


def main():
    log = print
    started = time.perf_counter()
    check_services()
    params = seed.params_from_env()
    loadavg_start = os.getloadavg()
    log("== make bench: one data set, one machine, one table ==")
    log(f"Data set (load average at start {loadavg_start[0]:.2f} {loadavg_start[1]:.2f} {loadavg_start[2]:.2f})")
    prepared = prepare_database(params, log=log)
    restored = _back_to_seeded_state(log)
    figures = big_spa_figures(seed.BIG_SLUG)
    log(
        f"  {figures['spas']} spas, {figures['all_referrals']:,} referrals in all; "
        f"{seed.BIG_SLUG}: {figures['referrals']:,} referrals"
    )
    if "--seed-only" in sys.argv:
        return 0
    rows, identities = _http_rows_and_identities()

    log("Load (latency observed by the client over loopback, from request sent to last byte read)")
    load = load_phase.run_load_phase(rows, identities=identities, log=log)
    sub_benchmarks = _sub_benchmarks(params, log)
    sql, full_counts, failed_pages = _sql_per_page(figures, log)

    app_run = next((run for run in load.runs if run["profile"] == "app"), None)
    lines = report.table_lines(
        rows,
        load.measured,
        pdf=sub_benchmarks["pdf"],
        pads=load.pads,
        emails=load.emails,
        checkins=sub_benchmarks["checkins"],
        app_run=app_run,
        worker_facts=load.worker,
    )
    facts = report.machine(load.load_samples)
    report.print_report(
        lines,
        facts,
        loadavg_start=loadavg_start,
        load_samples=load.load_samples,
        runs=load.runs,
        app_run=app_run,
        worker_facts=load.worker,
        log=log,
    )
    _write_raw_figures(
        {
            "params": seed.fingerprint(params),
            "prepared": {key: value for key, value in prepared.items() if key != "summary"},
            "restored": restored,
            "machine": {**facts, "loadavg_start": loadavg_start},
            "runs": load.runs,
            "celery_worker": load.worker,
            "pads": load.pads,
            **sub_benchmarks,
            "table": [line.__dict__ for line in lines],
            "sql": sql,
        },
        log=log,
    )
    passed = all(line.passed for line in lines) and not full_counts and not failed_pages
    log(f"make bench {'PASSED' if passed else 'MISSED a target'} in {time.perf_counter() - started:.0f} s")
    return 0 if passed else 1


def _back_to_seeded_state(log):
    """Undo what earlier runs wrote into the big spa and empty the broker's queue: {what: how many removed}."""
    restored = phases.restore_seeded_state(database.read_marker()["seeded_at"])
    restored["queued messages"] = phases.purge_broker()
    if any(restored.values()):
        log("  back to the seeded state: removed " + ", ".join(f"{n:,} {what}" for what, n in restored.items() if n))
    return restored


def _http_rows_and_identities():
    """The HTTP rows this run measures and the cookies each identity's clients send (bench.load: identities)."""
    api_body, portal_fields = phases.write_inputs()
    identities = {
        "owner": [dict([seed.owner_session(seed.BIG_SLUG)])],
        "portal": [dict([cookie]) for cookie in seed.portal_sessions(seed.BIG_SLUG)],
        "api": [{}],
    }
    queries.clear_bench_cache()
    rows = load_phase.endpoints(seed.BIG_SLUG, api_body, portal_fields)
    return load_phase.selected_rows(rows), identities


def _sub_benchmarks(params, log):
    """The PDF renderer, the check-in job and the memory probe, each in processes of its own, after the load phase:
    {"pdf", "checkins", "memory"}, None for a part BENCH_SKIP names."""
    pdf = checkins = memory = None
    if not skipped("pdf"):
        log("PDF: the safe renderer against bare WeasyPrint (bench/pdf.py, its own process)")
        pdf = phases.pdf_benchmark(log=log)
    if not skipped("checkins"):
        log(f"Check-in job over {params.checkin.practices:,} active partners (bench/checkins.py, fresh processes)")
        checkins = phases.check_in_job(timeout=env_int("BENCH_CHECKIN_TIMEOUT", 900), log=log)
    if not skipped("memory"):
        log("Memory of a web process, step by step (bench/memory.py, fresh single-threaded processes)")
        memory = phases.memory_report(log=log)
    return {"pdf": pdf, "checkins": checkins, "memory": memory}


def _sql_per_page(figures, log):
    """Each page's SQL, captured in this process: (report by page, pages with a full-table COUNT on every view,
    pages that did not answer 200). Both lists fail the run."""
    log("SQL per page (captured once in this process with django.test.Client, warm database)")
    paths = {row.name: row.path for row in load_phase.endpoints(seed.BIG_SLUG)}
    # Each page twice: after emptying the cache (what a miss costs: the dashboard's first view of the minute for
    # a user, the inbox after a referral changed) and right after (the steady state the gate applies to).
    pages = [
        ("dashboard, cache empty", paths["dashboard"], queries.clear_bench_cache),
        ("dashboard, cached", paths["dashboard"], None),
        ("inbox, cache empty", paths["inbox"], queries.clear_bench_cache),
        ("inbox, cached", paths["inbox"], None),
        ("plain list (baseline)", paths["plain list"], None),
    ]
    sql = queries.page_report(
        user=figures["owner"],
        pages=pages,
        spa_referrals=figures["referrals"],
        explain=os.environ.get("BENCH_EXPLAIN") == "1",
        log=log,
    )

    def full_counts_in(suffix):
        return sorted(
            label
            for label, page in sql.items()
            if label.endswith(suffix) and any(finding["kind"] == "full-table COUNT" for finding in page["findings"])
        )

    full_counts = full_counts_in("cached")
    if full_counts:
        log(
            "  !! full-table COUNT over the big spa's referrals on every page view (issue 8 forbids it): "
            + ", ".join(full_counts)
        )
    if full_counts_in("cache empty"):
        log("  !  full-table COUNT on a cache miss: " + ", ".join(full_counts_in("cache empty")))
    failed_pages = [label for label, page in sql.items() if page["status"] != 200]
    return sql, full_counts, failed_pages


def _write_raw_figures(figures, log):
    """Everything the table was made from, as var/bench/web-<time>.json."""
    BENCH_VAR_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    results_path = BENCH_VAR_DIR / f"web-{stamp}.json"
    results_path.write_text(json.dumps({"when": stamp, **figures}, default=str, indent=1))
    shown = results_path.relative_to(Path.cwd()) if results_path.is_relative_to(Path.cwd()) else results_path
    log(f"  raw figures: {shown}")


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # so the finally clauses stop gunicorn and the worker


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted; the benchmark's servers are stopped.", file=sys.stderr)
        sys.exit(130)
