"""The letter batch's render task, beside the service that enqueues it (``services.letter_batch_create``).

Its Celery name stays ``outreach.tasks.letter_batch_render_task`` (queued messages carry it); ``outreach/tasks.py``,
the module Celery autodiscovers, imports this one so every worker registers it.
"""

from celery import shared_task

from spas.tenancy import SpaTask

from .batches import letter_batch_render


@shared_task(
    base=SpaTask,
    name="outreach.tasks.letter_batch_render_task",
    soft_time_limit=1500,
    time_limit=1560,
    acks_late=True,
)
def letter_batch_render_task(spa_id, batch_document_id):
    """Render a letter batch part by part, then the combined PDF, inside the spa's scope. Idempotent."""
    return letter_batch_render(batch_document_id)
