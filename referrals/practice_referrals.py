"""A practice's referrals on its page: the latest few with their status, and how many there are per status.

partners (a lower app) must not import referrals, so the practice page includes a template whose tag
(templatetags/practice_referral_tags.py) calls this. Two queries, whatever the number of referrals.
"""

from dataclasses import dataclass, field

from django.db.models import Count

from .models import Referral, Status

LATEST = 10


@dataclass
class PracticeReferrals:
    latest: list = field(default_factory=list)
    # (status value, label, count) for every status the practice has referrals in, in the lifecycle's order.
    counts: list = field(default_factory=list)
    total: int = 0


def practice_referrals(*, spa, practice, limit=LATEST):
    """The practice's newest ``limit`` referrals (with their clinician) and its counts per status."""
    referrals = Referral.objects.filter(spa=spa, practice=practice)
    latest = list(referrals.select_related("clinician").order_by("-received_at", "-id")[:limit])
    by_status = dict(referrals.order_by().values_list("status").annotate(count=Count("pk")))
    counts = [(status.value, status.label, by_status[status.value]) for status in Status if by_status.get(status.value)]
    return PracticeReferrals(latest=latest, counts=counts, total=sum(by_status.values()))
