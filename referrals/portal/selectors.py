"""Reads for the partner portal (one practice's own referrals: the list and one referral's page) and for the
spa's portal panel (who has access, who is invited)."""

from django.db.models import Prefetch

from ..models import PortalAccess, PortalInvitation, Referral, ReferralEvent, ReferralService

# The practice sees when its referral arrived, how its status moved and what it added itself: never the spa's
# notes, attempts or assignments.
PRACTICE_VISIBLE_EVENT_KINDS = [
    ReferralEvent.Kind.RECEIVED,
    ReferralEvent.Kind.STATUS,
    ReferralEvent.Kind.PRACTICE_NOTE,
]


def portal_referrals(*, spa, practice):
    """A practice's own referrals, newest first: what its staff see in the portal."""
    return (
        Referral.objects.filter(spa=spa, practice=practice).select_related("clinician").order_by("-received_at", "-id")
    )


def portal_referral_detail(*, spa, practice, public_id):
    """One of the practice's referrals with its status timeline and recommended services, or None."""
    return (
        Referral.objects.filter(spa=spa, practice=practice, public_id=public_id)
        .select_related("clinician")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=ReferralEvent.objects.filter(kind__in=PRACTICE_VISIBLE_EVENT_KINDS).order_by(
                    "created_at", "id"
                ),
                to_attr="practice_timeline",
            ),
            Prefetch("recommended", queryset=ReferralService.objects.select_related("service")),
        )
        .first()
    )


def practice_portal_accesses(*, spa, practice):
    """Who may use the portal for this practice (active first), with their accounts loaded."""
    return (
        PortalAccess.objects.filter(spa=spa, practice=practice, revoked_at=None)
        .select_related("user")
        .order_by("user__email")
    )


def practice_pending_portal_invitations(*, spa, practice):
    return [
        invitation
        for invitation in PortalInvitation.objects.filter(
            spa=spa, practice=practice, accepted_at=None, revoked_at=None
        ).select_related("invited_by")
        if invitation.state == "pending"
    ]
