"""`make bench`, the web part: seed (or reuse) the bench database, serve the app under gunicorn on loopback,
drive it from a separate load-generator process, print one table, then the SQL each page runs.

    make bench                       # everything, then bench/pdf.py
    BENCH_RESEED=1 make bench        # drop and seed the bench database again
    BENCH_DURATION=40 make bench     # seconds measured per endpoint (default 20, in BENCH_ROUNDS=2 passes)
    BENCH_REQUESTS=2000 make bench   # or a fixed number of requests per endpoint
    BENCH_EXPLAIN=1 make bench       # also EXPLAIN ANALYZE the slowest queries of each page
    .venv/bin/python -m bench.run --seed-only   # just seed (or check) the bench database

Other knobs: BENCH_CONCURRENCY (8), BENCH_WARMUP (3 s), BENCH_WORKERS / BENCH_THREADS (gunicorn, 2 × 4),
BENCH_REFERRALS / BENCH_PRACTICES (the big spa's size), BENCH_ONLY="inbox,dashboard" (those rows and their
baselines), BENCH_MAX_AGE_DAYS (7: reseed a data set older than
that, since "this month" and "overdue" are relative to the day it was seeded), BENCH_DATABASE_URL,
BENCH_REDIS_URL. Exit status 1 when a target is missed or a request failed, after printing everything.
"""

import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402

from bench import database, queries, seed  # noqa: E402
from bench.server import Gunicorn, die_with_parent  # noqa: E402
from bench.settings import BENCH_VAR_DIR  # noqa: E402

TARGET_P95_MS = 100.0
TARGET_RATIO = 2.0


def _env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


@dataclass
class Endpoint:
    name: str
    path: str
    expect: str = ""
    baseline: str | None = None  # the row whose p95 this one is compared with; None: it is a baseline
    profile: str = "app"  # which server runs it (see PROFILES)
    gated: bool = True  # False: a miss is shown but does not fail `make bench`
    method: str = "GET"
    body: object = None
    headers: dict = field(default_factory=dict)

    def spec(self):
        return {
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "expect": self.expect,
            "body": self.body,
            "headers": self.headers,
        }


# Server profiles: environment for bench.settings. "app" is production-like (Redis cache); "cache off" shows what
# a page costs when its cache misses (a user's first visit of the morning).
PROFILES = {"app": {}, "cache off": {"BENCH_CACHE": "off"}}


def endpoints(slug):
    workspace = f"/s/{slug}"
    return [
        Endpoint("plain list", f"{workspace}/bench/plain-list/", expect="<td>"),
        Endpoint("plain list page 2", f"{workspace}/bench/plain-list/?page=2", expect="<td>"),
        Endpoint("dashboard", f"{workspace}/", expect="</html>", baseline="plain list"),
        Endpoint("inbox", f"{workspace}/referrals/", expect="data-referral=", baseline="plain list"),
        Endpoint(
            "inbox page 2", f"{workspace}/referrals/?page=2", expect="data-referral=", baseline="plain list page 2"
        ),
        # Cache misses, shown but not gated: the dashboard's figures are cached per spa and recomputed by one
        # viewer a minute while the others see the previous ones; the inbox's counts are cached per spa
        # until a referral changes. A miss is the exception on both.
        Endpoint(
            "dashboard (cache off)",
            f"{workspace}/",
            expect="</html>",
            baseline="plain list",
            profile="cache off",
            gated=False,
        ),
        Endpoint(
            "inbox (cache off)",
            f"{workspace}/referrals/",
            expect="data-referral=",
            baseline="plain list",
            profile="cache off",
            gated=False,
        ),
    ]


# --- the data set ------------------------------------------------------------------------------------------------


def prepare_database(params, log=print):
    """Reuse the seeded database when its marker matches these parameters; otherwise drop, migrate, seed."""
    wanted = seed.fingerprint(params)
    max_age = datetime.timedelta(days=_env_int("BENCH_MAX_AGE_DAYS", 7))
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


# --- load --------------------------------------------------------------------------------------------------------


class LoadSampler:
    """Samples the 1-minute load average every second while a block runs."""

    def __init__(self):
        self.samples = []
        self._stop = threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()


def run_load(profile, rows, *, cookie, log=print):
    """Start gunicorn for ``profile``, run bench/load.py over ``rows`` in a separate process, stop gunicorn."""
    workers = _env_int("BENCH_WORKERS", 2)
    threads = _env_int("BENCH_THREADS", 4)
    log_path = BENCH_VAR_DIR / f"gunicorn-{profile.replace(' ', '-')}.log"
    with Gunicorn(workers=workers, threads=threads, env_overrides=PROFILES[profile], log_path=log_path) as server:
        server.wait_ready()
        spec = {
            "base_url": server.base_url,
            "concurrency": _env_int("BENCH_CONCURRENCY", 8),
            "duration": _env_int("BENCH_DURATION", 20),
            "requests": _env_int("BENCH_REQUESTS", 0) or None,
            "warmup": _env_int("BENCH_WARMUP", 3),
            "rounds": _env_int("BENCH_ROUNDS", 2),
            "balance_workers": workers,
            "headers": {"Cookie": f"{cookie[0]}={cookie[1]}"},
            "endpoints": [row.spec() for row in rows],
        }
        log(
            f"  [{profile}] gunicorn gthread {workers} workers × {threads} threads on {server.base_url}; "
            f"{spec['concurrency']} clients, {spec['rounds']} rounds"
        )
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec_file:
            json.dump(spec, spec_file)
        try:
            with LoadSampler() as load:
                completed = subprocess.run(  # noqa: S603 - our own load generator
                    [sys.executable, "-m", "bench.load", spec_file.name],
                    cwd=Path(__file__).resolve().parent.parent,
                    capture_output=True,
                    text=True,
                    check=False,
                    preexec_fn=die_with_parent,  # noqa: PLW1509 - prctl only, before exec
                )
        finally:
            os.unlink(spec_file.name)
            memory = server.memory()
        sys.stderr.write(completed.stderr)
        if completed.returncode != 0:
            raise RuntimeError(f"bench/load.py failed ({completed.returncode}); gunicorn log:\n{server.log_tail()}")
        results = json.loads(completed.stdout)
    results["profile"] = profile
    results["gunicorn"] = {"workers": workers, "threads": threads, "master_pid": server.process.pid}
    results["memory_kib"] = {str(pid): usage for pid, usage in memory.items()}
    results["loadavg_samples"] = load.samples
    return results


# --- the table ---------------------------------------------------------------------------------------------------


def verdicts(rows, measured):
    """Per row: (ratio of p95 to its baseline's p95, verdict text, passed)."""
    out = {}
    for row in rows:
        if row.name not in measured:
            continue
        result = measured[row.name]
        if result["failures"]:
            out[row.name] = (None, f"FAIL ({result['failures']} failed requests)", False)
            continue
        if row.baseline is None:
            out[row.name] = (None, "baseline", True)
            continue
        baseline = measured[row.baseline]
        ratio = result["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else None
        ratio_ok = ratio is not None and ratio <= TARGET_RATIO
        absolute_ok = result["p95_ms"] < TARGET_P95_MS
        # On a loaded machine the plain ListView itself can be over 100 ms at p95; then the absolute target
        # says nothing about the page and the ratio (same run, same machine) is the judge. Shown as such.
        baseline_over = baseline["p95_ms"] >= TARGET_P95_MS
        passed = ratio_ok and (absolute_ok or baseline_over)
        if passed:
            verdict = "PASS" if absolute_ok else "PASS (ratio; baseline also ≥ 100 ms)"
        else:
            verdict = "MISS" if row.gated else "miss (not gated)"
        out[row.name] = (ratio, verdict, passed or not row.gated)
    return out


def print_table(rows, measured, outcome, log=print):
    header = (
        f"  {'endpoint':<22} {'median ms':>9} {'p95 ms':>8} {'req/s':>7} {'p95 ratio':>9} {'server p95':>10} "
        f"{'KB':>6}  {'target':<21} result"
    )
    log(header)
    log("  " + "-" * (len(header) - 2))
    for row in rows:
        if row.name not in measured:
            continue
        result = measured[row.name]
        ratio, verdict, _passed = outcome[row.name]
        target = "baseline" if row.baseline is None else f"p95 < {TARGET_P95_MS:.0f} ms, ≤ {TARGET_RATIO:g}×"
        server_p95 = result["server_p95_ms"]
        log(
            f"  {row.name:<22} {result['median_ms']:>9.1f} {result['p95_ms']:>8.1f} {result['rps']:>7.1f} "
            f"{(f'{ratio:.2f}×' if ratio else '—'):>9} {(f'{server_p95:.1f}' if server_p95 else '—'):>10} "
            f"{result['bytes_median'] / 1024:>6.0f}  {target:<21} {verdict}"
        )
    log(
        "  p95 ratio: the row's p95 ÷ the plain list's p95 in the same run (page 2: ÷ the plain list's page 2);"
        " server p95: Django's own time (Server-Timing), without gunicorn's queue"
    )


def machine(load_samples):
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "postgres": postgres,
        "loadavg_end": os.getloadavg(),
        "loadavg_during": {
            "mean": statistics.mean(load_samples) if load_samples else None,
            "max": max(load_samples) if load_samples else None,
        },
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


def main():
    log = print
    started = time.perf_counter()
    check_services()
    params = seed.params_from_env()
    loadavg_start = os.getloadavg()
    log("== Web benchmark: dashboard and inbox at scale ==")
    log(f"Data set (load average at start {loadavg_start[0]:.2f} {loadavg_start[1]:.2f} {loadavg_start[2]:.2f})")
    prepared = prepare_database(params, log=log)
    figures = big_spa_figures(seed.BIG_SLUG)
    log(
        f"  {figures['spas']} spas, {figures['all_referrals']:,} referrals in all; "
        f"{seed.BIG_SLUG}: {figures['referrals']:,} referrals"
    )
    if "--seed-only" in sys.argv:
        return 0
    cookie = seed.owner_session(seed.BIG_SLUG)
    queries.clear_bench_cache()
    rows = endpoints(seed.BIG_SLUG)
    if os.environ.get("BENCH_ONLY"):  # e.g. BENCH_ONLY="inbox" (the baselines always run)
        wanted = {name.strip() for name in os.environ["BENCH_ONLY"].split(",")}
        wanted |= {row.baseline for row in rows if row.name in wanted and row.baseline}
        rows = [row for row in rows if row.name in wanted]
    log("Load (latency observed by the client over loopback, from request sent to last byte read)")
    measured, runs = {}, []
    for profile in PROFILES:
        profile_rows = [row for row in rows if row.profile == profile]
        if not profile_rows:
            continue
        run = run_load(profile, profile_rows, cookie=cookie, log=log)
        runs.append(run)
        measured.update({result["name"]: result for result in run["endpoints"]})
    outcome = verdicts(rows, measured)
    log("")
    print_table(rows, measured, outcome, log=log)
    log("")
    load_samples = [sample for run in runs for sample in run["loadavg_samples"]]
    facts = machine(load_samples)
    app_run = runs[0]
    workers_rss = [
        usage[1] / 1024 for pid, usage in app_run["memory_kib"].items() if int(pid) != app_run["gunicorn"]["master_pid"]
    ]
    log(
        f"  machine: nproc {facts['nproc']}, {facts['cpu_model']}; PostgreSQL {facts['postgres']}, "
        f"Python {facts['python']}"
    )
    log(
        f"  load average during the load: mean {facts['loadavg_during']['mean']:.2f}, "
        f"max {facts['loadavg_during']['max']:.2f} (1-minute, on {facts['nproc']} CPUs)"
    )
    cpu_share = max(r["load_generator_cpu_share"] or 0 for run in runs for r in run["endpoints"])
    log(
        f"  load generator: {app_run['concurrency']} keep-alive connections, per gunicorn worker "
        f"{sorted(app_run['connections_per_worker'].values())}; its own CPU at most {cpu_share:.0%} of a core"
    )
    if workers_rss:
        log(f"  gunicorn worker peak RSS: {', '.join(f'{rss:.0f} MB' for rss in workers_rss)}")

    log("SQL per page (captured once in this process with django.test.Client, warm database)")
    paths = {row.name: row.path for row in endpoints(seed.BIG_SLUG)}
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

    BENCH_VAR_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    results_path = BENCH_VAR_DIR / f"web-{stamp}.json"
    results_path.write_text(
        json.dumps(
            {
                "when": stamp,
                "params": seed.fingerprint(params),
                "prepared": {key: value for key, value in prepared.items() if key != "summary"},
                "machine": {**facts, "loadavg_start": loadavg_start},
                "runs": runs,
                "verdicts": {
                    name: {"ratio": ratio, "verdict": verdict} for name, (ratio, verdict, _p) in outcome.items()
                },
                "sql": sql,
            },
            default=str,
            indent=1,
        )
    )
    shown = results_path.relative_to(Path.cwd()) if results_path.is_relative_to(Path.cwd()) else results_path
    log(f"  raw figures: {shown}")
    passed = all(passed for _ratio, _verdict, passed in outcome.values()) and not full_counts and not failed_pages
    log(f"Web benchmark {'PASSED' if passed else 'MISSED a target'} in {time.perf_counter() - started:.0f} s")
    return 0 if passed else 1


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # so the finally clauses stop gunicorn


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted; the benchmark's servers are stopped.", file=sys.stderr)
        sys.exit(130)
