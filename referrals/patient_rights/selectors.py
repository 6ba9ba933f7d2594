"""A patient's rights, the reads: finding the referrals that are probably the same patient."""

import re

from django.db.models import Q
from django.utils.translation import gettext_lazy

from infra.phones import EXTENSION_SEPARATOR, without_extension

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


def phone_digits(phone):
    """The digits of a phone number, without a leading US country code: "(617) 555-0142" → "6175550142"."""
    digits = re.sub(r"\D", "", without_extension(phone))
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


# --- finding one patient ---------------------------------------------------------------------------


def patient_matches(*, spa, referral):
    """Referrals of ``spa`` that are probably the same patient as ``referral``, each with why it matched.

    Returns [(referral, reason)], the given referral first. Referrals already erased have nothing left to
    match on and are not listed.
    """
    email = referral.patient_email.strip()
    digits = phone_digits(referral.patient_phone)
    first, last = referral.patient_first_name.strip(), referral.patient_last_name.strip()
    candidates = Q(pk__in=[])
    if email:
        candidates |= Q(patient_email__iexact=email)
    if len(digits) >= 7:
        # Older phones are stored as typed, newer ones in E.164 (perhaps with ";ext="): narrow in the database by
        # the last four digits of the number, then compare digits.
        candidates |= Q(patient_phone__endswith=digits[-4:]) | Q(
            patient_phone__contains=f"{digits[-4:]}{EXTENSION_SEPARATOR}"
        )
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
        reason = _match_reason(referral, other, email=email, digits=digits)
        if reason:
            matches.append((other, reason))
    return matches


def _match_reason(referral, other, *, email, digits):
    if email and other.patient_email.strip().lower() == email.lower():
        return MatchReason.EMAIL
    if len(digits) >= 7 and phone_digits(other.patient_phone) == digits:
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
