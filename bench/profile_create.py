"""Where an API referral create spends its time in-process, against the bare DRF insert (issue 15).

    python -m bench.profile_create [N]      # default 300 requests of each, after 30 of warm-up

Runs on the seeded bench database (`make bench` seeds it), one process, no concurrency: each request goes
through Django's full stack (middleware, DRF, the app) with the bench API key, as gunicorn would run it,
including the request-start connection check. Three passes per endpoint, alternating:

1. timed: wall milliseconds per request (median, p95) and SQL statements and SQL milliseconds per request;
2. profiled (cProfile): the share of the request's time in each part of the create (below), by cumulative
   time of the function that does that part. The profiler slows Python, not PostgreSQL, so its shares
   overstate Python a little; the timed pass is the one for absolute figures.

The referrals, emails, audit events and idempotency records it writes are removed afterwards (as `make bench`
does before each run), so the data set stays as seeded.
"""

import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench import database, phases, seed  # noqa: E402

WARM_UP = 30

# (label, file suffix, function name): the parts of a create, by the function that does each.
PARTS = [
    ("whole request (Django handler)", "django/core/handlers/base.py", "get_response"),
    ("connection check at request start", "django/db/backends/base/base.py", "close_if_unusable_or_obsolete"),
    ("  first cursor's health check (infra: socket poll)", "infra/postgresql/base.py", "close_if_health_check_failed"),
    (
        "  first cursor's health check (Django: SELECT 1)",
        "django/db/backends/base/base.py",
        "close_if_health_check_failed",
    ),
    ("API key authentication", "referrals/api/auth.py", "authenticate"),
    ("per-key throttle", "referrals/api/throttles.py", "allow_request"),
    ("idempotency wrapper (all of it)", "referrals/api/idempotency.py", "idempotent_call"),
    ("input validation (serializer)", "rest_framework/serializers.py", "is_valid"),
    ("referral_create (checks + writes)", "referrals/services.py", "referral_create"),
    ("  new-referral notification (recipients + outbox rows)", "referrals/services.py", "_notify_new_referral"),
    ("    email rendering (3 templates per email)", "infra/outbox.py", "render_email"),
    ("    outbox row insert", "infra/outbox.py", "email_enqueue_rendered"),
    ("  commit", "django/db/backends/base/base.py", "commit"),
    ("after-commit callbacks (drain request)", "django/db/backends/base/base.py", "run_and_clear_commit_hooks"),
    ("  drain request (cache flag + broker publish)", "infra/outbox.py", "_request_delivery"),
    ("response body (output serializer)", "rest_framework/serializers.py", "data"),
    ("JSON rendering", "rest_framework/renderers.py", "render"),
    ("SQL execute (all statements)", "django/db/backends/utils.py", "_execute"),
    ("  row-level-security tenant wrapper", "spas/rls.py", "assert_tenant"),
]


class SqlCounter:
    def __init__(self):
        self.statements = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.statements += 1


def _requests(api_body):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {seed.BENCH_API_KEY}"}
    client = Client()

    def create():
        response = client.post(
            "/api/v1/referrals/",
            api_body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            **headers,
        )
        assert response.status_code == 201, response.content[:500]

    def bare():
        response = client.post(
            "/api/bench/insert-one/", {"message": "one row"}, content_type="application/json", **headers
        )
        assert response.status_code == 201, response.content[:500]

    return {"API referral create": create, "bare DRF insert": bare}


def _serve(request):
    """One request as a WSGI server runs it: connection bookkeeping before and after (the test client skips it)."""
    close_old_connections()
    request()
    close_old_connections()


def timed(request, n):
    counter = SqlCounter()
    walls = []
    with connection.execute_wrapper(counter):
        for _ in range(n):
            started = time.perf_counter()
            _serve(request)
            walls.append((time.perf_counter() - started) * 1000)
    walls.sort()
    return {
        "median_ms": statistics.median(walls),
        "p95_ms": walls[int(0.95 * (len(walls) - 1))],
        "statements": counter.statements / n,
        "sql_ms": counter.seconds * 1000 / n,
    }


def profiled(request, n):
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        _serve(request)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.values())
    found = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        for label, suffix, function in PARTS:
            if suffix and filename.endswith(suffix) and name == function:
                found[label] = found.get(label, 0.0) + ct
    return {"parts": found, "whole_s": found.get(PARTS[0][0]) or total}


def print_split(name, timing, profile, n):
    print(f"\n== {name}: {n} requests ==")
    print(
        f"  wall per request: median {timing['median_ms']:.1f} ms, p95 {timing['p95_ms']:.1f} ms; "
        f"{timing['statements']:.1f} SQL statements, {timing['sql_ms']:.1f} ms in SQL"
    )
    whole = profile["whole_s"]
    print(f"  profiled: {whole * 1000 / n:.1f} ms per request under cProfile; share of the whole request:")
    for label, _suffix, _function in PARTS:
        seconds = profile["parts"].get(label)
        if seconds is None:
            continue
        print(f"    {label:<58} {seconds * 1000 / n:7.2f} ms  {100 * seconds / whole:5.1f} %")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    marker = database.read_marker()
    if marker is None:
        sys.exit("The bench database is not seeded: run `make bench` (or `python -m bench.run --seed-only`) first.")
    api_body, _portal_fields = phases.write_inputs()
    requests = _requests(api_body)
    try:
        for request in requests.values():
            for _ in range(WARM_UP):
                _serve(request)
        results = {name: {"timing": timed(request, n)} for name, request in requests.items()}
        for name, request in requests.items():
            results[name]["profile"] = profiled(request, n)
        for name, result in results.items():
            print_split(name, result["timing"], result["profile"], n)
        create, bare = results["API referral create"]["timing"], results["bare DRF insert"]["timing"]
        print(
            f"\n  create ÷ bare (single client, in-process): {create['median_ms'] / bare['median_ms']:.2f}× median "
            f"wall, {create['statements'] / bare['statements']:.1f}× statements"
        )
    finally:
        restored = phases.restore_seeded_state(marker["seeded_at"])
        restored["queued messages"] = phases.purge_broker()
        print("  back to the seeded state: removed " + ", ".join(f"{n:,} {what}" for what, n in restored.items() if n))


if __name__ == "__main__":
    main()
