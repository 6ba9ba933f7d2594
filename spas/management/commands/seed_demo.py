"""manage.py seed_demo — idempotent demo data, then every demo login printed."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from spas.demo import seed_spas


class Command(BaseCommand):
    help = "Create (or complete) the demo spas and print their logins. Safe to run repeatedly."

    def handle(self, *args, **options):
        with transaction.atomic():
            seeded = seed_spas()
            extra_lines = self._seed_later_apps(seeded)
        self.stdout.write(
            self.style.SUCCESS("Demo data is ready. Sign in at " + settings.SITE_URL + "/accounts/login/")
        )
        for spa, logins in seeded:
            self.stdout.write(f"  {spa.name} (/s/{spa.slug}/)")
            for email, password in logins:
                self.stdout.write(f"    login: {email} / {password}")
        for line in extra_lines:
            self.stdout.write(line)

    def _seed_later_apps(self, seeded):
        """Each app past spas adds its demo data here (partners, referrals, outreach) and returns lines to print."""
        return []
