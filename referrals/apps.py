from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self):
        # Registers the "referral_pad" and "outcome_report" document kinds (a lower app never imports us).
        from . import documents, outcome_documents  # noqa: F401
