"""Patient follow-up, the reads: may the spa write to this patient and by which channel, a referral's follow-up,
the follow-up behind a patient's link, and the per-practice rating."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import F, Sum
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from infra.phones import textable_phone
from infra.sms_outbox import texts_enabled

from ..inbound.selectors import sms_number_of
from ..models import Authorization, ContactMethod, PatientFollowUp, RatingMonthFigures
from .links import read_link_token


@dataclass(frozen=True)
class Route:
    """Where the thank-you goes: ``channel`` (PatientFollowUp.Channel), ``to`` (an email address or an E.164
    number) and, for a text, ``from_number``: the spa's referral text number."""

    channel: str
    to: str
    from_number: str = ""


def _text_route(referral):
    """A text route when the patient prefers texts, has a valid number, and the spa can send texts; else None."""
    if referral.preferred_contact_method != ContactMethod.TEXT or not texts_enabled():
        return None
    to = textable_phone(referral.patient_phone, referral.spa.country)
    if not to:
        return None
    from_number = sms_number_of(referral.spa)
    return Route(PatientFollowUp.Channel.TEXT, to, from_number) if from_number else None


def follow_up_route(referral):
    """How the follow-up reaches this patient: by text when they prefer texts, gave a valid phone number, texts are
    configured (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN) and the spa has a referral text number; else by email
    when their address is known; else None. Consent is ``contact_refusal``'s question, not this one's."""
    if referral.health_fields_purged_at:
        return None
    route = _text_route(referral)
    if route is None and referral.patient_email:
        route = Route(PatientFollowUp.Channel.EMAIL, referral.patient_email)
    return route


def contact_refusal(referral):
    """Why the spa may not write to this patient after their visit, or "" when it may.

    The rule is the referral's own: the patient agreed to be contacted (every channel records it), there is a way
    to reach them (``follow_up_route``: their email, or a text when they prefer texts and the spa can send them)
    and it is not erased, and they have not revoked an authorization for this referral (a revocation is read as
    "stop contacting me" too: the safer reading for a message nobody asked for).
    """
    if not referral.consent_to_contact:
        return _("The patient did not agree to be contacted.")
    if follow_up_route(referral) is None:
        return _no_way_to_reach(referral)
    if referral.archived_at:
        return _("The referral is archived.")
    if Authorization.objects.filter(spa=referral.spa, referral=referral, revoked_at__isnull=False).exists():
        return _("The patient revoked their authorization.")
    return ""


def _no_way_to_reach(referral):
    """Why neither an email nor a text can reach the patient, in the words staff act on."""
    if referral.health_fields_purged_at or referral.preferred_contact_method != ContactMethod.TEXT:
        return _("No email address for the patient.")
    if not textable_phone(referral.patient_phone, referral.spa.country):
        return _("No email address for the patient, and no valid phone number to text.")
    return _(
        "No email address for the patient, and this spa cannot send texts yet (no text provider or no referral "
        "text number)."
    )


def follow_up_for(referral):
    """The referral's follow-up (with its answer and testimonial permission), or None."""
    return (
        PatientFollowUp.objects.filter(spa=referral.spa, referral=referral)
        .select_related("satisfaction", "testimonial", "text_message")
        .first()
    )


def follow_up_by_link(token, purpose):
    """The follow-up a patient's link names, with its spa, referral, answer and testimonial permission; raises
    links.LinkExpired/LinkInvalid.

    Read without a tenant scope (a patient's link names no spa); the caller works inside the follow-up's spa.
    """
    public_id = read_link_token(token, purpose)
    with scopes_disabled():
        follow_up = (
            PatientFollowUp.objects.select_related("spa", "referral", "practice", "satisfaction", "testimonial")
            .filter(public_id=public_id)
            .first()
        )
    return follow_up


def _average(score_sum, answers):
    return round(score_sum / answers, 1) if answers else None


def practice_rating(*, spa, practice):
    """{"average": 4.8 or None, "count": 12}: what patients referred by ``practice`` say of the spa.

    Summed from the practice's rating figures (ratings.py): a row per month with answers, never the answers.
    """
    row = RatingMonthFigures.objects.filter(spa=spa, practice=practice).aggregate(
        answers=Sum("answers"), score_sum=Sum("score_sum")
    )
    answers = row["answers"] or 0
    return {"average": _average(row["score_sum"], answers), "count": answers}


def _month_of_boundary(spa, moment):
    """The month that starts at ``moment`` on the spa's calendar; ValueError if it is not a month's first moment."""
    local = moment.astimezone(zoneinfo.ZoneInfo(spa.timezone))
    if local.day != 1 or local.time() != datetime.time.min:
        raise ValueError(f"Ratings are kept per month of the spa's calendar: {moment.isoformat()} starts no month.")
    return local.date()


def ratings_by_practice(*, spa, since, before):
    """Per practice, the answers submitted in [since, before): [{"name", "answers", "average"}], most answers first.

    ``since`` and ``before`` are month boundaries on the spa's calendar (a report's period is whole months): the
    practice-month rating figures in between are summed, a row per practice and month.
    """
    rows = (
        RatingMonthFigures.objects.filter(
            spa=spa, month__gte=_month_of_boundary(spa, since), month__lt=_month_of_boundary(spa, before)
        )
        .values("practice_id", name=F("practice__name"))
        .annotate(answers=Sum("answers"), score_sum=Sum("score_sum"))
        .filter(answers__gt=0)
        .order_by("-answers", "name", "practice_id")
    )
    return [
        {"name": row["name"], "answers": row["answers"], "average": _average(row["score_sum"], row["answers"])}
        for row in rows
    ]
