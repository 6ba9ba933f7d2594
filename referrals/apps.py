from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self):
        from partners import panels
        from spas import dependents

        # Registers the "referral_pad" and "outcome_report" document kinds (a lower app never imports us).
        from . import figures  # noqa: F401
        from .outcomes import documents as outcome_documents  # noqa: F401
        from .pads import documents  # noqa: F401

        # The practice page's referrals card (top of the wide column), portal access and pads (its foot).
        panels.register_panel(panels.MAIN, "referrals/partials/practice_referrals_card.html", order=10)
        panels.register_panel(panels.MAIN_END, "portal_admin/practice_panel.html", order=10)
        panels.register_panel(panels.MAIN_END, "pads/practice_panel.html", order=20)
        # What patients it referred say of the spa (referrals/followup), at the foot of the narrow column.
        panels.register_panel(panels.SIDE, "followup/practice_panel.html", order=30)

        # The referral figures follow the lower apps' writes that change them (a merge, a price, a time zone…).
        dependents.watch(figures.sources_changing)
        # So do the patients' rating figures (referrals/followup/ratings.py): a merge moves answers, a time zone months.
        from .followup import ratings

        dependents.watch(ratings.sources_changing)
