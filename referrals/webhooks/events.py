"""Recording an event: one ``WebhookDelivery`` row per subscribed endpoint, in the transaction that caused it.

Like an email (infra/outbox.py), a webhook is *at least once*: the row commits with the referral's change (a
rolled-back change sends nothing), and once the transaction commits a drain is asked for, coalesced: the first
event of each one-second window asks (a flag in the shared cache, set with ``add``), so a burst of referrals
costs about one broker message a second. A lost message (broker down) costs at most the sweep's minute.
"""

import logging
import uuid

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from infra.task_queue import enqueue, runs_eagerly

from . import payloads
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

DRAIN_TASK = "referrals.tasks.webhook_drain_task"  # referrals/webhooks/tasks.py
DRAIN_FLAG = "webhooks:drain-requested"
DRAIN_WINDOW_SECONDS = 1


def webhook_event_record(*, referral, event_type, at=None, extra=None):
    """Queue ``event_type`` about ``referral`` for every active endpoint of its spa that takes it (an endpoint
    of one practice hears only about that practice's referrals). Returns the deliveries written.

    Call it inside the transaction that makes the change: the rows commit, or roll back, with it.
    """
    # One small indexed query on every referral write; most spas have no endpoint and stop here.
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(spa_id=referral.spa_id, active=True)
        if endpoint.wants(event_type, referral.practice_id)
    ]
    if not endpoints:
        return []
    data = {**payloads.referral_data(referral), **(extra or {})}
    payload = payloads.event_payload(event_type=event_type, at=at or timezone.now(), data=data)
    return deliveries_queue(
        spa_id=referral.spa_id, endpoints=endpoints, event_type=event_type, payload=payload, referral=referral
    )


def deliveries_queue(*, spa_id, endpoints, event_type, payload, referral=None):
    """Write one pending delivery of ``payload`` per endpoint and ask for a drain once the transaction commits."""
    event_id = uuid.uuid4()
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                spa_id=spa_id,
                endpoint=endpoint,
                event_type=event_type,
                event_id=event_id,
                referral=referral,
                payload=payload,
            )
            for endpoint in endpoints
        ]
    )
    transaction.on_commit(_request_delivery)
    return deliveries


def _request_delivery():
    """After commit: ask for a drain, unless an event of this window already did."""
    if runs_eagerly():
        # An eager drain (the test settings) runs now, not when the window closes: each event asks for its own.
        webhook_drain_request()
        return
    try:
        first = cache.add(DRAIN_FLAG, 1, DRAIN_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is down: ask anyway, one message too many is harmless
        logger.warning("Could not check the webhooks' drain flag; asking for a drain anyway.", exc_info=True)
        first = True
    if first:
        webhook_drain_request(countdown=DRAIN_WINDOW_SECONDS)


def webhook_drain_request(countdown=0):
    """Ask a worker to deliver what is due; if the broker is down, the minute's sweep will."""
    try:
        enqueue(DRAIN_TASK, countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep delivers the rows
        logger.warning("Could not ask for a webhook drain; the webhook sweep will deliver the rows.", exc_info=True)
        try:
            cache.delete(DRAIN_FLAG)  # the next event asks again rather than waiting for the flag to lapse
        except Exception:  # noqa: BLE001 - the flag lapses by itself
            logger.warning("Could not clear the webhooks' drain flag.", exc_info=True)
