"""The cache as an optimisation only: reads and writes that never fail a request.

Figures such as the inbox counts and the dashboard are cached in Redis for speed. When Redis is down the
page must still work — slower, computed from the database — so every call here swallows the cache
backend's errors (logged once per call site at WARNING) and behaves as a miss. Domain-free.
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def get(key, default=None):
    try:
        return cache.get(key, default)
    except Exception:  # noqa: BLE001 - any backend failure is a miss
        logger.warning("Cache read failed for %s; computing instead.", key, exc_info=True)
        return default


def set(key, value, timeout):  # noqa: A001 - mirrors the cache API
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("Cache write failed for %s.", key, exc_info=True)


def add(key, value, timeout):
    """Set ``key`` only if absent; True when this call set it (a cheap lock). False when the cache is down."""
    try:
        return cache.add(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("Cache add failed for %s.", key, exc_info=True)
        return False


def incr(key, timeout, delta=1):
    """Add ``delta`` to a counter that expires (starting it at ``delta`` if it has just expired); errors are a
    miss."""
    try:
        try:
            return cache.incr(key, delta)
        except ValueError:  # expired between the caller's add() and this incr()
            cache.set(key, delta, timeout)
            return delta
    except Exception:  # noqa: BLE001
        logger.warning("Cache increment failed for %s.", key, exc_info=True)
        return None


def bump(key):
    """Increment a counter used as a version (creating it); a failure just leaves old entries to expire."""
    try:
        try:
            return cache.incr(key)
        except ValueError:  # not there yet
            cache.add(key, 1, None)
            return cache.incr(key)
    except Exception:  # noqa: BLE001
        logger.warning("Cache version bump failed for %s.", key, exc_info=True)
        return None
