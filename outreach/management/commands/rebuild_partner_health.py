"""manage.py rebuild_partner_health [--spa slug] [--check] — assess every trial and active partner again.

Partner health is kept per partner (outreach/health/snapshots.py) by every write that changes it, and assessed
again shortly after each spa's midnight; run this after loading practices, touchpoints or referrals behind the
services' back (a bulk import, a restore, after ``rebuild_referral_figures``; ``bench/seed.py`` does it itself),
after fixing rows by hand, or when ``--check`` reports a difference. Spa by spa, each in its own transaction,
with its partners' rows locked so a write meanwhile is never overwritten by an older assessment.
"""

from django.db import transaction

from spas.rebuild_command import SpaRebuildCommand

from ...health import snapshots as health_snapshots


class Command(SpaRebuildCommand):
    help = "Assess every trial and active partner's health again (what the dashboard reads)."
    check_help = "Change nothing; exit 1 if a spa's kept partner health differs from a fresh assessment for today."
    what, unit, fresh = "Partner health", "partners", "a fresh assessment"

    def rebuild_spa(self, spa):
        with transaction.atomic():
            return health_snapshots.refresh_spa(spa=spa)

    def differences(self, spa):
        return health_snapshots.differences(spa)
