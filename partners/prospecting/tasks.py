"""The prospect import's task (it runs ``importer.py``), beside the service that enqueues it
(``services.prospect_import_start``), and its sweep. ``partners/tasks.py``, the module Celery autodiscovers,
imports this one so every worker registers them."""

from celery import shared_task

from spas.tenancy import SpaTask

from .importer import prospect_import_run, prospect_imports_due


@shared_task(
    base=SpaTask,
    name="partners.tasks.prospect_import_task",
    soft_time_limit=600,
    time_limit=660,
    acks_late=True,
)
def prospect_import_task(spa_id, job_id):
    """Import the chosen prospects step by step inside the spa's scope. A second delivery does nothing."""
    return prospect_import_run(job_id)


@shared_task(name="partners.tasks.prospect_imports_sweep_task", soft_time_limit=60, time_limit=90)
def prospect_imports_sweep_task():
    """Start again the imports whose enqueue was lost (broker outage) or whose worker died."""
    due = prospect_imports_due()
    for spa_id, job_id in due:
        prospect_import_task.delay(spa_id, job_id)
    return len(due)
