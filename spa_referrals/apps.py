from django.apps import AppConfig


class SpaReferralsConfig(AppConfig):
    name = "spa_referrals"
    verbose_name = "Spa Referrals"

    def ready(self):
        # The dashboard reads every app, so it lives here and takes over the workspace's front page.
        from spas.views import workspace_home_register

        from .dashboard_views import dashboard

        workspace_home_register(dashboard)
