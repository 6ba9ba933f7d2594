"""Issue 17 §3: errors go to Sentry only with SENTRY_DSN, and never with a patient's details."""

import json
import subprocess
import sys

from django.conf import settings

from infra.error_reporting import REMOVED, scrub
from infra.log_context import _Context, _context


def _event():
    return {
        "exception": {"values": [{"type": "ValueError", "value": "bad transition"}]},
        "request": {
            "url": "https://referrals.example.com/s/glow/referrals/",
            "data": {"patient_first_name": "Ada", "patient_phone": "+16175550100", "status": "accepted"},
            "headers": {"User-Agent": "Firefox"},
        },
        "extra": {"referral": {"date_of_birth": "1980-02-01", "reason": "eczema flare", "public_id": "R-1"}},
        "breadcrumbs": {"values": [{"category": "query", "data": {"patient_email": "ada@example.com"}}]},
    }


def test_patient_fields_are_removed_wherever_they_are():
    event = scrub(_event())

    assert event["request"]["data"] == {"patient_first_name": REMOVED, "patient_phone": REMOVED, "status": "accepted"}
    assert event["extra"]["referral"] == {"date_of_birth": REMOVED, "reason": REMOVED, "public_id": "R-1"}
    assert event["breadcrumbs"]["values"][0]["data"] == {"patient_email": REMOVED}
    assert event["exception"]["values"][0]["value"] == "bad transition"
    assert "Ada" not in json.dumps(event) and "eczema" not in json.dumps(event)


def test_the_log_context_becomes_tags():
    token = _context.set(_Context(request_id="req-0123456789", spa_id=7, task_id="t-1"))
    try:
        tags = scrub(_event())["tags"]
    finally:
        _context.reset(token)

    assert tags == {"request_id": "req-0123456789", "spa_id": "7", "task_id": "t-1"}


def _sentry_options(dsn):
    env = {"DJANGO_SETTINGS_MODULE": "spa_referrals.settings.local", "PATH": "/usr/bin:/bin", "SENTRY_DSN": dsn}
    code = (
        "import django, json\n"
        "django.setup()\n"
        "import sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "options = client.options if client.is_active() else {}\n"
        "print(json.dumps({'active': client.is_active(), 'pii': options.get('send_default_pii'),\n"
        "    'locals': options.get('include_local_variables'), 'body': options.get('max_request_body_size'),\n"
        "    'integrations': sorted(client.integrations) if client.is_active() else []}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_nothing_is_reported():
    assert _sentry_options("")["active"] is False


def test_with_a_dsn_errors_are_reported_without_personal_data():
    options = _sentry_options("https://public@o0.ingest.sentry.io/1")

    assert options["active"] is True
    assert (options["pii"], options["locals"], options["body"]) == (False, False, "never")
    assert {"django", "celery"} <= set(options["integrations"])
