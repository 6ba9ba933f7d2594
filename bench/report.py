"""The one table `make bench` prints: a row per figure, the target (gate) each row is judged by, and the lines
around the table (the machine, the load average, the load generator).

bench/run.py collects the figures and calls table_lines(), then print_report(); a row with ``passed=False`` (a
missed target or a failed request) makes the run exit 1. Every cell is text by the time it is a Row, so the JSON
of raw figures (var/bench/web-<time>.json) stores the table exactly as printed.
"""

import datetime
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

from bench import phases

TARGET_P95_MS = 100.0
TARGET_RATIO = 2.0
# API create against the bare insert (issue 15): gated at ≥ 0.35× its requests/s and ≤ 3× its p95; the stretch
# line (0.60× / 2×, issue 9's first target) is printed beside it, not gated.
TARGET_WRITE_THROUGHPUT = 0.35
TARGET_WRITE_P95_RATIO = 3.0
STRETCH_WRITE_THROUGHPUT = 0.60
STRETCH_WRITE_P95_RATIO = 2.0
# A page with its cache off (figures read from the maintained aggregates, issue 15) against the plain list.
TARGET_CACHE_OFF_RATIO = 3.0
TARGET_PDF_RATIO = 1.2  # bench/pdf.py's own gate
TARGET_CHECKIN_S = 10.0
TARGET_WEB_RSS_MB = 150.0


@dataclass
class Row:
    """One line of the table; every cell is already text (HTTP rows in ms, the others carry their unit)."""

    name: str
    p50: str = "—"
    p95: str = "—"
    rate: str = "—"
    ratio: str = "—"
    server_p95: str = "—"
    size: str = "—"
    target: str = "—"
    result: str = "—"
    passed: bool = True  # False fails `make bench`


def _ms(value):
    return "—" if value is None else f"{value:,.1f}"


def http_rows(rows, measured):
    """The table's rows for the HTTP endpoints, with their verdicts."""
    out = []
    for row in rows:
        if row.name not in measured:
            continue
        result = measured[row.name]
        line = Row(
            row.name,
            p50=_ms(result["median_ms"]),
            p95=_ms(result["p95_ms"]),
            rate=f"{result['rps']:,.1f}/s",
            server_p95=_ms(result["server_p95_ms"]),
            size=f"{result['bytes_median'] / 1024:.1f}",
        )
        baseline = measured.get(row.baseline) if row.baseline else None
        if result["failures"]:
            kinds = "; ".join(f"{kind} ×{n}" for kind, n in list(result["failure_kinds"].items())[:2])
            line.result, line.passed = f"FAIL ({result['failures']} failed: {kinds})", False
        elif row.baseline is None:
            line.result = "baseline" if row.gated else "measured (no target)"
            line.target = "—" if row.gated else "not gated"
        elif baseline is None:
            line.result = "no baseline measured"
        elif row.kind == "write":
            out.extend(_write_verdict(line, row, result, baseline))
            continue
        else:
            _page_verdict(line, row, result, baseline)
        out.append(line)
        if row.form and result.get("form_get_median_ms") is not None:
            out.append(
                Row(
                    "  its form GET",
                    p50=_ms(result["form_get_median_ms"]),
                    p95=_ms(result["form_get_p95_ms"]),
                    target="not gated",
                    result="measured (no target)",
                )
            )
    return out


def _write_verdict(line, row, result, baseline):
    """A write row against its baseline (gated), and the stretch line beside it (not gated)."""
    throughput = result["rps"] / baseline["rps"] if baseline["rps"] else 0.0
    p95_ratio = result["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else float("inf")
    line.ratio = f"{throughput:.2f}× rps, {p95_ratio:.2f}× p95"
    line.target = f"≥ {TARGET_WRITE_THROUGHPUT:.2f}× rps, ≤ {TARGET_WRITE_P95_RATIO:g}× p95"
    passed = throughput >= TARGET_WRITE_THROUGHPUT and p95_ratio <= TARGET_WRITE_P95_RATIO
    line.result = "PASS" if passed else ("MISS" if row.gated else "miss (not gated)")
    line.passed = passed or not row.gated
    stretch = throughput >= STRETCH_WRITE_THROUGHPUT and p95_ratio <= STRETCH_WRITE_P95_RATIO
    stretch_line = Row(
        "  stretch line",
        ratio=line.ratio,
        target=f"≥ {STRETCH_WRITE_THROUGHPUT:.2f}× rps, ≤ {STRETCH_WRITE_P95_RATIO:g}× p95",
        result="reached (not gated)" if stretch else "not reached (not gated)",
    )
    return [line, stretch_line]


def _page_verdict(line, row, result, baseline):
    ratio = result["p95_ms"] / baseline["p95_ms"] if baseline["p95_ms"] else None
    line.ratio = f"{ratio:.2f}×" if ratio else "—"
    ratio_ok = ratio is not None and ratio <= row.max_ratio
    if not row.absolute:
        line.target = f"≤ {row.max_ratio:g}×"
        passed = ratio_ok
        line.result = "PASS" if passed else ("MISS" if row.gated else "miss (not gated)")
        line.passed = passed or not row.gated
        return
    line.target = f"p95 < {TARGET_P95_MS:.0f} ms, ≤ {row.max_ratio:g}×"
    absolute_ok = result["p95_ms"] < TARGET_P95_MS
    # On a loaded machine the plain ListView itself can be over 100 ms at p95; then the absolute target
    # says nothing about the page and the ratio (same run, same machine) is the judge. Shown as such.
    baseline_over = baseline["p95_ms"] >= TARGET_P95_MS
    passed = ratio_ok and (absolute_ok or baseline_over)
    if passed:
        line.result = "PASS" if absolute_ok else "PASS (ratio; baseline also ≥ 100 ms)"
    else:
        line.result = "MISS" if row.gated else "miss (not gated)"
    line.passed = passed or not row.gated


def pdf_rows(pdf):
    if not pdf or "error" in pdf:
        return [
            Row("PDF page (bench/pdf.py)", result=f"FAIL: {(pdf or {}).get('error', 'not run')[:80]}", passed=False)
        ]
    safe, bare = pdf["renderers"]["infra.pdf"], pdf["renderers"]["bare WeasyPrint"]
    return [
        Row(
            "PDF page, bare WeasyPrint", p50=_ms(bare["cpu_median_ms"]), p95=_ms(bare["cpu_p95_ms"]), result="baseline"
        ),
        Row(
            "PDF page, safe renderer",
            p50=_ms(safe["cpu_median_ms"]),
            p95=_ms(safe["cpu_p95_ms"]),
            ratio=f"{pdf['ratio']:.2f}×",
            target=f"≤ {pdf['max_ratio']:g}× (CPU median)",
            result="PASS" if pdf["passed"] else "MISS",
            passed=pdf["passed"],
        ),
    ]


def pad_rows(pads):
    if not pads:
        return []
    pages = pads["pages_each"]
    render = [seconds * 1000 / pages for seconds in pads["render_s"]]
    p50, p95 = phases.summary(render)
    e2e50, e2e95 = phases.summary(pads["end_to_end_s"])
    ok = not pads["failed"] and pads["ready"] == pads["documents"]
    return [
        Row(
            f"PDF pad in the Celery worker ({pads['documents']} × {pages} p.)",
            p50=_ms(p50),
            p95=_ms(p95),
            ratio=f"{e2e50:.1f} s / {e2e95:.1f} s e2e" if e2e50 is not None else "—",
            target="not gated",
            result="measured (no target)" if ok else f"FAIL ({len(pads['failed'])} failed)",
            passed=ok,
        )
    ]


def email_rows(emails):
    """The Celery worker's CPU per 1,000 emails sent (claim, render, send over locmem SMTP, mark); not gated."""
    if not emails:
        return []
    sent = emails["sent"]
    per_thousand = emails["worker_cpu_s"] * 1000 / sent if sent else None
    return [
        Row(
            "Celery worker CPU per 1,000 emails",
            p50="—" if per_thousand is None else f"{per_thousand:.1f} s",
            rate=f"{sent / emails['wall_s']:,.0f} emails/s" if emails["wall_s"] else "—",
            ratio=f"web: {emails['enqueue_ms_each']:.2f} ms/email queued",
            target="all sent, not gated",
            result="measured (no target)" if sent == emails["emails"] else f"FAIL ({sent} of {emails['emails']} sent)",
            passed=sent == emails["emails"],
        )
    ]


def check_in_rows(checkins):
    if not checkins:
        return []
    if "error" in checkins:
        return [Row("check-in job", result=f"FAIL: {checkins['error'][:80]}", passed=False)]
    out = []
    cold = checkins.get("cold", {})
    if cold.get("timed_out"):
        out.append(
            Row(
                "check-in job, cold",
                p50=f"> {cold['wall_s']:.0f} s",
                target=f"< {TARGET_CHECKIN_S:g} s",
                result="MISS (stopped)",
                passed=False,
            )
        )
        return out
    if "error" in cold:
        return [Row("check-in job, cold", result=f"FAIL: {cold['error'][:80]}", passed=False)]
    passed = cold["wall_s"] < TARGET_CHECKIN_S and cold["created"] == cold["cadences_due"]
    out.append(
        Row(
            f"check-in job, cold ({cold['created']:,} of {cold['partners']:,} created)",
            p50=f"{cold['wall_s']:.1f} s",
            rate=f"{cold['created'] / cold['wall_s']:,.0f} tasks/s" if cold["wall_s"] else "—",
            ratio=f"{cold['statements'] / max(cold['created'], 1):.0f} SQL/task",
            target=f"< {TARGET_CHECKIN_S:g} s",
            result="PASS" if passed else "MISS",
            passed=passed,
        )
    )
    out.append(
        Row(
            "  its process peak RSS",
            p95=_mb(cold["peak_rss_kib"]),
            ratio=f"{cold['cpu_s']:.0f} s CPU, {cold['sql_s']:.0f} s SQL",
            target="not gated",
            result="measured (no target)",
        )
    )
    second = checkins.get("second", {})
    if "created" in second:
        ok = second["created"] == 0
        out.append(
            Row(
                f"check-in job, second run ({second['created']:,} created)",
                p50=f"{second['wall_s']:.1f} s",
                target="creates nothing",
                result="PASS" if ok else "FAIL",
                passed=ok,
            )
        )
    return out


def _mb(kib):
    return f"{kib / 1024:.0f} MB"


def memory_rows(gunicorn_memory, master_pid, worker_memory, worker_main_pid):
    out = []
    web = [usage for pid, usage in gunicorn_memory.items() if int(pid) != master_pid]
    if web:
        peak = max(usage["peak_kib"] for usage in web)
        passed = peak / 1024 < TARGET_WEB_RSS_MB
        pss = [usage["pss_kib"] for usage in web if usage["pss_kib"]]
        out.append(
            Row(
                f"gunicorn worker RSS ({len(web)} workers)",
                p50=_mb(max(usage["rss_kib"] for usage in web)),
                p95=_mb(peak),
                ratio=f"PSS {_mb(max(pss))}" if pss else "—",
                target=f"peak < {TARGET_WEB_RSS_MB:g} MB",
                result="PASS" if passed else "MISS",
                passed=passed,
            )
        )
    if worker_memory:
        pool = [usage for pid, usage in worker_memory.items() if int(pid) != worker_main_pid]
        main = worker_memory.get(str(worker_main_pid))
        if pool:
            pss = [usage["pss_kib"] for usage in pool if usage["pss_kib"]]
            out.append(
                Row(
                    f"Celery pool process RSS ({len(pool)})",
                    p50=_mb(max(usage["rss_kib"] for usage in pool)),
                    p95=_mb(max(usage["peak_kib"] for usage in pool)),
                    ratio=f"PSS {_mb(max(pss))}" if pss else "—",
                    target="not gated",
                    result="measured (no target)",
                )
            )
        if main:
            out.append(
                Row(
                    "Celery main process RSS",
                    p50=_mb(main["rss_kib"]),
                    p95=_mb(main["peak_kib"]),
                    ratio=f"PSS {_mb(main['pss_kib'])}" if main["pss_kib"] else "—",
                    target="not gated",
                    result="measured (no target)",
                )
            )
    return out


COLUMNS = [
    ("row", "name", "<", 44),
    ("p50", "p50", ">", 10),
    ("p95/peak", "p95", ">", 10),
    ("rate", "rate", ">", 13),
    ("ratio", "ratio", ">", 22),
    ("server p95", "server_p95", ">", 10),
    ("KB", "size", ">", 6),
    ("target", "target", "<", 27),
    ("result", "result", "<", 0),
]


def print_table(lines, log=print):
    def render(cells):
        return "  " + " ".join(
            f"{cell:{align}{width}}" for cell, (_h, _a, align, width) in zip(cells, COLUMNS, strict=True)
        )

    header = render([heading for heading, _attr, _align, _width in COLUMNS])
    log(header)
    log("  " + "-" * (len(header) - 2))
    for line in lines:
        log(render([getattr(line, attribute) for _heading, attribute, _align, _width in COLUMNS]).rstrip())
    log(
        "  HTTP rows: ms observed by the client at 8 concurrent clients; ratio: ÷ the row's baseline in this run\n"
        "  (pages: p95 ÷ the plain list's; API create: requests/s and p95 ÷ the bare insert's); server p95: Django's\n"
        "  own time. PDF rows: CPU ms per page (worker row: wall ms per page in the pool process; e2e = requested →\n"
        "  ready). Memory: RSS now / peak (VmHWM); PSS counts the pages shared after fork by share."
    )


def _first_field(path, prefix):
    """The value after ``prefix:`` on the first line of ``path`` that starts with it ("" when absent)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine(load_samples):
    """What the figures depend on: the CPUs, the memory, the load, and the versions of everything measured."""
    from importlib.metadata import version

    import redis
    from django.conf import settings

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    memory_kib = _first_field("/proc/meminfo", "MemTotal").split()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first_field("/proc/cpuinfo", "model name"),
        "ram_gib": int(memory_kib[0]) / 1024 / 1024 if memory_kib else None,
        "python": platform.python_version(),
        "postgres": postgres.split()[0],
        "redis": redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"],
        "packages": {
            name: version(name) for name in ("django", "djangorestframework", "gunicorn", "celery", "weasyprint")
        },
        "loadavg_end": os.getloadavg(),
        "loadavg_during": {
            "mean": statistics.mean(load_samples) if load_samples else None,
            "max": max(load_samples) if load_samples else None,
        },
    }


def table_lines(rows, measured, *, pdf, pads, emails, checkins, app_run, worker_facts):
    """Every row of the table, in the order printed: the production-like HTTP rows, the cache-off ones, then the
    PDF, the pads, the emails, the check-in job and memory (only when the "app" profile ran)."""
    lines = http_rows([row for row in rows if row.profile == "app"], measured)
    lines += http_rows([row for row in rows if row.profile != "app"], measured)
    lines += pdf_rows(pdf) if pdf is not None else []
    lines += pad_rows(pads)
    lines += email_rows(emails)
    lines += check_in_rows(checkins)
    if app_run:
        lines += memory_rows(
            app_run["memory"], app_run["gunicorn"]["master_pid"], worker_facts.get("memory"), worker_facts["main_pid"]
        )
    return lines


def print_report(lines, facts, *, loadavg_start, load_samples, runs, app_run, worker_facts, log=print):
    """The table under its heading, then what the figures depend on: the machine, its load, the load generator."""
    log("")
    log(f"== The table ({datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC) ==")
    print_table(lines, log=log)
    log("")
    log(
        f"  machine: nproc {facts['nproc']}, {facts['cpu_model']}, {facts['ram_gib']:.1f} GiB RAM; "
        f"PostgreSQL {facts['postgres']}, Redis {facts['redis']}, Python {facts['python']}, "
        + ", ".join(f"{name} {number}" for name, number in facts["packages"].items())
    )
    if load_samples:
        log(
            f"  load average: at the start {loadavg_start[0]:.2f}; during the HTTP load mean "
            f"{facts['loadavg_during']['mean']:.2f}, max {facts['loadavg_during']['max']:.2f}; at the end "
            f"{facts['loadavg_end'][0]:.2f} (1-minute, on {facts['nproc']} CPUs)"
        )
    if app_run:
        cpu_share = max(r["load_generator_cpu_share"] or 0 for run in runs for r in run["endpoints"])
        log(
            f"  load generator: {app_run['concurrency']} keep-alive connections, per gunicorn worker "
            f"{sorted(app_run['connections_per_worker'].values())}; its own CPU at most {cpu_share:.0%} of a core; "
            f"Celery worker CPU during the run {worker_facts['cpu_s']:.1f} s"
        )
