"""The load phase of `make bench`: the HTTP rows (what each requests, whose session sends it), measured under
gunicorn by bench/load.py in a process of its own, with a Celery worker up the whole time; with the worker still
up, the pads it renders and the emails it sends are measured too.

bench/run.py calls run_load_phase() once; the figures go into its table (bench/report.py).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone

from bench import phases, seed
from bench.knobs import env_int, skipped
from bench.report import TARGET_CACHE_OFF_RATIO, TARGET_RATIO
from bench.server import CeleryWorker, Gunicorn, die_with_parent
from bench.settings import BENCH_VAR_DIR


@dataclass
class Endpoint:
    name: str
    path: str
    expect: str = ""
    baseline: str | None = None  # the row this one is compared with; None: it is a baseline (or stands alone)
    profile: str = "app"  # which server runs it (see PROFILES)
    gated: bool = True  # False: a miss is shown but does not fail `make bench`
    method: str = "GET"
    body: object = None
    headers: dict = field(default_factory=dict)
    identity: str = "owner"  # whose cookies (bench.load: identities)
    expect_status: int = 200
    expect_location: str | None = None
    fresh_headers: tuple = ()
    form: dict | None = None
    group: str = "read"  # rows of a group run together; "write" rows after every "read" row of their profile
    kind: str = "page"  # "page": p95 vs the baseline's p95 and < 100 ms; "write": throughput and p95 vs baseline
    max_ratio: float = TARGET_RATIO  # a page's p95 ÷ its baseline's p95, at most
    absolute: bool = True  # False: a page is judged on the ratio alone (no "p95 < 100 ms")

    def spec(self):
        return {
            "name": self.name,
            "method": self.method,
            "path": self.path,
            "expect": self.expect,
            "body": self.body,
            "headers": self.headers,
            "identity": self.identity,
            "expect_status": self.expect_status,
            "expect_location": self.expect_location,
            "fresh_headers": list(self.fresh_headers),
            "form": self.form,
        }


# Server profiles: environment for bench.settings. "app" is production-like (Redis cache); "cache off" shows what
# a page costs when its cache misses (a user's first visit of the morning).
PROFILES = {"app": {}, "cache off": {"BENCH_CACHE": "off"}}


def endpoints(slug, api_body=None, portal_fields=None):
    workspace = f"/s/{slug}"
    api_headers = {"Authorization": f"Bearer {seed.BENCH_API_KEY}"}
    rows = [
        Endpoint("plain list", f"{workspace}/bench/plain-list/", expect="<td>"),
        Endpoint("plain list page 2", f"{workspace}/bench/plain-list/?page=2", expect="<td>"),
        Endpoint("dashboard", f"{workspace}/", expect="</html>", baseline="plain list"),
        Endpoint("inbox", f"{workspace}/referrals/", expect="data-referral=", baseline="plain list"),
        Endpoint(
            "inbox page 2", f"{workspace}/referrals/?page=2", expect="data-referral=", baseline="plain list page 2"
        ),
        # Writes, after the pages (their referrals and emails must not change what the pages read).
        Endpoint(
            "bare DRF insert",
            "/api/bench/insert-one/",
            method="POST",
            body={"message": "one row"},
            headers=api_headers,
            identity="api",
            expect_status=201,
            expect='"id"',
            group="write",
        ),
        Endpoint(
            "API referral create",
            "/api/v1/referrals/",
            method="POST",
            body=api_body,
            headers=api_headers,
            identity="api",
            expect_status=201,
            expect='"first_contact_due_at"',
            fresh_headers=("Idempotency-Key",),
            baseline="bare DRF insert",
            group="write",
            kind="write",
        ),
        Endpoint(
            "portal form submit",
            f"/portal/{slug}/referrals/new/",
            method="POST",
            identity="portal",
            expect_status=302,
            expect_location=f"/portal/{slug}/referrals/sent/",
            form={"path": f"/portal/{slug}/referrals/new/", "fields": portal_fields or {}},
            group="write",
            gated=False,
        ),
        # Cache off: every request computes the page's figures, as the first viewer after a change does. Since
        # issue 15 they come from the maintained aggregates, so the page costs about as much as a cached one;
        # gated at ≤ 3× the plain list's p95 (no absolute target: a miss is the exception).
        Endpoint(
            "dashboard (cache off)",
            f"{workspace}/",
            expect="</html>",
            baseline="plain list",
            profile="cache off",
            max_ratio=TARGET_CACHE_OFF_RATIO,
            absolute=False,
        ),
        Endpoint(
            "inbox (cache off)",
            f"{workspace}/referrals/",
            expect="data-referral=",
            baseline="plain list",
            profile="cache off",
            max_ratio=TARGET_CACHE_OFF_RATIO,
            absolute=False,
        ),
    ]
    return rows


def selected_rows(rows):
    """The rows this run measures: BENCH_ONLY's (with their baselines) and without the cache-off ones when
    BENCH_SKIP names "cache off"."""
    if os.environ.get("BENCH_ONLY"):  # e.g. BENCH_ONLY="inbox" (the baselines always run)
        wanted = {name.strip() for name in os.environ["BENCH_ONLY"].split(",")}
        wanted |= {row.baseline for row in rows if row.name in wanted and row.baseline}
        rows = [row for row in rows if row.name in wanted]
    if skipped("cache off"):
        rows = [row for row in rows if row.profile != "cache off"]
    return rows


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


def _load_generator(spec, server, log):
    """bench/load.py over ``spec`` in its own process: its results (raises with gunicorn's log on failure)."""
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
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/load.py failed ({completed.returncode}); gunicorn log:\n{server.log_tail()}")
    results = json.loads(completed.stdout)
    results["loadavg_samples"] = load.samples
    return results


def run_load(profile, rows, *, identities, log=print, after_group=None):
    """Start gunicorn for ``profile``, run bench/load.py once per group of ``rows`` (reads, then writes), stop it.

    ``after_group(group)`` runs after each group with gunicorn still up (the harness waits for the worker)."""
    workers = env_int("BENCH_WORKERS", 2)
    threads = env_int("BENCH_THREADS", 4)
    log_path = BENCH_VAR_DIR / f"gunicorn-{profile.replace(' ', '-')}.log"
    groups = list(dict.fromkeys(row.group for row in rows))
    with Gunicorn(workers=workers, threads=threads, env_overrides=PROFILES[profile], log_path=log_path) as server:
        server.wait_ready()
        base = {
            "base_url": server.base_url,
            "concurrency": env_int("BENCH_CONCURRENCY", 8),
            "duration": env_int("BENCH_DURATION", 20),
            "requests": env_int("BENCH_REQUESTS", 0) or None,
            "warmup": env_int("BENCH_WARMUP", 3),
            "rounds": env_int("BENCH_ROUNDS", 2),
            "balance_workers": workers,
            "identities": identities,
        }
        log(
            f"  [{profile}] gunicorn gthread {workers} workers × {threads} threads on {server.base_url}; "
            f"{base['concurrency']} clients, {base['rounds']} rounds"
        )
        results = {"endpoints": [], "loadavg_samples": [], "groups": {}}
        try:
            for group in groups:
                spec = {**base, "endpoints": [row.spec() for row in rows if row.group == group]}
                group_started = timezone.now()
                part = _load_generator(spec, server, log)
                results["endpoints"] += part.pop("endpoints")
                results["loadavg_samples"] += part.pop("loadavg_samples")
                results["groups"][group] = part
                for key in ("concurrency", "rounds", "connections_per_worker"):
                    results.setdefault(key, part[key])
                if after_group:
                    results["groups"][group]["after"] = after_group(group, group_started)
        finally:
            memory = server.memory()
    results["profile"] = profile
    results["gunicorn"] = {"workers": workers, "threads": threads, "master_pid": server.process.pid}
    results["memory"] = {str(pid): usage for pid, usage in memory.items()}
    return results


@dataclass
class LoadPhase:
    """What run_load_phase() measured."""

    measured: dict  # row name: bench/load.py's figures for it
    runs: list  # one run_load() result per server profile that had rows
    pads: dict | None  # phases.pads_via_worker()'s figures (None when skipped)
    emails: dict | None  # phases.emails_via_worker()'s figures (None when skipped)
    worker: dict  # the Celery worker's memory per process, CPU seconds used during the phase, main pid

    @property
    def load_samples(self):
        """The 1-minute load averages sampled while the load generator ran, over every profile."""
        return [sample for run in self.runs for sample in run["loadavg_samples"]]


def run_load_phase(rows, *, identities, log=print):
    """Start a Celery worker; measure ``rows`` profile by profile (run_load); with the worker still up, the pads
    (after the "app" profile) and the emails; stop the worker. Pads and emails run here, not later, because the
    worker is what they measure."""
    measured, runs, pads = {}, [], None
    concurrency = env_int("BENCH_CELERY_CONCURRENCY", 2)
    with CeleryWorker(concurrency=concurrency, log_path=BENCH_VAR_DIR / "celery-worker.log") as worker:
        worker.wait_ready()
        log(f"  Celery worker (prefork, {concurrency} processes) consuming from {phases.broker_location()}")
        cpu_before = worker.cpu_seconds()

        def after_group(group, since):
            # The emails the writes queued are really sent (docs/benchmarks.md, the Celery worker): wait for them.
            if group != "write":
                return None
            drained = phases.wait_outbox_drained(since)
            log(
                f"  the Celery worker sent {drained['sent']:,} of the {drained['emails']:,} emails the writes queued "
                f"(waited {drained['wait_s']:.1f} s after the load for the last)"
            )
            return drained

        for profile in PROFILES:
            profile_rows = [row for row in rows if row.profile == profile]
            if not profile_rows:
                continue
            run = run_load(profile, profile_rows, identities=identities, log=log, after_group=after_group)
            runs.append(run)
            measured.update({result["name"]: result for result in run["endpoints"]})
            if profile == "app" and not skipped("pads"):
                pads = phases.pads_via_worker(env_int("BENCH_PADS", 6))
                log(
                    f"  the Celery worker rendered {pads['ready']} of {pads['documents']} referral pads "
                    f"({pads['pages_each']} pages each)" + (f"; failed: {pads['failed']}" if pads["failed"] else "")
                )
        emails = None
        if not skipped("emails"):
            emails = phases.emails_via_worker(worker.cpu_seconds, count=env_int("BENCH_EMAILS", 1000))
            log(
                f"  the Celery worker sent {emails['sent']:,} of {emails['emails']:,} queued emails in "
                f"{emails['wall_s']:.1f} s using {emails['worker_cpu_s']:.1f} s of CPU"
            )
        worker_facts = {
            "memory": {str(pid): usage for pid, usage in worker.memory().items()},
            "cpu_s": worker.cpu_seconds() - cpu_before,
            "main_pid": worker.process.pid,
        }
    return LoadPhase(measured=measured, runs=runs, pads=pads, emails=emails, worker=worker_facts)
