"""Per-API-key rate limits for /api/v1/: one clinic system's loop cannot crowd out the others.

DRF's ``ScopedRateThrottle`` counts requests per scope in the shared cache (Redis in production); here the
counter belongs to the API key, not to a user or an address (keys have no user, and a clinic's systems may
sit behind one address). The rate is ``settings.API_KEY_THROTTLE_RATE`` ("600/minute" by default; empty
turns throttling off, as the benchmark does), read per request so a deployment or a test can change it.
Over the limit: *429* with ``Retry-After``. With the cache down the limit fails open — a referral from a
clinic is worth more than the limit.
"""

import logging
import time

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import ScopedRateThrottle

from ..models import ApiKey

logger = logging.getLogger(__name__)


# What a cache that is down raises: Redis's errors, or an OSError from the file cache or the socket.
CACHE_DOWN = (RedisError, OSError)


class ApiKeyRateThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"

    def timer(self):
        # DRF keeps ``time.time`` as a class attribute, captured at import; looked up per call instead, the
        # clock is always the real one (a module first imported under a test's frozen clock kept the fake).
        return time.time()

    def get_rate(self):
        return getattr(settings, "API_KEY_THROTTLE_RATE", None) or None

    def allow_request(self, request, view):
        # ScopedRateThrottle sets the scope and rate from the view; the rate comes from settings instead.
        self.scope = getattr(view, self.scope_attr, None) or "api"
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super(ScopedRateThrottle, self).allow_request(request, view)
        except CACHE_DOWN:  # let the request through rather than refuse it
            logger.warning("API rate limit skipped: the cache did not answer.", exc_info=True)
            return True

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return None  # no key, no counter: authentication refuses the request anyway
        return self.cache_format % {"scope": self.scope, "ident": f"key-{request.auth.pk}"}
