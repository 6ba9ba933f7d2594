"""Settings for `make bench`: the production settings, pointed at the bench database on loopback.

Everything production reads from the environment is filled in here, so `make bench` needs no .env:

- ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/spa_referrals_bench``) always wins over
  ``DATABASE_URL``, so a benchmark can never seed into a developer's or CI's database;
- ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/13``, a Redis database of its own) is the cache and
  the broker; cache keys are prefixed ``spa-bench``;
- ``SECRET_KEY`` from the environment, else one generated once into ``var/bench/secret_key`` (every process of
  a run must agree on it: the session cookie's auth hash is signed with it);
- ``BENCH_CACHE=off`` swaps the cache for Django's DummyCache (the "cache off" rows of the table).

Differences from production, each because the benchmark runs over plain HTTP on 127.0.0.1:
no SSL redirect and no secure-only cookies; static files come from the finders, unhashed (collectstatic with
compression takes ~40 s here and the load generator fetches HTML only); a Server-Timing header
(bench.middleware) reports the time Django spent on each request.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_VAR_DIR = Path(os.environ.get("BENCH_VAR_DIR", BASE_DIR / "var" / "bench"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/spa_referrals_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def _secret_key():
    if len(os.environ.get("SECRET_KEY", "")) >= 50 and not os.environ["SECRET_KEY"].startswith("insecure"):
        return os.environ["SECRET_KEY"]
    path = BENCH_VAR_DIR / "secret_key"
    if not path.exists():
        BENCH_VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
os.environ["SECRET_KEY"] = _secret_key()
os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ["CACHE_KEY_PREFIX"] = "spa-bench"
os.environ.setdefault("LOG_LEVEL", "WARNING")

from spa_referrals.settings.production import *  # noqa: E402, F403
from spa_referrals.settings.production import CACHES, DATABASES, MIDDLEWARE, TEMPLATES  # noqa: E402

# Persistent connections for the whole run (one per gunicorn thread), as a production web process keeps them.
DATABASES["default"]["CONN_MAX_AGE"] = 600
if os.environ.get("BENCH_CACHE", "on") == "off":
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
# Outermost, so the reported time covers every middleware (tenancy, sessions, auth) and the view.
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {  # noqa: F405 - replaces production's manifest storage (see the module docstring)
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BENCH_VAR_DIR / "media"
STATIC_ROOT = BENCH_VAR_DIR / "static"  # empty: everything is served from the finders
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The load generator is one key sending as fast as it can: measure the API, not its rate limit.
API_KEY_THROTTLE_RATE = None
