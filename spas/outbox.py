"""The outbox: every email is a row first, sent later by a Celery task.

``email_enqueue`` writes the row inside the caller's transaction and asks a
worker to send it once that transaction commits. If the broker is down the row
simply waits for the periodic sweep; if the mail server fails, the row is
retried with exponential backoff and finally marked failed with the reason.
Nothing is dropped.
"""

import logging
import smtplib
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scopes_disabled

from .models import OutgoingEmail

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=5)  # a "sending" row older than this belongs to a dead worker
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 6 * 3600
SWEEP_BATCH = 200

# Failures worth another try: the server was unreachable, busy or hung up.
# Every smtplib exception is an OSError, so SMTP replies are sorted by code in
# _is_transient before this tuple is consulted.
TRANSIENT_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPDataError,
    OSError,
    TimeoutError,
)


def _is_transient(error):
    """4xx replies and lost connections are worth another try; a 5xx reply about this message is final."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _message in error.recipients.values())
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPAuthenticationError):
        # The server or our credentials, not this message: retry so that the backlog
        # goes out once the server or the configuration is fixed.
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return isinstance(error, TRANSIENT_ERRORS)


def render_email(template_name, context):
    """Render ``templates/emails/<name>-subject.txt``, ``-body.txt`` and ``-body.html``."""
    subject = render_to_string(f"emails/{template_name}-subject.txt", context)
    subject = " ".join(subject.split())  # a subject is one line
    body_text = render_to_string(f"emails/{template_name}-body.txt", context)
    body_html = render_to_string(f"emails/{template_name}-body.html", context)
    return subject, body_text, body_html


def email_enqueue(*, to, template_name, context, spa=None):
    """Write one email to the outbox and send it after the surrounding transaction commits."""
    subject, body_text, body_html = render_email(template_name, {"site_url": settings.SITE_URL, **context})
    return email_enqueue_rendered(
        to=to, subject=subject, body_text=body_text, body_html=body_html, spa=spa, template=template_name
    )


def email_enqueue_rendered(*, to, subject, body_text, body_html="", spa=None, template=""):
    email = OutgoingEmail.objects.create(
        spa=spa,
        to=to,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        template=template,
    )
    transaction.on_commit(lambda: _request_delivery(email.pk))
    return email


def _request_delivery(email_id):
    from .tasks import outbox_send_task

    try:
        outbox_send_task.delay(email_id)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep will send it
        logger.warning("Could not enqueue email %s; the outbox sweep will send it.", email_id, exc_info=True)


def _claim(email_id):
    """Take the row for sending. Returns True if this caller won it."""
    now = timezone.now()
    with scopes_disabled():
        return (
            OutgoingEmail.objects.filter(pk=email_id, next_attempt_at__lte=now)
            .filter(
                Q(status=OutgoingEmail.Status.PENDING) | Q(status=OutgoingEmail.Status.SENDING, locked_until__lt=now)
            )
            .update(status=OutgoingEmail.Status.SENDING, locked_until=now + SEND_LEASE)
            == 1
        )


def backoff_delay(attempts):
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def deliver(email_id):
    """Send one outbox row if it is due and nobody else is sending it. Returns the final status or None."""
    if not _claim(email_id):
        return None
    with scopes_disabled():
        email = OutgoingEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    email.attempts += 1
    try:
        message.send(fail_silently=False)
    except SoftTimeLimitExceeded as error:
        # A hung mail server is a transient failure; the task's time is up, so stop here.
        _record_failure(email, error, transient=True)
        raise
    except Exception as error:  # noqa: BLE001 - a failure is recorded, never raised
        _record_failure(email, error, transient=_is_transient(error))
    else:
        email.status = OutgoingEmail.Status.SENT
        email.sent_at = timezone.now()
        email.locked_until = None
        email.last_error = ""
        email.save(update_fields=["status", "sent_at", "locked_until", "attempts", "last_error"])
    return email.status


def _record_failure(email, error, *, transient):
    email.last_error = f"{type(error).__name__}: {error}"[:2000]
    email.locked_until = None
    if transient and email.attempts < settings.OUTBOX_MAX_ATTEMPTS:
        email.status = OutgoingEmail.Status.PENDING
        email.next_attempt_at = timezone.now() + backoff_delay(email.attempts)
        logger.warning("Email %s failed (attempt %s), will retry: %s", email.pk, email.attempts, email.last_error)
    else:
        email.status = OutgoingEmail.Status.FAILED
        logger.error("Email %s failed permanently: %s", email.pk, email.last_error)
    email.save(update_fields=["status", "next_attempt_at", "locked_until", "attempts", "last_error"])


def due_email_ids(limit=SWEEP_BATCH):
    """Rows that should be sent now: pending and due, or abandoned by a dead worker."""
    now = timezone.now()
    with scopes_disabled():
        return list(
            OutgoingEmail.objects.filter(
                Q(status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now)
                | Q(status=OutgoingEmail.Status.SENDING, locked_until__lt=now)
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
