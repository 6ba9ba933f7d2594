from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class SpasConfig(AppConfig):
    name = "spas"
    verbose_name = "Spas"

    def ready(self):
        # The database's own tenant wall (spas/rls.py): policies after every migrate, and the tenant
        # setting asserted before every statement on PostgreSQL connections.
        from . import rls

        connection_created.connect(rls.install, dispatch_uid="spas.rls.install")
        post_migrate.connect(rls.after_migrate, dispatch_uid="spas.rls.after_migrate")
