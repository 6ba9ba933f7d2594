"""Queue a Celery task by its name: how a service asks for work without importing the tasks that import it.

Tasks import services; a service that must enqueue a task names it (``"spas.tasks.outbox_drain_task"``) instead
of importing it, so no import circle runs between a module and its tasks. The task object still comes from
Celery's registry, so eager mode (the test settings), retries and routing behave as with ``task.apply_async``.
"""

from celery import current_app


def task_named(task_name):
    """The registered task called ``task_name``; imports every app's tasks module first if it is not loaded yet."""
    if task_name not in current_app.tasks:
        # autodiscover_tasks() is lazy: a web process imports the tasks modules only when first asked.
        current_app.loader.import_default_modules()
    return current_app.tasks[task_name]


def enqueue(task_name, *args, **options):
    """``apply_async`` of the task called ``task_name`` with positional ``args`` and Celery's ``options``."""
    return task_named(task_name).apply_async(args or None, **options)


def runs_eagerly():
    """True where tasks run in the caller's process (the test settings' ``CELERY_TASK_ALWAYS_EAGER``)."""
    return bool(current_app.conf.task_always_eager)
