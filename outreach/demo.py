"""Demo outreach for the demo spas: touchpoints and tasks, a running campaign, events, objections, a gift
ledger with one clinician near the yearly limit, and the scheduled jobs' first run (check-ins due,
thank-you note suggestions, fresh approaches), then the partner health the dashboard reads. Every part is
idempotent."""

from django_scopes import scope

from spas.models import Membership, Role

from .activity.demo import seed_activity
from .campaigns.demo import seed_campaigns
from .events.demo import seed_events
from .gifts.demo import seed_gifts
from .health.demo import seed_health
from .health.snapshots import refresh_spa
from .objections.demo import seed_objections

# In dependency order: the history first, then what reads it (the jobs look at touchpoints and referrals).
PARTS = [seed_activity, seed_campaigns, seed_events, seed_objections, seed_gifts, seed_health]


def seed_outreach(spas):
    """Seed every demo spa's outreach. Returns lines for seed_demo to print."""
    lines = []
    for spa in spas.values():
        with scope(spa=spa):
            owner = Membership.objects.filter(spa=spa, role=Role.OWNER).select_related("user").first().user
            for part in PARTS:
                part(spa, owner)
            # The demo dates its practices' stage moves back behind the services' back (partners/demo.py).
            refresh_spa(spa=spa)
    if "serenity-spa" in spas:
        lines.append("  Outreach (My day, campaigns, events, gifts): /s/serenity-spa/outreach/")
    return lines
