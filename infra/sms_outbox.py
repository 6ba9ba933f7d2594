"""The text-message outbox: every text is a row first (``OutgoingText``), sent through Twilio by a Celery task.

``text_enqueue`` writes the row inside the caller's transaction; once that transaction commits it asks for
``text_send_task`` for that row (a rolled-back change sends nothing). If the broker is down then, or the worker
dies, the row waits for ``text-outbox-sweep`` (every minute), which asks again for every due row: pending and due,
or "sending" past its lease. Texts are few (a thank-you per completed referral), so each row has its own task
rather than the email outbox's coalesced drains.

Claiming is a conditional update (pending and due, or sending with a lapsed lease → sending, leased): of two
workers given the same row, one sends and the other does nothing. Delivery is *at least once*: the row commits
with the change that causes it; the claim and the outcome are the outbox's own bookkeeping and commit with
``synchronous_commit = off``, so a crash may lose a mark and the text go out again once its lease lapses — never
lose a text. Twilio's answer decides the rest (``infra.twilio``): accepted → sent, with its message SID; a
permanent refusal → failed at once, no retry; a transient failure → retried with exponential backoff (30 s
doubling, at most 6 h apart, a ``Retry-After`` honoured) up to ``OUTBOX_MAX_ATTEMPTS``, then failed. A failed row
keeps Twilio's status and error code, never the body.

``text_cancel`` stops a row that has not gone out (the caller's transaction: a patient who revokes their consent
before the worker claims the text). A row already claimed is on its way and is not stopped.
"""

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from . import twilio
from .models import OutgoingText
from .outbox_common import bookkeeping_transaction, retry_delay
from .phones import textable_phone
from .task_queue import enqueue

logger = logging.getLogger(__name__)

SEND_TASK = "infra.tasks.text_send_task"
LEASE = timedelta(minutes=2)  # a "sending" row older than this belongs to a dead worker (one post takes ≤ 15 s)
BACKOFF_CAP_SECONDS = 6 * 3600
JITTER = 0.2  # each wait is 80–120 % of the schedule's, so texts that failed together do not come back in step
SWEEP_BATCH = 200
Status = OutgoingText.Status


def texts_enabled():
    """True when the operator configured the provider (account SID and auth token)."""
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def text_enqueue(*, spa, to, from_number, body):
    """Write one text to the outbox, to be sent after the surrounding transaction commits. ``to`` and
    ``from_number`` are E.164; anything else is refused (ValidationError) and nothing is written."""
    errors = {}
    if not to or textable_phone(to) != to:
        errors["to"] = "Not an E.164 number."
    if not from_number or textable_phone(from_number) != from_number:
        errors["from_number"] = "Not an E.164 number."
    if not (body or "").strip() or len(body) > OutgoingText._meta.get_field("body").max_length:
        errors["body"] = "A text holds 1 to 1600 characters."
    if errors:
        raise ValidationError(errors)
    text = OutgoingText.objects.create(spa=spa, to=to, from_number=from_number, body=body)
    transaction.on_commit(lambda: text_send_request(text.pk))
    return text


def text_send_request(text_id):
    """Ask a worker to send the row; if the broker is down, the minute's sweep will."""
    try:
        enqueue(SEND_TASK, text_id)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep sends the row
        logger.warning("Could not ask for text %s to be sent; the text outbox sweep will send it.", text_id)


def _waiting(now):
    """Rows not gone out and held by no live worker."""
    return Q(status=Status.PENDING) | Q(status=Status.SENDING, locked_until__lt=now)


def _due(now):
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, locked_until__lt=now)


def text_cancel(*, spa, text_id, reason):
    """Stop ``spa``'s text ``text_id`` if it has not gone out (inside the caller's transaction). True if stopped."""
    return (
        OutgoingText.objects.filter(spa=spa, pk=text_id)
        .filter(_waiting(timezone.now()))
        .update(status=Status.CANCELLED, locked_until=None, last_error=reason[:500])
        == 1
    )


def due_text_ids(limit=SWEEP_BATCH):
    """Rows that should be sent now, over every spa: pending and due, or abandoned by a dead worker."""
    with scopes_disabled():
        return list(
            OutgoingText.objects.filter(_due(timezone.now()))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )


def _claim(text_id):
    """Take the row for sending. True if this caller won it."""
    now = timezone.now()
    with bookkeeping_transaction():
        return (
            OutgoingText.objects.filter(pk=text_id)
            .filter(_due(now))
            .update(status=Status.SENDING, locked_until=now + LEASE)
            == 1
        )


def text_deliver(text_id):
    """Send one row if it is due and nobody else is sending it. Returns its new status, or None if not ours."""
    if not _claim(text_id):
        return None
    with scopes_disabled():
        text = OutgoingText.objects.get(pk=text_id)
    if not text.to:
        # Erased (the patient's data) while a worker held it: cancelling could not reach it, nothing is left to send.
        return _record(text, twilio.Answer(outcome=twilio.PERMANENT, error="Erased before it could be sent."))
    if not texts_enabled():
        # Switched off after the text was written: kept and retried, so it goes out if texts come back on.
        return _record(
            text,
            twilio.Answer(
                outcome=twilio.TRANSIENT, error="Texts are not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)."
            ),
        )
    try:
        answer = twilio.message_send(
            api_url=settings.TWILIO_API_URL,
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            to=text.to,
            from_number=text.from_number,
            body=text.body,
        )
    except SoftTimeLimitExceeded:
        _record(text, twilio.Answer(outcome=twilio.TRANSIENT, error="The worker's time ran out waiting for Twilio."))
        raise
    return _record(text, answer)


RECORD_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "last_error",
    "provider_message_id",
    "sent_at",
]


def _record(text, answer):
    """Mark the attempt's outcome on the row (the outbox's bookkeeping: asynchronous commit). Returns the status."""
    now = timezone.now()
    text.attempts += 1
    text.locked_until = None
    if answer.outcome == twilio.SENT:
        text.status, text.sent_at, text.provider_message_id, text.last_error = Status.SENT, now, answer.sid, ""
    else:
        text.last_error = answer.error[:500]
        if answer.outcome == twilio.TRANSIENT and text.attempts < settings.OUTBOX_MAX_ATTEMPTS:
            text.status = Status.PENDING
            text.next_attempt_at = now + retry_delay(
                text.attempts, cap_seconds=BACKOFF_CAP_SECONDS, retry_after=answer.retry_after, jitter=JITTER
            )
            logger.warning("Text %s failed (attempt %s), will retry: %s", text.pk, text.attempts, text.last_error)
        else:
            text.status = Status.FAILED
            logger.error("Text %s failed for good after %s attempts: %s", text.pk, text.attempts, text.last_error)
    with bookkeeping_transaction():
        text.save(update_fields=RECORD_FIELDS)
    return text.status
