from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self):
        from spas import dependents

        # Registers the "referral_pad" and "outcome_report" document kinds (a lower app never imports us).
        from . import figures  # noqa: F401
        from .outcomes import documents as outcome_documents  # noqa: F401
        from .pads import documents  # noqa: F401

        # The referral figures follow the lower apps' writes that change them (a merge, a price, a time zone…).
        dependents.watch(figures.sources_changing)
