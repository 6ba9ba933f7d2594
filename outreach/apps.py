from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "outreach"

    def ready(self):
        from partners import panels

        # The practice page's quick-log and timeline (wide column, under referrals) and outreach cards (side).
        panels.register_panel(panels.MAIN, "outreach/partials/practice_main.html", order=20)
        panels.register_panel(panels.SIDE, "outreach/partials/practice_side.html", order=10)

        from .letters.documents import register_kinds

        register_kinds()
        # These modules register hooks on outreach.activity (a campaign advances when its step's task is
        # done; a logged check-in moves the next due date): importing them here makes the hooks live in
        # every process — web, worker, shell — not only once a URLconf happens to load them.
        from .campaigns import services as campaign_services  # noqa: F401
        from .health import checkins  # noqa: F401
        from .health.partner_figures import register as register_partner_figures
        from .health.snapshots import register as register_health_snapshots

        # The partners list's and board's last contact, next task, referrals in the last 3 months and health.
        register_partner_figures()
        # Partner health kept per partner follows the writes of partners, referrals and the spa that change it.
        register_health_snapshots()
