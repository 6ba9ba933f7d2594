"""A patient's rights, the reads: finding the referrals that are probably the same patient."""

from django.db.models import Q
from django.utils.translation import gettext_lazy

from infra.phones import phone_key

from ..models import Referral


class MatchReason:
    ANCHOR = "anchor"
    EMAIL = "email"
    PHONE = "phone"
    NAME_AND_BIRTH_DATE = "name_and_birth_date"
    NAME = "name"

    LABELS = {
        ANCHOR: gettext_lazy("This referral"),
        EMAIL: gettext_lazy("Same email"),
        PHONE: gettext_lazy("Same phone number"),
        NAME_AND_BIRTH_DATE: gettext_lazy("Same name and date of birth"),
        NAME: gettext_lazy("Same name only: check before including"),
    }
    # A shared family phone or a common name is not proof: those matches start unselected.
    CONFIDENT = {ANCHOR, EMAIL, PHONE, NAME_AND_BIRTH_DATE}


# --- finding one patient ---------------------------------------------------------------------------


def patient_matches(*, spa, referral):
    """Referrals of ``spa`` that are probably the same patient as ``referral``, each with why it matched.

    Returns [(referral, reason)], the given referral first. Referrals already erased have nothing left to
    match on and are not listed.
    """
    email = referral.patient_email.strip()
    phone = phone_key(referral.patient_phone, spa.country)
    first, last = referral.patient_first_name.strip(), referral.patient_last_name.strip()
    candidates = Q(pk__in=[])
    if email:
        candidates |= Q(patient_email__iexact=email)
    if phone:
        # Phones are stored in E.164 (perhaps with ";ext="), except the few typed before validation that name no
        # valid number: both keep the number's last four digits together. Narrow by them in the database, then
        # compare the keys.
        candidates |= Q(patient_phone__contains=phone[-4:])
    if first and last:
        candidates |= Q(patient_first_name__iexact=first, patient_last_name__iexact=last)
    others = (
        Referral.objects.filter(spa=spa, health_fields_purged_at=None)
        .filter(candidates)
        .exclude(pk=referral.pk)
        .select_related("practice")
        .order_by("-received_at", "-id")
    )
    matches = [(referral, MatchReason.ANCHOR)]
    for other in others:
        reason = _match_reason(referral, other, email=email, phone=phone, region=spa.country)
        if reason:
            matches.append((other, reason))
    return matches


def _match_reason(referral, other, *, email, phone, region):
    if email and other.patient_email.strip().lower() == email.lower():
        return MatchReason.EMAIL
    if phone and phone_key(other.patient_phone, region) == phone:
        return MatchReason.PHONE
    same_name = (
        other.patient_first_name.strip().lower() == referral.patient_first_name.strip().lower()
        and other.patient_last_name.strip().lower() == referral.patient_last_name.strip().lower()
    )
    if same_name and referral.patient_date_of_birth and other.patient_date_of_birth == referral.patient_date_of_birth:
        return MatchReason.NAME_AND_BIRTH_DATE
    if same_name:
        return MatchReason.NAME
    return None
