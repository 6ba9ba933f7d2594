"""manage.py rebuild_partner_health [--spa slug] [--check] — assess every trial and active partner again.

Partner health is kept per partner (outreach/health_snapshots.py) by every write that changes it, and assessed
again shortly after each spa's midnight; run this after loading practices, touchpoints or referrals behind the
services' back (a bulk import, a restore, after ``rebuild_referral_figures``; ``bench/seed.py`` does it itself),
after fixing rows by hand, or when ``--check`` reports a difference. Spa by spa, each in its own transaction,
with its partners' rows locked so a write meanwhile is never overwritten by an older assessment.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scope, scopes_disabled

from outreach import health_snapshots
from spas.models import Spa


class Command(BaseCommand):
    help = "Assess every trial and active partner's health again (what the dashboard reads)."

    def add_arguments(self, parser):
        parser.add_argument("--spa", metavar="SLUG", help="Only this spa (default: every spa, one by one).")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit 1 if a spa's kept partner health differs from a fresh assessment for today.",
        )

    def handle(self, *args, spa=None, check=False, **options):
        with scopes_disabled():  # a job over all spas: it lists them, then works inside each one's scope
            spas = Spa.objects.order_by("slug")
            if spa:
                spas = spas.filter(slug=spa)
            spas = list(spas)
        if spa and not spas:
            raise CommandError(f"No spa with the slug {spa!r}.")
        differing = []
        for each in spas:
            with scope(spa=each):
                if check:
                    wrong = health_snapshots.differences(each)
                    if wrong:
                        differing.append(each.slug)
                        self.stdout.write(
                            f"{each.slug}: {len(wrong)} partners differ from a fresh assessment, e.g. {wrong[0]}"
                        )
                else:
                    with transaction.atomic():
                        partners = health_snapshots.refresh_spa(spa=each)
                    self.stdout.write(f"{each.slug}: {partners} partners")
        if differing:
            raise CommandError(f"{len(differing)} spa(s) need a rebuild: " + ", ".join(differing))
        self.stdout.write(self.style.SUCCESS("Partner health checked." if check else "Partner health rebuilt."))
