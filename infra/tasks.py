"""Celery tasks of the platform: email and text outbox delivery and document rendering.

The task names keep the ``spas.tasks.`` prefix they had before these moved down from spas: the beat schedule
and any message already queued under the old name still find them.
"""

from celery import shared_task
from django_scopes import scope, scopes_disabled

from . import documents, outbox, sms_outbox
from .models import GeneratedDocument


@shared_task(name="spas.tasks.outbox_send_task", soft_time_limit=60, time_limit=90)
def outbox_send_task(email_id):
    """Send one outbox row. Safe to run twice: the row is claimed with a conditional update."""
    return outbox.deliver(email_id)


@shared_task(name="spas.tasks.outbox_drain_task", soft_time_limit=240, time_limit=300)
def outbox_drain_task():
    """Send the outbox's due rows in batches. Asked for after commits, coalesced (infra.outbox)."""
    return outbox.drain()


@shared_task(name="spas.tasks.outbox_sweep_task", soft_time_limit=240, time_limit=300)
def outbox_sweep_task():
    """The safety net, every minute: lost drain requests, retries whose backoff passed, rows a dead worker
    held. The same batched drain; returns how many emails it sent."""
    return outbox.drain()


@shared_task(name="infra.tasks.text_send_task", soft_time_limit=30, time_limit=45)
def text_send_task(text_id):
    """Send one text of the outbox (asked for after its transaction commits). Safe to run twice: the row is claimed
    with a conditional update, so a second delivery of this message does nothing."""
    return sms_outbox.text_deliver(text_id)


@shared_task(name="infra.tasks.text_outbox_sweep_task", soft_time_limit=60, time_limit=90)
def text_outbox_sweep_task():
    """The safety net, every minute: ask again for every due text (a lost request, a retry whose backoff passed, a
    row a dead worker held). Returns how many it asked for."""
    due = sms_outbox.due_text_ids()
    for text_id in due:
        sms_outbox.text_send_request(text_id)
    return len(due)


@shared_task(name="spas.tasks.document_render_task", soft_time_limit=120, time_limit=150, acks_late=True)
def document_render_task(spa_id, document_id):
    """Render one generated document inside its spa's scope. A second delivery does nothing.

    The spa is the document's own (``spa_id`` is checked against it): a task for a document or spa that no
    longer exists does nothing.
    """
    with scopes_disabled():
        document = GeneratedDocument.objects.select_related("spa").filter(pk=document_id, spa_id=spa_id).first()
    if document is None:
        return None
    with scope(spa=document.spa):
        return documents.document_render(document_id)


@shared_task(name="spas.tasks.documents_sweep_task", soft_time_limit=60, time_limit=90)
def documents_sweep_task():
    """Re-enqueue documents whose enqueue was lost (broker outage) or whose worker died."""
    due = documents.documents_due_for_rendering()
    for spa_id, document_id in due:
        document_render_task.delay(spa_id, document_id)
    return len(due)
