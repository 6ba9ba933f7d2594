from django.apps import AppConfig


class SpaReferralsConfig(AppConfig):
    name = "spa_referrals"
    verbose_name = "Spa Referrals"
