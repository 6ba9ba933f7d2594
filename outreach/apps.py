from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"

    def ready(self):
        from .documents import register_kinds

        register_kinds()
