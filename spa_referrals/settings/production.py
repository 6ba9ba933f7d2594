"""Production: everything comes from the environment, and missing essentials stop start-up."""

import os

from django.core.exceptions import ImproperlyConfigured

REQUIRED_VARIABLES = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
_missing = [name for name in REQUIRED_VARIABLES if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing) + " (see .env.example)."
    )

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = False
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")

WHITENOISE_USE_FINDERS = False
STORAGES = {  # noqa: F405 - replaces the base value
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
