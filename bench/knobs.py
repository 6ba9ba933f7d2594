"""The BENCH_* environment knobs `make bench` reads (the list is in bench/run.py's docstring)."""

import os


def env_int(name, default):
    """The knob ``name`` as an int; unset or blank is ``default``."""
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def skipped(part):
    """True when BENCH_SKIP (comma-separated) names ``part`` ("checkins", "pdf", "memory", "pads", …)."""
    return part in {name.strip() for name in os.environ.get("BENCH_SKIP", "").split(",")}
