"""manage.py rebuild_referral_figures [--spa slug] [--check] — count the referral figures again from the referrals.

The figures (referrals/figures.py) are kept up to date by every write; run this after loading referrals
behind the services' back (a bulk import, a restore, ``bench/seed.py`` does it itself), after fixing rows by
hand, or when ``--check`` reports a difference. Spa by spa, each in its own transaction and under the spa's
figures lock, so referrals written meanwhile are counted exactly once.
"""

from referrals import figures
from spas.rebuild_command import SpaRebuildCommand


class Command(SpaRebuildCommand):
    help = "Count the referral figures (dashboard, inbox tabs, partner health, reports) again from the referrals."
    check_help = "Change nothing; exit 1 if a spa's kept figures differ from a count."
    what, unit, fresh = "Figures", "rows", "a fresh count"

    def rebuild_spa(self, spa):
        return figures.rebuild(spa)

    def differences(self, spa):
        return figures.differences(spa)
