"""manage.py rebuild_follow_up_ratings [--spa slug] [--check] — count the patients' rating figures again from their
answers.

The figures (referrals/followup/ratings.py) are kept up to date by every write; run this after loading answers
behind the services' back (an import, a restore), after fixing rows by hand, or when ``--check`` reports a
difference. Spa by spa, each in its own transaction and under the spa's ratings lock, so an answer given meanwhile
is counted exactly once.

A command of its own rather than a part of ``rebuild_referral_figures``: it counts another table (the answers, not
the referrals) under another lock, so repairing one never holds up the writers of the other.
"""

from referrals.followup import ratings
from spas.rebuild_command import SpaRebuildCommand


class Command(SpaRebuildCommand):
    help = "Count the patients' rating figures (practice page, Patient ratings report) again from their answers."
    check_help = "Change nothing; exit 1 if a spa's kept rating figures differ from a count."
    what, unit, fresh = "Rating figures", "rows", "a fresh count"

    def rebuild_spa(self, spa):
        return ratings.rebuild(spa)

    def differences(self, spa):
        return ratings.differences(spa)
