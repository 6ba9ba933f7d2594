from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self):
        # Registers the "referral_pad" document kind with spas.documents (a lower app never imports us).
        from . import documents  # noqa: F401
