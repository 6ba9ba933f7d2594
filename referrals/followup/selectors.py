"""Patient follow-up, the reads: may the spa write to this patient, a referral's follow-up, the follow-up behind
a patient's link, and the per-practice rating."""

from django.db.models import Avg, Count, F
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from ..models import Authorization, PatientFollowUp, SatisfactionResponse
from .links import read_link_token


def contact_refusal(referral):
    """Why the spa may not write to this patient after their visit, or "" when it may.

    The rule is the referral's own: the patient agreed to be contacted (every channel records it), their email is
    known and not erased, and they have not revoked an authorization for this referral (a revocation is read as
    "stop contacting me" too: the safer reading for a message nobody asked for).
    """
    if not referral.consent_to_contact:
        return _("The patient did not agree to be contacted.")
    if referral.health_fields_purged_at or not referral.patient_email:
        return _("No email address for the patient.")
    if referral.archived_at:
        return _("The referral is archived.")
    if Authorization.objects.filter(spa=referral.spa, referral=referral, revoked_at__isnull=False).exists():
        return _("The patient revoked their authorization.")
    return ""


def follow_up_for(referral):
    """The referral's follow-up (with its answer and testimonial permission), or None."""
    return (
        PatientFollowUp.objects.filter(spa=referral.spa, referral=referral)
        .select_related("satisfaction", "testimonial")
        .first()
    )


def follow_up_by_link(token, purpose):
    """The follow-up a patient's link names, with its spa and referral; raises links.LinkExpired/LinkInvalid.

    Read without a tenant scope (a patient's link names no spa); the caller works inside the follow-up's spa.
    """
    public_id = read_link_token(token, purpose)
    with scopes_disabled():
        follow_up = (
            PatientFollowUp.objects.select_related("spa", "referral", "practice").filter(public_id=public_id).first()
        )
    return follow_up


def practice_rating(*, spa, practice):
    """{"average": 4.8 or None, "count": 12}: what patients referred by ``practice`` say of the spa.

    Computed on read from SatisfactionResponse's (spa, practice) covering index: one row per answered follow-up,
    so a practice's count is in the tens or hundreds, an index-only scan (no figure to keep in step).
    """
    row = SatisfactionResponse.objects.filter(spa=spa, practice=practice).aggregate(
        average=Avg("score"), count=Count("id")
    )
    average = round(row["average"], 1) if row["average"] is not None else None
    return {"average": average, "count": row["count"]}


def ratings_by_practice(*, spa, since, before):
    """Per practice, the answers submitted in [since, before): [{"name", "answers", "average"}], most answers first."""
    rows = (
        SatisfactionResponse.objects.filter(spa=spa, submitted_at__gte=since, submitted_at__lt=before)
        .values(name=F("practice__name"))
        .annotate(average=Avg("score"), answers=Count("id"))
        .order_by("-answers", "name")
    )
    return [{**row, "average": round(row["average"], 1)} for row in rows]
