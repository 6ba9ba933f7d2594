"""Celery tasks of the outreach app."""

from celery import shared_task

from spas.tenancy import SpaTask


@shared_task(
    base=SpaTask,
    name="outreach.tasks.letter_batch_render_task",
    soft_time_limit=1500,
    time_limit=1560,
    acks_late=True,
)
def letter_batch_render_task(spa_id, batch_document_id):
    """Render a letter batch part by part, then the combined PDF, inside the spa's scope. Idempotent."""
    from .batches import letter_batch_render

    return letter_batch_render(batch_document_id)
