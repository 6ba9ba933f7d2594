"""Production settings: deploy checks clean, a missing or malformed variable stops start-up by name, and beat's
scheduler (a lock in Redis in production, a file under `make run`)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from celery.schedules import maybe_schedule
from django.conf import settings
from redbeat.decoder import RedBeatJSONDecoder, RedBeatJSONEncoder

from spa_referrals.celery import app as celery_app

PROJECT_DIR = Path(settings.BASE_DIR)
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")


def _production_env(**overrides):
    # DJANGO_ALLOW_ASYNC_UNSAFE (set for the browser tests) is itself a deploy-check error.
    leave_out = {*REQUIRED, "EMAIL_URL", "EMAIL_BACKEND", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {name: value for name, value in os.environ.items() if name not in leave_out}
    env.update(
        DJANGO_SETTINGS_MODULE="spa_referrals.settings.production",
        SECRET_KEY=secrets.token_urlsafe(45),  # 60 random characters
        ALLOWED_HOSTS="referrals.example.com",
        DATABASE_URL="postgres://spa:secret@db.internal:5432/spa_referrals",
        REDIS_URL="redis://redis.internal:6379/0",
        EMAIL_URL="smtp+tls://apikey:secret@smtp.example.com:587",
    )
    env.update(overrides)
    return {name: value for name, value in env.items() if value is not None}


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def _configuration_error(result):
    """The ImproperlyConfigured line a failed start-up printed."""
    assert result.returncode != 0
    lines = [
        line for line in result.stderr.splitlines() if line.startswith("django.core.exceptions.ImproperlyConfigured")
    ]
    assert lines, result.stderr
    return lines[-1]


def test_production_settings_pass_the_deploy_checks_without_a_warning():
    env = _production_env()
    assert len(env["SECRET_KEY"]) == 60

    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_take_every_service_from_the_environment():
    code = (
        "import json\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, 'db': s.DATABASES['default']['HOST'],\n"
        "    'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL,\n"
        "    'cache': s.CACHES['default']['LOCATION'], 'eager': s.CELERY_TASK_ALWAYS_EAGER,\n"
        "    'secure_cookies': s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=_production_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

    values = json.loads(result.stdout.strip().splitlines()[-1])

    assert values == {
        "debug": False,
        "hosts": ["referrals.example.com"],
        "db": "db.internal",
        "engine": "infra.postgresql",
        "broker": "redis://redis.internal:6379/0",
        "cache": "redis://redis.internal:6379/0",
        "eager": False,
        "secure_cookies": True,
    }


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_start_up_fails_naming_a_missing_variable(missing):
    result = _manage("check", env=_production_env(**{missing: None}))

    error = _configuration_error(result)
    assert missing in error
    for present in set(REQUIRED) - {missing}:
        assert present not in error


def test_production_start_up_fails_when_a_variable_is_set_but_empty():
    # docker-compose turns `ALLOWED_HOSTS=` (no value) into an empty string, not a missing variable.
    result = _manage("check", env=_production_env(ALLOWED_HOSTS=""))

    assert "ALLOWED_HOSTS" in _configuration_error(result)


@pytest.mark.parametrize(
    ("variable", "bad_value"),
    [
        ("SECRET_KEY", "too-short-to-sign-anything"),
        ("SECRET_KEY", "insecure-local-development-key-do-not-use-in-production-at-all"),
        ("DATABASE_URL", "db.internal:5432/spa_referrals"),
        ("REDIS_URL", "redis.internal:6379"),
        ("INBOUND_EMAIL_SECRET", "short-webhook-secret"),
    ],
    ids=[
        "short-secret",
        "development-secret",
        "database-url-without-scheme",
        "redis-url-without-scheme",
        "short-inbound-secret",
    ],
)
def test_production_start_up_fails_naming_a_malformed_variable(variable, bad_value):
    result = _manage("check", env=_production_env(**{variable: bad_value}))

    assert variable in _configuration_error(result)


# --- email: production needs a choice (issue 17 §2) ------------------------------------------------------------


def _printed(code, env):
    """The last line a Python process running ``code`` under ``env`` printed (it must succeed)."""
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _email_settings(env):
    code = (
        "import json\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'backend': s.EMAIL_BACKEND, 'host': getattr(s, 'EMAIL_HOST', '')}))\n"
    )
    return json.loads(_printed(code, env))


def test_production_refuses_to_start_without_an_email_choice():
    result = _manage("check", env=_production_env(EMAIL_URL=None))

    error = _configuration_error(result)
    assert "EMAIL_URL" in error and "EMAIL_BACKEND" in error


def test_production_refuses_a_malformed_email_url():
    result = _manage("check", env=_production_env(EMAIL_URL="smtp.example.com:587"))

    assert "EMAIL_URL must be an email URL" in _configuration_error(result)


def test_production_sends_through_the_email_url():
    assert _email_settings(_production_env()) == {
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": "smtp.example.com",
    }


def test_production_takes_an_explicit_email_backend_instead():
    backend = "django.core.mail.backends.console.EmailBackend"

    assert _email_settings(_production_env(EMAIL_URL=None, EMAIL_BACKEND=backend))["backend"] == backend


def _log_formatter(env):
    code = "from django.conf import settings as s\nprint(s.LOGGING['handlers']['console']['formatter'])\n"
    return _printed(code, env)


def test_production_logs_one_json_object_per_line_unless_told_otherwise():
    assert _log_formatter(_production_env()) == "json"
    assert _log_formatter(_production_env(LOG_FORMAT="text")) == "text"


# --- beat: a locking scheduler wherever the broker is Redis (issue 17 §4) --------------------------------------


def _beat_scheduler(env):
    """The scheduler `celery -A spa_referrals beat` would run, built without touching Redis or a file."""
    code = (
        "import json, warnings\n"
        "from celery.beat import Service\n"
        "from spa_referrals.celery import app\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    scheduler = Service(app, scheduler_cls=app.conf.beat_scheduler).get_scheduler(lazy=True)\n"
        "kind = type(scheduler)\n"
        "values = {'class': f'{kind.__module__}.{kind.__name__}', 'max_interval': scheduler.max_interval}\n"
        "if hasattr(app, 'redbeat_conf'):\n"
        "    from redbeat.schedulers import get_redis\n"
        "    client = get_redis(app).connection_pool.connection_kwargs\n"
        "    values.update(redis=app.redbeat_conf.redis_url, prefix=app.redbeat_conf.key_prefix,\n"
        "        lock=scheduler.lock_key, lock_timeout=scheduler.lock_timeout,\n"
        "        timeouts=[client.get('socket_connect_timeout'), client.get('socket_timeout')],\n"
        "        warnings=[str(w.message) for w in caught if 'RedBeat' in str(w.message)])\n"
        "else:\n"
        "    values.update(file=scheduler.schedule_filename)\n"
        "print(json.dumps(values))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_beat_takes_a_lock_in_redis_so_a_second_beat_can_stand_by():
    assert _beat_scheduler(_production_env()) == {
        "class": "redbeat.schedulers.RedBeatScheduler",
        "redis": "redis://redis.internal:6379/0",
        "prefix": "spa-referrals:beat:",
        "lock": "spa-referrals:beat::lock",
        # A standby takes over within 30 + 10 s of a leader's death; the leader renews the lock every 10 s.
        "lock_timeout": 30,
        "max_interval": 10,
        # Its own settings, not the broker's: its Redis client gives up on a Redis that does not answer.
        "timeouts": [5, 10],
        "warnings": [],
    }


def test_the_locking_scheduler_can_store_every_job_on_the_schedule():
    # It keeps each job's definition in Redis as JSON, which knows intervals, crontabs and rrules only: a job on
    # another kind of schedule would stop every beat at start-up in production, and never under `make run`.
    for name, entry in celery_app.conf.beat_schedule.items():
        schedule = maybe_schedule(entry["schedule"], app=celery_app)
        stored = json.loads(json.dumps(schedule, cls=RedBeatJSONEncoder), cls=RedBeatJSONDecoder)

        assert stored == schedule, name


def test_make_run_beat_keeps_its_schedule_in_a_file_and_needs_no_server(tmp_path):
    leave_out = {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "CELERY_BROKER_URL"}
    env = {name: value for name, value in os.environ.items() if name not in leave_out}
    env.update(DJANGO_SETTINGS_MODULE="spa_referrals.settings.local", VAR_DIR=str(tmp_path))

    assert _beat_scheduler(env) == {
        "class": "celery.beat.PersistentScheduler",
        "file": str(tmp_path / "celerybeat-schedule"),
        "max_interval": 300,
    }


# --- files: a private bucket when AWS_STORAGE_BUCKET_NAME is set (issue 17 §1) --------------------------------

BUCKET_ENV = {
    "AWS_STORAGE_BUCKET_NAME": "spa-referrals-files",
    "AWS_S3_ENDPOINT_URL": "http://s3:8333",
    "AWS_ACCESS_KEY_ID": "spa-referrals",
    "AWS_SECRET_ACCESS_KEY": "a-secret-for-the-test",
}
NO_BUCKET = dict.fromkeys(BUCKET_ENV)


def _file_storage(env):
    """What the default storage of a production process is, without talking to any server."""
    code = (
        "import json, django\n"
        "django.setup()\n"
        "from django.core.files.storage import storages\n"
        "storage = storages['default']\n"
        "keys = ['bucket_name', 'endpoint_url', 'region_name', 'addressing_style', 'access_key', 'default_acl',\n"
        "    'querystring_auth', 'querystring_expire', 'file_overwrite', 'custom_domain']\n"
        "values = {key: getattr(storage, key) for key in keys if hasattr(storage, key)}\n"
        "print(json.dumps({'class': type(storage).__module__ + '.' + type(storage).__name__, **values}))\n"
    )
    return json.loads(_printed(code, env))


def test_production_keeps_files_on_local_disk_without_a_bucket():
    assert _file_storage(_production_env(**NO_BUCKET)) == {
        "class": "django.core.files.storage.filesystem.FileSystemStorage"
    }


def test_production_with_a_bucket_stores_files_privately_in_it():
    assert _file_storage(_production_env(**BUCKET_ENV)) == {
        "class": "infra.storage.PrivateS3Storage",
        "bucket_name": "spa-referrals-files",
        "endpoint_url": "http://s3:8333",
        "region_name": "us-east-1",
        "addressing_style": "path",
        "access_key": "spa-referrals",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
        "file_overwrite": False,
        "custom_domain": None,
    }


def test_production_on_aws_itself_needs_no_endpoint_or_keys():
    env = _production_env(**{**NO_BUCKET, "AWS_STORAGE_BUCKET_NAME": "files", "AWS_S3_REGION_NAME": "eu-west-1"})

    storage = _file_storage(env)

    assert (storage["endpoint_url"], storage["region_name"], storage["addressing_style"]) == (
        None,
        "eu-west-1",
        "virtual",
    )
    assert storage["access_key"] is None  # the host's role


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"AWS_S3_ENDPOINT_URL": "s3:8333"}, "AWS_S3_ENDPOINT_URL"),
        ({"AWS_SECRET_ACCESS_KEY": None}, "AWS_SECRET_ACCESS_KEY"),
    ],
    ids=["endpoint-without-scheme", "key-without-secret"],
)
def test_production_start_up_fails_naming_a_bad_storage_variable(changes, named):
    result = _manage("check", env=_production_env(**{**BUCKET_ENV, **changes}))

    assert named in _configuration_error(result)


def test_make_run_keeps_local_files_even_with_bucket_variables_around():
    # A .env written for the compose stack names a bucket; `make run` (local settings) must still need no server.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "spa_referrals.settings.local", **BUCKET_ENV}

    assert _file_storage(env) == {"class": "django.core.files.storage.filesystem.FileSystemStorage"}
