"""Production: everything comes from the environment, and missing essentials stop start-up."""

import os
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

REQUIRED_VARIABLES = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")
_missing = [name for name in REQUIRED_VARIABLES if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing) + " (see .env.example)."
    )
# A malformed URL would otherwise surface as a KeyError deep in base.py, or only at the first task.
if urlsplit(os.environ["DATABASE_URL"]).scheme not in environ.Env.DB_SCHEMES:
    raise ImproperlyConfigured("DATABASE_URL must be a database URL such as postgres://user:password@host:5432/name.")
if urlsplit(os.environ["REDIS_URL"]).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured("REDIS_URL must be a Redis URL such as redis://host:6379/0.")
# Without a choice, email would go to a file inside the container: verification codes and referral notices
# nobody receives. An explicit EMAIL_BACKEND (the console, for a trial) is a choice too.
if not (os.environ.get("EMAIL_URL") or os.environ.get("EMAIL_BACKEND")):
    raise ImproperlyConfigured(
        "Production settings need EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) or an explicit "
        "EMAIL_BACKEND (e.g. django.core.mail.backends.console.EmailBackend for a trial): see .env.example."
    )
if os.environ.get("EMAIL_URL") and urlsplit(os.environ["EMAIL_URL"]).scheme not in environ.Env.EMAIL_SCHEMES:
    raise ImproperlyConfigured("EMAIL_URL must be an email URL such as smtp+tls://user:password@host:587.")

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = False
if env.str("LOG_FORMAT", default="json") == "json":  # one JSON object per line for the log store
    LOGGING["handlers"]["console"]["formatter"] = "json"  # noqa: F405
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
# Anyone who learns a short webhook secret can post referrals (drafts) into every spa.
if INBOUND_EMAIL_SECRET and len(INBOUND_EMAIL_SECRET) < 32:  # noqa: F405
    raise ImproperlyConfigured("INBOUND_EMAIL_SECRET must be at least 32 random characters (empty: no email intake).")

WHITENOISE_USE_FINDERS = False
STORAGES = {  # noqa: F405 - replaces the base value
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploads and generated documents: local files under MEDIA_ROOT (one host), or a private S3 bucket that every
# host shares when AWS_STORAGE_BUCKET_NAME is set (infra/storage.py says what keeps it private).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _endpoint_url = env.str("AWS_S3_ENDPOINT_URL", default="")
    if _endpoint_url and urlsplit(_endpoint_url).scheme not in ("http", "https"):
        raise ImproperlyConfigured(
            "AWS_S3_ENDPOINT_URL must be the URL of an S3-compatible server, such as http://s3:8333, or empty for AWS."
        )
    _access_key = env.str("AWS_ACCESS_KEY_ID", default="")
    _secret_key = env.str("AWS_SECRET_ACCESS_KEY", default="")
    if bool(_access_key) != bool(_secret_key):
        raise ImproperlyConfigured(
            "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (to use the host's AWS role)."
        )
    STORAGES["default"] = {
        "BACKEND": "infra.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": _endpoint_url or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
            # An S3-compatible server at its own address answers on paths (http://s3:8333/bucket/key); AWS on
            # the bucket's own host name.
            "addressing_style": "path" if _endpoint_url else "virtual",
            "access_key": _access_key or None,
            "secret_key": _secret_key or None,
        },
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
