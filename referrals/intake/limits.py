"""The landing page's per-client limits: looking codes up (per minute) and submitting (per hour).

Counted in the cache (``infra.soft_cache``) by client IP; with the cache down every check fails open.
"""

from django.conf import settings

from infra import soft_cache
from infra.client_ip import client_ip

# Accepted submissions per client IP per hour. Patients at a clinic's front desk may share its Wi-Fi (one
# IP), so only submissions that were taken (or silently dropped as spam) count, not ones with typos.
DEFAULT_SUBMISSIONS_PER_HOUR = 5
RATE_WINDOW_SECONDS = 3600

# Code lookups per client IP per minute (every /r/<code> page: the form, its posts, the thanks page). A patient
# needs a handful; someone trying random codes needs thousands, and a miss costs them more than a hit, so
# enumerating codes runs into the limit after a few tries while a patient with a typo does not.
DEFAULT_LOOKUPS_PER_MINUTE = 30
DEFAULT_UNKNOWN_CODE_WEIGHT = 5
LOOKUP_WINDOW_SECONDS = 60


def _lookup_key(request):
    return f"landing-lookups:{client_ip(request) or 'unknown'}"


def landing_lookup_limited(request):
    """Whether this client has used up its code lookups for the minute. Fails open with the cache down."""
    allowance = getattr(settings, "LANDING_LOOKUPS_PER_MINUTE", DEFAULT_LOOKUPS_PER_MINUTE)
    return (soft_cache.get(_lookup_key(request)) or 0) >= allowance


def landing_lookup_count(request, *, found):
    """Count one lookup against the client's allowance; an unknown code weighs more than a known one."""
    weight = 1 if found else getattr(settings, "LANDING_UNKNOWN_CODE_WEIGHT", DEFAULT_UNKNOWN_CODE_WEIGHT)
    key = _lookup_key(request)
    if not soft_cache.add(key, weight, LOOKUP_WINDOW_SECONDS):
        soft_cache.incr(key, LOOKUP_WINDOW_SECONDS, delta=weight)


def _submissions_per_hour():
    return getattr(settings, "LANDING_SUBMISSIONS_PER_HOUR", DEFAULT_SUBMISSIONS_PER_HOUR)


def _rate_key(request):
    return f"landing-submissions:{client_ip(request) or 'unknown'}"


def landing_rate_limited(request):
    """Whether this client has used up its submissions for the hour. With the cache down it fails open:
    a patient's referral matters more than the limit (the honeypot still stops simple bots)."""
    return (soft_cache.get(_rate_key(request)) or 0) >= _submissions_per_hour()


def landing_rate_count(request):
    """Count one submission against the client's hourly allowance (the window starts with the first one)."""
    key = _rate_key(request)
    if soft_cache.add(key, 1, RATE_WINDOW_SECONDS):
        return
    soft_cache.incr(key, RATE_WINDOW_SECONDS)
