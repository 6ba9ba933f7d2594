"""The SQL a page runs, captured once in this process with django.test.Client against the bench database.

For each page: the number of queries, their total time, the slowest three; and, for every SELECT that reads
referrals, the rows PostgreSQL actually read from the referrals table (EXPLAIN ANALYZE). A query that counts
(COUNT) and reads at least half of the spa's referrals is a full-table count, which issue 8 forbids on a page
view; other queries reading that much are reported as full scans.
"""

import json
import re
import time

from django.conf import settings
from django.db import connection
from django.test import Client

from spas.rls import without_tenant_prefix

REFERRAL_TABLE = "referrals_referral"
FULL_SHARE = 0.5
SCAN_NODES = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Parallel Seq Scan"}


def clear_bench_cache():
    """Delete this benchmark's cache keys (prefix ``spa-bench``) and nothing else in that Redis database."""
    import redis

    location = settings.CACHES["default"].get("LOCATION")
    prefix = settings.CACHES["default"].get("KEY_PREFIX")
    if not location or not prefix or "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return 0
    client = redis.Redis.from_url(location)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)


class QueryRecorder:
    """connection.execute_wrapper that times each query with perf_counter (CaptureQueriesContext rounds to
    the millisecond) and keeps the SQL exactly as sent, parameters interpolated, for EXPLAIN."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            cursor = context["cursor"]
            final = connection.ops.last_executed_query(cursor, sql, params) if not many else sql
            # Without the tenant setting spas.rls sends in front of the statement, so EXPLAIN gets one.
            final = without_tenant_prefix(final)
            self.queries.append({"sql": final, "ms": elapsed})


def capture(client, path):
    """(status, [{"sql", "ms"}]) for one GET through the whole middleware stack."""
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        response = client.get(path)
    return response.status_code, recorder.queries


def _walk(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from _walk(child)


def referral_rows_read(sql):
    """Rows PostgreSQL read from the referrals table running ``sql`` (scanned, including those filtered out)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        document = cursor.fetchone()[0]
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    rows = 0
    for node in _walk(plan):
        if node.get("Node Type") in SCAN_NODES and node.get("Relation Name") == REFERRAL_TABLE:
            read = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            rows += read * node.get("Actual Loops", 1)
    return rows


def explain_text(sql):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _is_select(sql):
    return re.match(r"\s*(SELECT|WITH)\b", sql, re.IGNORECASE) is not None


def analyse(queries, *, spa_referrals):
    """Flag counts and scans over at least half of the spa's referrals."""
    findings = []
    for index, query in enumerate(queries):
        sql = query["sql"]
        if not _is_select(sql) or REFERRAL_TABLE not in sql:
            continue
        rows = referral_rows_read(sql)
        query["referral_rows_read"] = rows
        if rows >= FULL_SHARE * spa_referrals:
            counts = re.search(r"\bCOUNT\s*\(", sql, re.IGNORECASE) is not None
            findings.append({"index": index, "kind": "full-table COUNT" if counts else "full scan", "rows": rows})
    return findings


def page_report(*, user, pages, spa_referrals, explain=False, log=print):
    """Capture, print and return the SQL of each (label, path, before) page; ``before()`` runs first (cache)."""
    client = Client()
    client.force_login(user)
    report = {}
    for label, path, before in pages:
        if before:
            before()
        status, queries = capture(client, path)
        findings = analyse(queries, spa_referrals=spa_referrals) if status == 200 else []
        total = sum(query["ms"] for query in queries)
        log(f"  {label} — GET {path}: HTTP {status}, {len(queries)} queries, {total:.1f} ms in SQL")
        for rank, query in enumerate(sorted(queries, key=lambda query: -query["ms"])[:3], 1):
            log(f"    {rank}. {query['ms']:7.1f} ms  {_shorten(query['sql'])}")
        for finding in findings:
            query = queries[finding["index"]]
            mark = "  " if "baseline" in label else "!!"  # a ListView counts its rows for "page N of M"
            log(
                f"    {mark} {finding['kind']}: query {finding['index'] + 1} reads {finding['rows']:,} referral rows"
                f" ({query['ms']:.1f} ms): {_shorten(query['sql'], 160)}"
            )
        if not findings and status == 200:
            log(f"    no query reads half or more of the spa's {spa_referrals:,} referrals")
        if explain:
            for query in sorted(queries, key=lambda query: -query["ms"])[:3]:
                if _is_select(query["sql"]):
                    log("    --- EXPLAIN (ANALYZE, BUFFERS) " + _shorten(query["sql"], 100))
                    log("    " + explain_text(query["sql"]).replace("\n", "\n    "))
        report[label] = {"path": path, "status": status, "queries": queries, "findings": findings, "sql_ms": total}
    return report


def _shorten(sql, width=120):
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 1] + "…"
