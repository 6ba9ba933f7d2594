"""manage.py seed_demo — idempotent demo data for every app, then every demo login printed.

It lives in the project package because it reads every app (spas ← partners ← referrals ← outreach)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from outreach.demo import seed_outreach
from partners.demo import seed_partners
from referrals.demo import seed_referrals
from spas.demo import seed_catalog, seed_spas


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
        """Each app past spas adds its demo data here, in dependency order, and returns lines to print."""
        spas = {spa.slug: spa for spa, _logins in seeded}
        lines = []
        for spa in spas.values():
            seed_catalog(spa)
        lines += seed_partners(spas)
        lines += seed_referrals(spas)
        lines += seed_outreach(spas)
        return lines
