"""Test settings: fast hashing, in-memory email, eager Celery by default.

PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set (CI does);
otherwise SQLite and Celery's in-memory broker.
"""

from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import REDIS_URL, VAR_DIR, env

DEBUG = False
SECRET_KEY = "test-secret-key"  # noqa: S105 - test only
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline unless a test starts a real worker (tests/spas/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
if not REDIS_URL:
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Each pytest-xdist worker flushes its cache between tests: give each its own Redis database.
    _worker = env.str("PYTEST_XDIST_WORKER", default="gw0").removeprefix("gw")
    _url = urlsplit(REDIS_URL)
    _database = int((_url.path or "/0").lstrip("/") or 0) + 1 + (int(_worker) if _worker.isdigit() else 0)
    CACHES["default"]["LOCATION"] = urlunsplit(_url._replace(path=f"/{_database % 16}"))  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = "spa-test"  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"
ALLOWED_HOSTS = ["*"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": env.str("LOG_LEVEL", default="WARNING")}}
