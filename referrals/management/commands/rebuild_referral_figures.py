"""manage.py rebuild_referral_figures [--spa slug] [--check] — count the referral figures again from the referrals.

The figures (referrals/figures.py) are kept up to date by every write; run this after loading referrals
behind the services' back (a bulk import, a restore, ``bench/seed.py`` does it itself), after fixing rows by
hand, or when ``--check`` reports a difference. Spa by spa, each in its own transaction and under the spa's
figures lock, so referrals written meanwhile are counted exactly once.
"""

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope, scopes_disabled

from referrals import figures
from spas.models import Spa


class Command(BaseCommand):
    help = "Count the referral figures (dashboard, inbox tabs, partner health, reports) again from the referrals."

    def add_arguments(self, parser):
        parser.add_argument("--spa", metavar="SLUG", help="Only this spa (default: every spa, one by one).")
        parser.add_argument(
            "--check", action="store_true", help="Change nothing; exit 1 if a spa's kept figures differ from a count."
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
                    wrong = figures.differences(each)
                    if wrong:
                        differing.append(each.slug)
                        self.stdout.write(f"{each.slug}: {len(wrong)} rows differ from a fresh count, e.g. {wrong[0]}")
                else:
                    rows = figures.rebuild(each)
                    self.stdout.write(f"{each.slug}: {rows} rows")
        if differing:
            raise CommandError(f"{len(differing)} spa(s) need a rebuild: " + ", ".join(differing))
        self.stdout.write(self.style.SUCCESS("Figures checked." if check else "Figures rebuilt."))
