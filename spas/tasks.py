"""Celery tasks of the spas app: outbox delivery and housekeeping."""

from celery import shared_task

from . import outbox


@shared_task(name="spas.tasks.outbox_send_task", soft_time_limit=60, time_limit=90)
def outbox_send_task(email_id):
    """Send one outbox row. Safe to run twice: the row is claimed with a conditional update."""
    return outbox.deliver(email_id)


@shared_task(name="spas.tasks.outbox_sweep_task", soft_time_limit=240, time_limit=300)
def outbox_sweep_task():
    """Send every due row: lost enqueues, retries whose backoff passed, rows a dead worker held."""
    sent = 0
    for email_id in outbox.due_email_ids():
        if outbox.deliver(email_id) is not None:
            sent += 1
    return sent
