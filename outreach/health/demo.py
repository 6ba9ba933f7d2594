"""Demo check-ins and nudges in serenity-spa: a closer check-in rhythm with the VIP partner, then one run of
the check-in, thank-you and fresh-approach jobs over the demo practices, referrals and touchpoints (without
emails), so the practice pages and the partner-health list show what the jobs would have made.

Idempotent: does nothing once the spa has a practice with its own cadence (and the jobs are idempotent)."""

from partners.models import Practice, Stage

from ..models import CheckInCadence
from .checkins import check_in_cadence_set, check_ins_create_due
from .nudges import fresh_approaches_create, thank_you_suggestions_create

# (practice, check in every N days)
CADENCES = [("Glow Dermatology", 60)]


def seed_health(spa, owner):
    """Custom cadences and the jobs' first run; returns how many tasks the jobs created."""
    if CheckInCadence.objects.filter(spa=spa, cadence_days__isnull=False).exists():
        return 0
    for name, days in CADENCES:
        practice = Practice.objects.filter(spa=spa, name=name, stage=Stage.ACTIVE).first()
        if practice is not None:
            check_in_cadence_set(practice=practice, cadence_days=days, actor=owner)
    return (
        check_ins_create_due(spa=spa, notify=False)
        + thank_you_suggestions_create(spa=spa)
        + fresh_approaches_create(spa=spa)
    )
