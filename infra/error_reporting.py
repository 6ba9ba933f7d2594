"""Error reporting to Sentry, only when ``SENTRY_DSN`` is set, and never with a patient's details.

``send_default_pii=False`` keeps users' addresses, cookies and IPs out; request bodies and local variables are not
sent at all (a referral form's body *is* health information); and ``scrub`` replaces, anywhere in an event
(request data and headers, extra, contexts, breadcrumbs, frames), every value whose key names a patient field.
Errors then carry what a developer needs — the exception, the stack, the request id, spa id and task id of the
log context — and nothing a patient told a clinic.
"""

import re

from infra.log_context import current_fields

REMOVED = "[removed]"
# Keys that hold, or may hold, what a patient or a clinic said about a patient.
PATIENT_KEY = re.compile(
    r"patient|first_name|last_name|birth|phone|e?mail|address|reason|diagnos|notes?$|details|signer|"
    r"measures|comment|condition|symptom|message|body",
    re.IGNORECASE,
)


def scrub(event, hint=None):
    """``before_send``: the event with every patient-named value replaced, at any depth, and the log context
    (request id, spa id, user id, task id) as tags, so an error can be found in the logs."""
    event = _scrubbed(event)
    tags = event.setdefault("tags", {})
    tags.update({name: str(value) for name, value in current_fields().items() if value is not None})
    return event


def _scrubbed(value):
    if isinstance(value, dict):
        return {key: REMOVED if _is_patient_key(key) else _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def _is_patient_key(key):
    # Sentry's own structure ("exception", "values", "message" of a log record) is kept; field names are not.
    return isinstance(key, str) and key not in SENTRY_KEYS and bool(PATIENT_KEY.search(key))


SENTRY_KEYS = {"message", "logentry", "formatted", "params", "body_size"}


def init_error_reporting(dsn, *, environment="production", release=None):
    """Start reporting to ``dsn``; does nothing without one. Returns whether reporting is on."""
    if not dsn:
        return False
    # Imported only when reporting is on: settings load this module in every process.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
    )
    return True
