"""Reads for FHIR."""

from django.db.models import Prefetch

from ..models import Referral, ReferralEvent
from .mapping import PRACTICE_STATUS_EVENTS


def referral_of_key(*, api_key, public_id):
    """One of the key's practice's referrals, with what its ServiceRequest shows in hand, or None: another
    practice's referral (of this spa or another) is None exactly like a missing one."""
    return (
        Referral.objects.filter(spa=api_key.spa, practice=api_key.practice, public_id=public_id)
        .select_related("spa", "practice", "clinician")
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.filter(kind__in=PRACTICE_STATUS_EVENTS)),
        )
        .first()
    )
