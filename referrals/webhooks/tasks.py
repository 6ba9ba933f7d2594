"""The webhook outbox's Celery tasks: the drain asked for after commits, the minute's sweep, the nightly purge.

Their names keep the ``referrals.tasks.`` prefix of the app's other tasks: the beat schedule and queued
messages name them so (spa_referrals/celery.py autodiscovers this module).
"""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from spas.tenancy import for_each_spa

from .delivery import webhook_drain
from .models import WebhookDelivery

# Delivered and abandoned events are kept this long for the delivery log, then deleted with their attempts.
LOG_RETENTION = timedelta(days=30)


@shared_task(name="referrals.tasks.webhook_drain_task", soft_time_limit=240, time_limit=300)
def webhook_drain_task():
    """Deliver the due webhooks in batches. Asked for after commits, coalesced (referrals/webhooks/events.py)."""
    return webhook_drain()


@shared_task(name="referrals.tasks.webhook_sweep_task", soft_time_limit=240, time_limit=300)
def webhook_sweep_task():
    """The safety net, every minute: lost drain requests, retries whose backoff passed, rows a dead worker held.
    The same drain; returns how many deliveries succeeded."""
    return webhook_drain()


@shared_task(name="referrals.tasks.webhook_log_purge_task", soft_time_limit=240, time_limit=300)
def webhook_log_purge_task():
    """Nightly: forget deliveries that ended (delivered or given up) more than LOG_RETENTION ago, spa by spa."""
    cutoff = timezone.now() - LOG_RETENTION
    ended = [WebhookDelivery.Status.SUCCEEDED, WebhookDelivery.Status.DEAD]

    def purge(spa):
        return WebhookDelivery.objects.filter(spa=spa, status__in=ended, created_at__lt=cutoff).delete()[0]

    return for_each_spa(purge)
