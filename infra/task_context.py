"""A context variable given its own value for the length of every Celery task.

A task run eagerly inside a request (the test settings) or one after another in a worker thread must not see
the previous caller's value: ``per_task`` sets the variable when a task starts (Celery's ``task_prerun``) and
resets it when the task ends (``task_postrun``), keeping the token on the task's request.
"""

from celery.signals import task_postrun, task_prerun


def per_task(variable, value_for, *, name):
    """Give ``variable`` the value ``value_for(task=…, task_id=…, args=…)`` during every task; ``name`` keys it."""
    token_attribute = f"{name}_token"

    def task_starts(task=None, **kwargs):
        setattr(task.request, token_attribute, variable.set(value_for(task=task, **kwargs)))

    def task_ends(task=None, **kwargs):
        token = getattr(task.request, token_attribute, None)
        if token is not None:
            variable.reset(token)
            setattr(task.request, token_attribute, None)

    task_prerun.connect(task_starts, dispatch_uid=f"{name}.task_starts", weak=False)
    task_postrun.connect(task_ends, dispatch_uid=f"{name}.task_ends", weak=False)
