from django.apps import AppConfig


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = "Platform"

    def ready(self):
        from celery.signals import task_postrun, task_prerun

        from . import audit, log_context

        # Audit events written by a task name no request's user or IP, even when the task runs eagerly inside one.
        task_prerun.connect(audit._task_starts, dispatch_uid="infra.audit.task_starts", weak=False)
        task_postrun.connect(audit._task_ends, dispatch_uid="infra.audit.task_ends", weak=False)
        # Log lines written by a task carry its id (and its spa's).
        task_prerun.connect(log_context.task_starts, dispatch_uid="infra.log_context.task_starts", weak=False)
        task_postrun.connect(log_context.task_ends, dispatch_uid="infra.log_context.task_ends", weak=False)
