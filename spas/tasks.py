"""Celery tasks of the spas app: outbox delivery, credential reminders and housekeeping."""

import logging

from celery import shared_task

from . import catalog, outbox
from .tenancy import SpaTask, for_each_spa

logger = logging.getLogger(__name__)


@shared_task(name="spas.tasks.outbox_send_task", soft_time_limit=60, time_limit=90)
def outbox_send_task(email_id):
    """Send one outbox row. Safe to run twice: the row is claimed with a conditional update."""
    return outbox.deliver(email_id)


@shared_task(name="spas.tasks.outbox_drain_task", soft_time_limit=240, time_limit=300)
def outbox_drain_task():
    """Send the outbox's due rows in batches. Asked for after commits, coalesced (spas.outbox)."""
    return outbox.drain()


@shared_task(name="spas.tasks.outbox_sweep_task", soft_time_limit=240, time_limit=300)
def outbox_sweep_task():
    """The safety net, every minute: lost drain requests, retries whose backoff passed, rows a dead worker
    held. The same batched drain; returns how many emails it sent."""
    return outbox.drain()


@shared_task(name="spas.tasks.credential_reminders_task", soft_time_limit=540, time_limit=600)
def credential_reminders_task():
    """Daily, over every spa: email owners about credentials 60 and 30 days from expiry.

    Idempotent: each reminder is claimed once per credential and expiry date, so a second run,
    a second beat or a redelivered message sends nothing new.
    """
    return for_each_spa(
        lambda spa: catalog.credential_reminders_send(spa=spa, today=catalog.spa_today(spa)),
        keep_going=True,
        label="Credential reminders",
    )


@shared_task(base=SpaTask, name="spas.tasks.document_render_task", soft_time_limit=120, time_limit=150, acks_late=True)
def document_render_task(spa_id, document_id):
    """Render one generated document inside its spa's scope. A second delivery does nothing."""
    from .documents import document_render

    return document_render(document_id)


@shared_task(name="spas.tasks.documents_sweep_task", soft_time_limit=60, time_limit=90)
def documents_sweep_task():
    """Re-enqueue documents whose enqueue was lost (broker outage) or whose worker died."""
    from .documents import documents_due_for_rendering

    due = documents_due_for_rendering()
    for spa_id, document_id in due:
        document_render_task.delay(spa_id, document_id)
    return len(due)
