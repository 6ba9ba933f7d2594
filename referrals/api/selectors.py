"""Reads for the practices' APIs (the REST API here, FHIR in ``referrals.fhir``): what a practice may see."""

from django.db.models import Prefetch

from ..models import Referral, ReferralEvent, ReferralService

# The API timeline: the referral's arrival and its status changes (FHIR: the Task's lastModified), not the
# practice's own notes the portal shows too.
PRACTICE_TIMELINE_EVENTS = (ReferralEvent.Kind.RECEIVED, ReferralEvent.Kind.STATUS)


def referral_of_practice(*, api_key, public_id):
    """One of the key's practice's referrals with its spa, practice, clinician, practice-visible timeline and
    recommended services in hand, or None: another practice's referral (of this spa or another) is None exactly
    like a missing one."""
    return (
        Referral.objects.filter(spa=api_key.spa, practice=api_key.practice, public_id=public_id)
        .select_related("spa", "practice", "clinician")
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.filter(kind__in=PRACTICE_TIMELINE_EVENTS)),
            Prefetch("recommended", queryset=ReferralService.objects.select_related("service")),
        )
        .first()
    )
