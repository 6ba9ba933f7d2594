from django.apps import AppConfig


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = "Platform"

    def ready(self):
        from . import audit, log_context

        # Audit events written by a task name no request's user or IP, even when the task runs eagerly inside one.
        audit.nobody_for_tasks()
        # Log lines written by a task carry its id (and its spa's).
        log_context.context_for_tasks()
