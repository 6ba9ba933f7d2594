"""The outbox: every email is a row first, sent later by a Celery task.

``email_enqueue`` writes the row inside the caller's transaction and, once that transaction commits, asks
for a *drain* of the outbox a moment later — unless an earlier email already asked within that moment (a flag
in the shared cache, set with ``add`` and lapsing when the drain is due), so a hundred referrals a second cost
about one broker message a second, not a hundred. Every email committed while the flag stands was committed
before the drain it waits for reads the outbox; the first one after it lapses asks for the next drain.
A drain claims due rows in batches (``FOR UPDATE SKIP LOCKED``, so two drains never take the same row),
sends each batch over one mail-server connection and marks the outcome in one statement per outcome.

The request renders nothing: the row holds the template's name, its context as JSON (``infra.email_context``:
records as references, loaded again by the worker, one query per model and batch) and the request's language
and time zone. The drain renders each row in those, so the text is what the request would have rendered, and
saves the subject and bodies on the row with the outcome, for the record and for any retry. A row that cannot
be rendered (its record was deleted, the template is broken) is marked failed at once and the batch goes on.
Account emails (``email_enqueue_rendered``) arrive rendered.

Delivery is *at least once*: the row is written in the causing transaction, durably; the outbox's own
bookkeeping (claims and marks) commits with ``synchronous_commit = off``, so a crash may lose a mark and the
email go out again once its lease runs out — never lose an email. If the broker is down the row waits for
the periodic sweep; if the mail server fails, the row is retried with exponential backoff and finally marked
failed with the reason. Nothing is dropped.
"""

import logging
import smtplib
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from . import email_context
from .models import OutgoingEmail
from .outbox_common import bookkeeping_transaction, retry_delay
from .task_queue import enqueue, runs_eagerly

logger = logging.getLogger(__name__)

SEND_LEASE = timedelta(minutes=5)  # a "sending" row older than this belongs to a dead worker
BACKOFF_CAP_SECONDS = 6 * 3600
SWEEP_BATCH = 200
# One drain's batches: claimed, sent over one connection and marked together.
DRAIN_BATCH = 50
# A drain sends at most this many batches, then asks for another drain (other work gets the worker too).
DRAIN_MAX_BATCHES = 20
# "A drain is asked for, due when this flag lapses": set by the first email of each window. The drain runs
# DRAIN_WINDOW_SECONDS after it was asked for, so it reads every email committed while the flag stood. No worker
# has to clear the flag, and a lost drain message costs at most the sweep's minute.
DRAIN_TASK = "spas.tasks.outbox_drain_task"  # infra.tasks; its name predates the move from spas
DRAIN_FLAG = "outbox:drain-requested"
DRAIN_WINDOW_SECONDS = 1

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


def email_enqueue(*, to, template_name, context, spa=None):
    """Write one email to the outbox, to be rendered and sent after the surrounding transaction commits."""
    # Nothing is rendered here: the worker renders the template in this request's language, on its clock.
    email = OutgoingEmail.objects.create(
        spa=spa,
        to=to,
        template=template_name,
        context=email_context.encode(context),
        language=translation.get_language() or "",
        time_zone=timezone.get_current_timezone_name(),
    )
    transaction.on_commit(lambda: _request_delivery(email.pk))
    return email


def email_enqueue_rendered(*, to, subject, body_text, body_html="", spa=None, template=""):
    """Write one email that is already rendered (allauth's account emails) to the outbox."""
    email = OutgoingEmail.objects.create(
        spa=spa,
        to=to,
        subject=subject[:255],
        body_text=body_text,
        body_html=body_html,
        template=template,
        rendered_at=timezone.now(),
    )
    transaction.on_commit(lambda: _request_delivery(email.pk))
    return email


def email_render(email, *, objects=None):
    """Set (not save) ``email``'s subject and bodies from its template and context; a rendered row stays as it is.

    ``objects`` are the context's instances when the caller loaded a batch's at once
    (``email_context.load_objects``). Raises ``email_context.UndecodableContext`` if one is gone, and whatever
    the templates raise.
    """
    if email.rendered_at is not None:
        return email
    context = email_context.decode(email.context, objects)
    # As the enqueuing request would have: in its language, on its clock, inside the email's spa's scope.
    with (
        scope(spa=email.spa_id),
        translation.override(email.language or None),
        timezone.override(email.time_zone or None),
    ):
        email.subject, email.body_text, email.body_html = _render_templates(
            email.template, {"site_url": settings.SITE_URL, **context}
        )
    email.rendered_at = timezone.now()
    return email


def _render_templates(template_name, context):
    """Render ``templates/emails/<name>-subject.txt``, ``-body.txt`` and ``-body.html``."""
    subject = render_to_string(f"emails/{template_name}-subject.txt", context)
    subject = " ".join(subject.split())[:255]  # a subject is one line
    body_text = render_to_string(f"emails/{template_name}-body.txt", context)
    body_html = render_to_string(f"emails/{template_name}-body.html", context)
    return subject, body_text, body_html


def _request_delivery(email_id):
    """After commit: ask for a drain of the outbox, unless an email of this window already did."""
    if runs_eagerly():
        # An eager drain (the test settings) runs now, not when the window closes, so it cannot cover the
        # emails of the window after it: each email asks for its own.
        outbox_drain_request()
        return
    try:
        first = cache.add(DRAIN_FLAG, email_id, DRAIN_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is down: ask anyway, one message too many is harmless
        logger.warning("Could not check the outbox's drain flag; asking for a drain anyway.", exc_info=True)
        first = True
    if first:
        outbox_drain_request(countdown=DRAIN_WINDOW_SECONDS)


def outbox_drain_request(countdown=0):
    try:
        enqueue(DRAIN_TASK, countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep will send the rows
        logger.warning("Could not ask for an outbox drain; the outbox sweep will send the rows.", exc_info=True)
        _forget_drain_flag()  # the next email asks again rather than waiting for the flag to lapse


def _forget_drain_flag():
    try:
        cache.delete(DRAIN_FLAG)
    except Exception:  # noqa: BLE001 - the flag lapses by itself
        logger.warning("Could not clear the outbox's drain flag.", exc_info=True)


def _due():
    now = timezone.now()
    return Q(status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=OutgoingEmail.Status.SENDING, locked_until__lt=now
    )


def drain(*, batch_size=DRAIN_BATCH, max_batches=DRAIN_MAX_BATCHES):
    """Send due rows in batches until none is left (or ``max_batches`` were sent). Returns how many were sent."""
    sent = 0
    for _batch in range(max_batches):
        emails = _claim_batch(batch_size)
        if not emails:
            return sent
        sent += _send_batch(emails)
        if len(emails) < batch_size:
            return sent
    outbox_drain_request()  # more is due: another drain, after whatever else is queued
    return sent


def _claim_batch(batch_size):
    """Take up to ``batch_size`` due rows for sending, rows another drain holds skipped, in one statement."""
    now = timezone.now()
    with bookkeeping_transaction():
        ids = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(_due())
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return []
        OutgoingEmail.objects.filter(pk__in=ids).update(
            status=OutgoingEmail.Status.SENDING, locked_until=now + SEND_LEASE
        )
        return list(OutgoingEmail.objects.filter(pk__in=ids).order_by("next_attempt_at", "pk"))


def _message(email, mail_connection=None):
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        connection=mail_connection,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def _send_batch(emails):
    """Render the claimed rows that need it and send them over one connection; mark the sent in one statement
    and the failed (rendering failures too) in another."""
    failed = [(email, error, False) for email, error in _render_batch(emails)]
    unrenderable = {email.pk for email, _error, _transient in failed}
    sent = []
    try:
        _send_over_one_connection([email for email in emails if email.pk not in unrenderable], sent, failed)
    finally:
        _mark(sent, failed)
    return len(sent)


def _render_batch(emails):
    """Render the rows not rendered yet, their contexts' instances loaded together. Returns the rows that
    cannot be rendered, each with its error."""
    unrendered = [email for email in emails if email.rendered_at is None]
    if not unrendered:
        return []
    objects = email_context.load_objects([email.context for email in unrendered])
    failures = []
    for email in unrendered:
        error = _render_error(email, objects=objects)
        if error is not None:
            failures.append((email, error))
    return failures


def _render_error(email, objects=None):
    """Render ``email`` if it is not rendered yet; returns what made that fail, or None."""
    try:
        email_render(email, objects=objects)
    except (SoftTimeLimitExceeded, DatabaseError):
        raise  # not this email's fault: the row stays claimed and its lease brings it back
    except Exception as error:  # noqa: BLE001 - a deleted record or a broken template fails this email alone
        return error
    return None


def _send_over_one_connection(emails, sent, failed):
    """Send ``emails``, adding each to ``sent`` or to ``failed`` (with the error and whether to retry)."""
    if not emails:
        return
    mail_connection = get_connection()
    try:
        mail_connection.open()
        for email in emails:
            try:
                _message(email, mail_connection).send(fail_silently=False)
            except SoftTimeLimitExceeded as error:
                # Time is up: this one failed transiently; the rest stay claimed until their lease runs out.
                failed.append((email, error, True))
                raise
            except Exception as error:  # noqa: BLE001 - one recipient's failure never stops the batch
                failed.append((email, error, _is_transient(error)))
            else:
                sent.append(email)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:  # noqa: BLE001 - the server could not be reached: every unsent row failed
        done = {email.pk for email in sent} | {email.pk for email, _error, _transient in failed}
        failed.extend((email, error, _is_transient(error)) for email in emails if email.pk not in done)
    finally:
        try:
            mail_connection.close()
        except Exception:  # noqa: BLE001 - the messages are sent; a failed QUIT changes nothing
            logger.warning("Closing the mail connection failed.", exc_info=True)


# What a send or a failure changes on a row; the rendered text is saved with it, for the record and the retries.
RENDERED_FIELDS = ["subject", "body_text", "body_html", "rendered_at"]
SENT_FIELDS = ["status", "sent_at", "locked_until", "attempts", "last_error", *RENDERED_FIELDS]
FAILED_FIELDS = ["status", "next_attempt_at", "locked_until", "attempts", "last_error", *RENDERED_FIELDS]


def _mark(sent, failed):
    now = timezone.now()
    for email in sent:
        email.attempts += 1
        _sent_fields(email, now)
    for email, error, transient in failed:
        email.attempts += 1
        _failure_fields(email, error, transient=transient)
    with bookkeeping_transaction():
        if sent:
            OutgoingEmail.objects.bulk_update(sent, SENT_FIELDS)
        if failed:
            OutgoingEmail.objects.bulk_update([email for email, _error, _transient in failed], FAILED_FIELDS)


def _sent_fields(email, now):
    """Set a sent row's fields on ``email`` (its attempt already counted)."""
    email.status = OutgoingEmail.Status.SENT
    email.sent_at = now
    email.locked_until = None
    email.last_error = ""


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
    return retry_delay(attempts, cap_seconds=BACKOFF_CAP_SECONDS)


def deliver(email_id):
    """Send one outbox row if it is due and nobody else is sending it. Returns the final status or None."""
    if not _claim(email_id):
        return None
    with scopes_disabled():
        email = OutgoingEmail.objects.get(pk=email_id)
    email.attempts += 1
    render_error = _render_error(email)
    if render_error is not None:
        _record_failure(email, render_error, transient=False)
        return email.status
    try:
        _message(email).send(fail_silently=False)
    except SoftTimeLimitExceeded as error:
        # A hung mail server is a transient failure; the task's time is up, so stop here.
        _record_failure(email, error, transient=True)
        raise
    except Exception as error:  # noqa: BLE001 - a failure is recorded, never raised
        _record_failure(email, error, transient=_is_transient(error))
    else:
        _sent_fields(email, timezone.now())
        email.save(update_fields=SENT_FIELDS)
    return email.status


def _record_failure(email, error, *, transient):
    _failure_fields(email, error, transient=transient)
    email.save(update_fields=FAILED_FIELDS)


def _failure_fields(email, error, *, transient):
    """Set a failed attempt's fields on ``email`` (attempts already counted): retry later, or give up."""
    email.last_error = f"{type(error).__name__}: {error}"[:2000]
    email.locked_until = None
    if transient and email.attempts < settings.OUTBOX_MAX_ATTEMPTS:
        email.status = OutgoingEmail.Status.PENDING
        email.next_attempt_at = timezone.now() + backoff_delay(email.attempts)
        logger.warning("Email %s failed (attempt %s), will retry: %s", email.pk, email.attempts, email.last_error)
    else:
        email.status = OutgoingEmail.Status.FAILED
        logger.error("Email %s failed permanently: %s", email.pk, email.last_error)


def due_email_ids(limit=SWEEP_BATCH):
    """Rows that should be sent now: pending and due, or abandoned by a dead worker."""
    with scopes_disabled():
        return list(
            OutgoingEmail.objects.filter(_due()).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
        )
