"""Settings shared by every environment.

Everything that differs between environments is read from the environment with
django-environ. With no environment at all the app runs on the embedded default:
SQLite, a filesystem Celery broker and file email, all under ``var/``.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from infra.error_reporting import init_error_reporting

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env fills in what the real environment does not set. Tests never read it, so a
# developer's .env cannot change what the suite checks.
_running_tests = environ.Env().str("DJANGO_SETTINGS_MODULE", default="").endswith(".test")
if (BASE_DIR / ".env").exists() and not _running_tests:
    env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-do-not-use-in-production")
# Earlier keys, comma-separated, while rotating SECRET_KEY: sessions, tokens and the webhook secrets kept encrypted
# under it (referrals/webhooks/signing.py) still read with them.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # First, so its runserver (the DEBUG/host guard, spa_referrals/management/commands/runserver.py) wins
    # over whitenoise's and staticfiles' own.
    "spa_referrals",
    # Static files come from WhiteNoise in development too: runserver's own static handler answered a
    # traversal path (/static/..%2f..%2fvar/db.sqlite3) with a 500.
    "whitenoise.runserver_nostatic",
    # Django's admin behind allauth's sign-in, with two-factor required (spa_referrals/admin_site.py).
    "spa_referrals.admin_site.SecureAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_filters",
    "infra",
    "spas",
    "partners",
    "referrals",
    "outreach",
    "insights",
]

MIDDLEWARE = [
    # First: every response, even a redirect or an error from the middleware below, carries X-Request-ID.
    "infra.log_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise so static files carry the header too (settings/security.py).
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (settings/security.py)
    "infra.security.ResponseHardeningMiddleware",  # no-store, per-response CSP parts
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "infra.audit.AuditOriginMiddleware",  # audit events name the request's user and IP (infra/audit.py)
    "django.contrib.messages.middleware.MessageMiddleware",
    "infra.security.SessionLifetimeMiddleware",  # idle and absolute session limits
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "spas.tenancy.TenancyMiddleware",
]

ROOT_URLCONF = "spa_referrals.urls"
WSGI_APPLICATION = "spa_referrals.wsgi.application"
ASGI_APPLICATION = "spa_referrals.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spas.context_processors.workspace",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite in WAL mode with immediate transactions lets the web server and the
# Celery worker share one file without "database is locked" errors.
SQLITE_PATH = VAR_DIR / "db.sqlite3"
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"sqlite:///{SQLITE_PATH}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default keeps its files under VAR_DIR; a fresh clone has no such folder yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # Covering indexes (INCLUDE) are a PostgreSQL speed-up; SQLite builds the plain index and that is enough.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    # Persistent connections made inserts ~4x faster here; health checks drop
    # connections that the server closed (restart, pg_terminate_backend).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # PostgreSQL's JIT compiles plans for big aggregates: at 100,000 referrals the partner-health query
    # spent 1.1 s of its 1.5 s compiling (bench, EXPLAIN ANALYZE) and ran in 0.3 s with JIT off. Our
    # queries are short OLTP ones, where JIT only costs.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
USING_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if USING_POSTGRES:
    # Django's PostgreSQL backend, with the health check (SELECT 1) run only on a connection that sat idle
    # longer than this; see infra/postgresql/base.py.
    DATABASES["default"]["ENGINE"] = "infra.postgresql"
    HEALTH_CHECK_AFTER_IDLE_SECONDS = env.float("HEALTH_CHECK_AFTER_IDLE_SECONDS", default=10.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Row-level security (spas/rls.py): the role the web and worker processes connect as. `migrate`, run as the
# tables' owner, grants it table privileges. Empty: no grants (e.g. development as one superuser).
DATABASE_APP_ROLE = env.str("DATABASE_APP_ROLE", default="")

# --- Redis: Celery broker and cache ------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="spa"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport: a real worker and beat run in the demo
    # without any server. The in/out folders must be the same folder.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# The worker logs through LOGGING below (the log context, JSON in production) instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = "UTC"
# Beat. With Redis, celery-redbeat keeps the schedule's state (when each job last ran) and a leader lock in Redis,
# so two beats can run: the one holding the lock sends, the other waits for it (README, "How many beats"). The
# leader renews the lock at every tick, at least every MAX_LOOP_INTERVAL seconds; a standby asks for it as often.
# LOCK_TIMEOUT is three of those: a leader that dies holding the lock (SIGKILL, a lost host) is replaced within
# 30 + 10 s, under the 60 s of the most frequent job, and whatever fell due meanwhile is sent once, late. A
# shorter lock would take over sooner but would also pass to the standby whenever a live leader stalls for
# longer than LOCK_TIMEOUT - MAX_LOOP_INTERVAL (20 s here: a slow Redis, a starved CPU); that leader then exits
# at its next tick. Without Redis (`make run`), the default scheduler keeps its state in a file: one beat.
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_BEAT_MAX_LOOP_INTERVAL = 10
    CELERY_REDBEAT_LOCK_TIMEOUT = 3 * CELERY_BEAT_MAX_LOOP_INTERVAL
    CELERY_REDBEAT_KEY_PREFIX = "spa-referrals:beat:"  # beside the broker's and the cache's keys in one database
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    # Passed to the Redis client as they are. A beat whose Redis stops answering fails (and is restarted) rather
    # than hanging inside a tick past its lock's expiry, to send a stale run after the standby took over.
    CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 5, "socket_timeout": 10}
else:
    CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Auth & accounts (django-allauth) ----------------------------------------
AUTH_USER_MODEL = "spas.User"
# What a tenant row belongs to (infra.tenant_models.TenantModel names it by this label, as auth does its user).
TENANT_MODEL = "spas.Spa"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "spas.forms.SignupExtraFields"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, spelled out so they are visible and reviewable.
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "confirm_email": "1/3m/key",
    "request_login_code": "20/m/ip,3/m/key",
}
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "spas.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env.str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", default="http")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Spa Referrals"

# --- Email -----------------------------------------------------------------
# Every email goes through the outbox (infra.outbox); this backend is what the
# outbox worker finally hands the message to.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")  # an explicit choice, e.g. the console for a trial deployment
else:
    EMAIL_BACKEND = "infra.email_backends.ConsoleAndFileEmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "email")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Spa Referrals <no-reply@spa-referrals.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)

# --- Outgoing webhooks (referrals/webhooks/) ---------------------------------
# Attempts before a delivery is given up (30 s doubling, at most 8 h apart: 13 attempts span about a day).
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=13)
# Receivers on private, loopback or link-local addresses (and plain http to them) are refused unless this is on:
# for a receiver on the operator's own network, or a local one in development. Never for a shared deployment.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- Files -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from npm (package-lock.json) and are served straight
# from node_modules: no hand-copied vendor files, no build step.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/leaflet", BASE_DIR / "node_modules" / "leaflet" / "dist"),
]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- I18N ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", _("English"))]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Security ----------------------------------------------------------------
# (Client IPs behind proxies, headers, cookies and sessions: settings/security.py, imported below.)
# Patient landing page: accepted submissions per client IP per hour (a clinic's shared Wi-Fi
# may need more).
LANDING_SUBMISSIONS_PER_HOUR = env.int("LANDING_SUBMISSIONS_PER_HOUR", default=5)
# Code lookups (/r/<code> pages) per client IP per minute; an unknown code counts LANDING_UNKNOWN_CODE_WEIGHT.
LANDING_LOOKUPS_PER_MINUTE = env.int("LANDING_LOOKUPS_PER_MINUTE", default=30)
LANDING_UNKNOWN_CODE_WEIGHT = env.int("LANDING_UNKNOWN_CODE_WEIGHT", default=5)

# --- Referrals by email and text (referrals/inbound) ---------------------------------
# Each spa's referral address is <slug>@INBOUND_DOMAIN; the provider's inbound-parse webhook posts the raw message
# to /inbound/email/, signed with INBOUND_EMAIL_SECRET. Either empty: the endpoint answers 503 (a provider retries
# later) and the spa's pages say email intake is not set up.
INBOUND_DOMAIN = env.str("INBOUND_DOMAIN", default="").strip().lower()
INBOUND_EMAIL_SECRET = env.str("INBOUND_EMAIL_SECRET", default="")
# The largest request the email webhook reads: two 8 MB scans, base64-encoded, come to some 22 MB.
INBOUND_EMAIL_MAX_BYTES = env.int("INBOUND_EMAIL_MAX_BYTES", default=25 * 1024 * 1024)
# Texts: Twilio's auth token signs its webhook to /inbound/sms/ (X-Twilio-Signature). Empty: the endpoint answers 503.
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
# Outgoing texts (the patient follow-up, infra/sms_outbox.py) go through Twilio's REST API as this account, with the
# auth token above. Empty: no text is sent, and the follow-up goes by email. TWILIO_API_URL is Twilio's API origin;
# only a test or a relay changes it.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="").strip()
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com").strip().rstrip("/")
if urlsplit(TWILIO_API_URL).scheme not in {"http", "https"} or not urlsplit(TWILIO_API_URL).hostname:
    raise ImproperlyConfigured("TWILIO_API_URL must be an http(s) URL such as https://api.twilio.com.")

# --- Prospecting (the NPI registry) and maps -----------------------------------
# Where prospect searches look (partners/prospecting/sources.py): "api", the registry's public JSON API (online
# deployments), or "file", the monthly NPPES data file loaded with `manage.py nppes_load` (offline).
NPI_REGISTRY_SOURCE = env.str("NPI_REGISTRY_SOURCE", default="api")
if NPI_REGISTRY_SOURCE not in {"api", "file"}:
    raise ImproperlyConfigured('NPI_REGISTRY_SOURCE must be "api" or "file".')
NPI_REGISTRY_URL = env.str("NPI_REGISTRY_URL", default="https://npiregistry.cms.hhs.gov/api/")
NPI_REGISTRY_TIMEOUT = env.float("NPI_REGISTRY_TIMEOUT", default=10.0)
# The registry asks callers to be gentle: at most this many requests per second from one process.
NPI_REGISTRY_REQUESTS_PER_SECOND = env.float("NPI_REGISTRY_REQUESTS_PER_SECOND", default=3.0)
NPI_REGISTRY_CACHE_SECONDS = env.int("NPI_REGISTRY_CACHE_SECONDS", default=24 * 3600)
# Map tiles, e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png" (mind the tile server's usage policy); empty turns
# the map off and leaves the list by distance.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")

# --- REST framework --------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in, JSON out: no browsable API, and every error is a JSON body (referrals/api/errors.py).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "referrals.api.errors.api_exception_handler",
}
# Requests per API key (referrals/api/throttles.py): DRF's rate syntax, e.g. "600/minute"; empty turns it off.
API_KEY_THROTTLE_RATE = env.str("API_KEY_THROTTLE_RATE", default="600/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Spa Referrals API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # OpenAPI 3.1 for its `webhooks`: the signed events clinic systems receive (referrals/webhooks/schema.py).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": [
        f"referrals.webhooks.schema.{name}"
        for name in (
            "REFERRAL_RECEIVED",
            "REFERRAL_ACCEPTED",
            "REFERRAL_SCHEDULED",
            "REFERRAL_COMPLETED",
            "REFERRAL_DECLINED",
            "OUTCOME_SENT",
            "WEBHOOK_TEST",
        )
    ],
    # The providers' webhooks for referrals by email and text are plain Django views: a hook describes them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "referrals.inbound.openapi.inbound_webhooks_schema",
    ],
}

# Errors to Sentry only when SENTRY_DSN is set, scrubbed of patient fields (infra/error_reporting.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
init_error_reporting(
    SENTRY_DSN,
    environment=env.str("SENTRY_ENVIRONMENT", default="production"),
    release=env.str("SENTRY_RELEASE", default="") or None,
)

# Every record carries the log context (request id, spa, user, Celery task: infra/log_context.py); LOG_FORMAT=json
# writes one JSON object per line (production's default), text one readable line.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "infra.log_context.ContextFilter"}},
    "formatters": {
        "json": {"()": "infra.log_context.JsonFormatter"},
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s spa=%(spa_id)s task=%(task_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint narrates every stylesheet it parses (even its own at import) at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    },
}

FORM_RENDERER = "infra.forms.BootstrapFormRenderer"
FORMS_URLFIELD_ASSUME_HTTPS = True
# Serve straight from the finders (node_modules, static/) until collectstatic has run.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = env.bool("WHITENOISE_AUTOREFRESH", default=False)

# Web hardening (headers, cookies, session lifetimes, Content-Security-Policy, lockout) lives in its own
# module so it reads as one policy.
from .security import *  # noqa: E402, F403

# The map's tiles come from the configured tile server: its host joins the images the policy allows.
if MAP_TILE_URL:
    _tiles = urlsplit(MAP_TILE_URL)
    _tile_host = re.sub(r"\{[a-z]\}", "*", _tiles.netloc)  # "{s}.tile.example.org": any subdomain
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(f"{_tiles.scheme}://{_tile_host}")  # noqa: F405
