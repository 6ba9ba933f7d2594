"""Delivering the webhook outbox: claim due rows, post each signed, record the answer, retry with backoff.

The pattern is the email outbox's (infra/outbox.py). A drain claims due rows in small batches with
``SELECT … FOR UPDATE SKIP LOCKED`` (two drains never share a row) under a lease; a row whose worker died comes
back when its lease runs out. The claims and the marks are the outbox's own bookkeeping and commit with
``synchronous_commit = off``: a crash may lose a mark and the event be sent again (same ``webhook-id``, so the
receiver can drop it) — never lose an event, whose row committed synchronously with the referral's change.

Each attempt checks the address again (``addresses.url_checked``) and connects to the address it checked. A 2xx
answer is a success; anything else, a timeout or a refused address is retried with exponential backoff and
jitter (30 s doubling, at most 8 h apart) until ``WEBHOOKS_MAX_ATTEMPTS`` (13 by default: about a day), then the
row is *dead*. A ``Retry-After`` in seconds is honoured. ``410 Gone`` means the receiver wants no more: the
endpoint is disabled. Every attempt is logged (``WebhookAttempt``) with the answer's status code.
"""

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from infra import outbox_common
from infra.audit import audit_record
from infra.outbox_common import bookkeeping_transaction

from ..consent.selectors import sharing_authorization_for
from . import payloads, signing, transport
from .addresses import AddressRefused, url_checked
from .events import webhook_drain_request
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a "delivering" row older than this belongs to a dead worker
BATCH = 10  # at 15 s per unanswered post, a batch fits well inside its lease
DRAIN_MAX_SECONDS = 150  # then ask for another drain, so other work gets the worker too
BACKOFF_CAP_SECONDS = 8 * 3600
JITTER = 0.2  # each wait is 80–120 % of the schedule's, so failed deliveries do not come back in step
GONE = 410
Status = WebhookDelivery.Status


def _due(now):
    return Q(status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now) | Q(
        status=Status.DELIVERING, locked_until__lt=now
    )


def webhook_drain(*, batch_size=BATCH, max_seconds=DRAIN_MAX_SECONDS):
    """Deliver due rows batch by batch until none is left or ``max_seconds`` passed. Returns how many succeeded."""
    started = time.monotonic()
    succeeded = 0
    while True:
        claimed = _claim_batch(batch_size)
        for delivery_id in claimed:
            succeeded += _attempt_guarded(delivery_id) == Status.SUCCEEDED
        if len(claimed) < batch_size:
            return succeeded
        if time.monotonic() - started > max_seconds:
            webhook_drain_request()  # more is due: another drain, after whatever else is queued
            return succeeded


def _claim_batch(batch_size):
    """Take up to ``batch_size`` due rows, skipping rows another drain holds, under a lease. Returns their ids."""
    now = timezone.now()
    with bookkeeping_transaction():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(status=Status.DELIVERING, locked_until=now + LEASE)
    return ids


def _attempt_guarded(delivery_id):
    """One attempt; a bug that breaks one delivery counts as its failed attempt (so it ends, dead, like any other)
    instead of stopping the drain — the database's and the worker's own troubles still stop it."""
    try:
        return delivery_attempt(delivery_id)
    except (SoftTimeLimitExceeded, DatabaseError):
        raise
    except Exception as error:  # noqa: BLE001 - recorded on the row and logged with its traceback
        logger.exception("Webhook delivery %s failed unexpectedly.", delivery_id)
        with scopes_disabled():
            delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            return None
        return _record(delivery, transport.Answer(error=f"{type(error).__name__}: {error}"[:300]))


def delivery_attempt(delivery_id):
    """Post one claimed delivery and record the answer. Returns its new status."""
    with scopes_disabled():
        delivery = (
            WebhookDelivery.objects.select_related("spa", "endpoint", "referral__practice", "referral__clinician")
            .filter(pk=delivery_id)
            .first()
        )
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _give_up(delivery, _("The endpoint was disabled before this event was delivered."))
    try:
        secrets_in_use = _secrets_in_use(endpoint)
    except signing.UnreadableSecret:
        return _give_up(delivery, _("The endpoint's secret can no longer be read (SECRET_KEY changed): rotate it."))
    try:
        target = url_checked(endpoint.url)
    except AddressRefused as refusal:
        return _record(delivery, transport.Answer(error=str(refusal)[:300]))
    payload, carries_patient = _payload_for(delivery)
    body = payloads.body_text(payload)
    headers = signing.signature_headers(
        message_id=delivery.message_id, timestamp=time.time(), body=body, secrets_in_use=secrets_in_use
    )
    try:
        answer = transport.post(target, body=body.encode(), headers=headers)
    except SoftTimeLimitExceeded:
        _record(delivery, transport.Answer(error="The worker's time ran out while waiting for an answer."))
        raise
    if carries_patient:
        answer.snippet = ""  # a receiver that echoes the body would leave the patient's name in our log
    return _record(delivery, answer)


def _secrets_in_use(endpoint):
    """The current secret, and the previous one while a rotation's overlap lasts."""
    current = [signing.secret_decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_signs:
        try:
            current.append(signing.secret_decrypt(endpoint.previous_secret_encrypted))
        except signing.UnreadableSecret:
            pass  # the new secret still signs
    return current


def _payload_for(delivery):
    """The stored payload, with the patient's details when this endpoint may have them at this moment; and
    whether it carries them."""
    payload = delivery.payload
    details = _patient_details(delivery)
    if details is None:
        return payload, False
    return {**payload, "data": {**payload.get("data", {}), "patient": details}}, True


def _patient_details(delivery):
    """The patient's details if the endpoint belongs to the referring practice and the patient's authorization
    covers sharing with that practice now (checked at every attempt: a revocation stops the next one)."""
    referral = delivery.referral
    endpoint = delivery.endpoint
    if referral is None or endpoint.practice_id is None or endpoint.practice_id != referral.practice_id:
        return None
    if referral.health_fields_purged_at is not None:
        return None
    referral.spa = delivery.spa  # the same spa (tenant rows never cross): no query to read it again
    with scope(spa=delivery.spa):
        if sharing_authorization_for(referral=referral) is None:
            return None
        # A disclosure of health information: recorded (and committed) before the bytes leave.
        with transaction.atomic():
            audit_record(
                spa=delivery.spa,
                action="referral.webhook_disclosed",
                obj=referral,
                actor_label="system",
                detail={"endpoint": str(endpoint.public_id), "delivery": str(delivery.public_id)},
            )
    return payloads.patient_details(referral)


def retry_delay(attempts, retry_after=""):
    """How long to wait after the ``attempts``-th failure: the outboxes' schedule with jitter, or longer when the
    receiver asked for it (``Retry-After`` in seconds), never past the cap."""
    return outbox_common.retry_delay(attempts, cap_seconds=BACKOFF_CAP_SECONDS, retry_after=retry_after, jitter=JITTER)


DELIVERY_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "last_response_code",
    "last_error",
    "succeeded_at",
]


def _record(delivery, answer):
    """Mark the attempt's outcome on the row and append it to the log, in one asynchronous-commit transaction."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.locked_until = None
    delivery.last_response_code = answer.status
    succeeded = answer.status is not None and 200 <= answer.status < 300
    if succeeded:
        delivery.status, delivery.succeeded_at, delivery.last_error = Status.SUCCEEDED, now, ""
    else:
        delivery.last_error = (answer.error or _("The endpoint answered %(code)s.") % {"code": answer.status})[:500]
        _schedule_retry(delivery, answer, now)
    attempt = WebhookAttempt(
        spa_id=delivery.spa_id,
        endpoint_id=delivery.endpoint_id,
        delivery=delivery,
        number=delivery.attempts,
        response_code=answer.status,
        response_snippet=" ".join(answer.snippet.split())[:200],
        error=answer.error[:300],
        duration_ms=answer.duration_ms,
    )
    with bookkeeping_transaction():
        delivery.save(update_fields=DELIVERY_FIELDS)
        attempt.save()
        if answer.status == GONE:
            _endpoint_gone(delivery.endpoint)
    return delivery.status


def _schedule_retry(delivery, answer, now):
    """A failed attempt: try again later, or give up (the limit, or 410 Gone)."""
    if answer.status == GONE or delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
        delivery.status = Status.DEAD
        logger.warning("Webhook delivery %s gave up after %s attempts.", delivery.pk, delivery.attempts)
        return
    delivery.status = Status.FAILED
    delivery.next_attempt_at = now + retry_delay(delivery.attempts, answer.retry_after)


def _endpoint_gone(endpoint):
    """The receiver answered 410 Gone: it wants nothing more, so the endpoint is disabled (Standard Webhooks)."""
    reason = _("The receiver answered 410 Gone: it no longer accepts these webhooks.")
    if WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, disabled_reason=reason):
        audit_record(
            spa=endpoint.spa,
            action="webhook_endpoint.disabled",
            obj=endpoint,
            actor_label="system",
            detail={"reason": "410 Gone"},
        )


def _give_up(delivery, reason):
    delivery.status = Status.DEAD
    delivery.locked_until = None
    delivery.last_error = reason[:500]
    with bookkeeping_transaction():
        delivery.save(update_fields=["status", "locked_until", "last_error"])
    return delivery.status
