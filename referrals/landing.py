"""The patient landing page behind a referral pad's QR code (/r/<code>): resolving the code, the per-IP
limits on looking codes up and on submitting, and the patient's self-referral."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from infra import soft_cache
from infra.client_ip import client_ip
from partners.models import ReferralCode

from .consent.services import authorization_confirmation_send, authorization_create
from .models import Authorization, Channel, ConsentMethod, ContactMethod
from .services import referral_create

# Accepted submissions per client IP per hour. Patients at a clinic's front desk may share its Wi-Fi (one
# IP), so only submissions that were taken (or silently dropped as spam) count, not ones with typos.
DEFAULT_SUBMISSIONS_PER_HOUR = 5
RATE_WINDOW_SECONDS = 3600
PATIENT_LABEL = "Patient (landing page)"


def normalized_code(typed):
    """A code as a patient types it ("km7 qxz", "KM7-QXZ") as codes are stored, or "" when it cannot be one."""
    code = "".join(character for character in (typed or "") if not character.isspace() and character != "-").upper()
    if not code or not code.isascii() or not code.isalnum():
        return ""
    if len(code) > ReferralCode._meta.get_field("code").max_length:
        return ""
    return code


def referral_code_resolve(code):
    """The practice or clinician code typed at /r/<code>, case-insensitively, whatever spa owns it; or None.

    Codes are unique across spas and always stored upper-case, so the lookup stays an indexed exact match.
    """
    code = (code or "").strip().upper()
    if not code or len(code) > ReferralCode._meta.get_field("code").max_length:
        return None
    with scopes_disabled():
        return ReferralCode.objects.select_related("spa", "practice", "clinician").filter(code=code).first()


# Code lookups per client IP per minute (every /r/<code> page: the form, its posts, the thanks page). A patient
# needs a handful; someone trying random codes needs thousands, and a miss costs them more than a hit, so
# enumerating codes runs into the limit after a few tries while a patient with a typo does not.
DEFAULT_LOOKUPS_PER_MINUTE = 30
DEFAULT_UNKNOWN_CODE_WEIGHT = 5
LOOKUP_WINDOW_SECONDS = 60


def _lookup_key(request):
    return f"landing-lookups:{client_ip(request) or 'unknown'}"


def landing_lookup_limited(request):
    """Whether this client has used up its code lookups for the minute. Fails open with the cache down."""
    allowance = getattr(settings, "LANDING_LOOKUPS_PER_MINUTE", DEFAULT_LOOKUPS_PER_MINUTE)
    return (soft_cache.get(_lookup_key(request)) or 0) >= allowance


def landing_lookup_count(request, *, found):
    """Count one lookup against the client's allowance; an unknown code weighs more than a known one."""
    weight = 1 if found else getattr(settings, "LANDING_UNKNOWN_CODE_WEIGHT", DEFAULT_UNKNOWN_CODE_WEIGHT)
    key = _lookup_key(request)
    if not soft_cache.add(key, weight, LOOKUP_WINDOW_SECONDS):
        soft_cache.incr(key, LOOKUP_WINDOW_SECONDS, delta=weight)


def _submissions_per_hour():
    return getattr(settings, "LANDING_SUBMISSIONS_PER_HOUR", DEFAULT_SUBMISSIONS_PER_HOUR)


def _rate_key(request):
    return f"landing-submissions:{client_ip(request) or 'unknown'}"


def landing_rate_limited(request):
    """Whether this client has used up its submissions for the hour. With the cache down it fails open:
    a patient's referral matters more than the limit (the honeypot still stops simple bots)."""
    return (soft_cache.get(_rate_key(request)) or 0) >= _submissions_per_hour()


def landing_rate_count(request):
    """Count one submission against the client's hourly allowance (the window starts with the first one)."""
    key = _rate_key(request)
    if soft_cache.add(key, 1, RATE_WINDOW_SECONDS):
        return
    soft_cache.incr(key, RATE_WINDOW_SECONDS)


@transaction.atomic
def landing_referral_create(*, referral_code, patient, details, sharing_signer_name="", request=None):
    """The patient's self-referral from the landing page, attributed to the code's practice (and clinician).

    The patient gave consent themselves by ticking the box; the way they want to be reached must be one
    they gave us. With ``sharing_signer_name`` they also signed the authorization to share outcomes with
    the referring office; if they gave an email, it brings them the link that revokes it.
    """
    method = patient.get("preferred_contact_method")
    if method == ContactMethod.EMAIL and not patient.get("patient_email"):
        raise ValidationError({"patient_email": _("Give your email so we can write to you.")})
    if method in (ContactMethod.PHONE, ContactMethod.TEXT) and not patient.get("patient_phone"):
        raise ValidationError({"patient_phone": _("Give your phone number so we can reach you.")})
    referral = referral_create(
        spa=referral_code.spa,
        practice=referral_code.practice,
        clinician=referral_code.clinician,
        channel=Channel.LANDING,
        patient=patient,
        details=details,
        consent_method=ConsentMethod.PATIENT_ONLINE,
        consent_captured_by=f"{PATIENT_LABEL}, code {referral_code.code}",
        created_by_label=PATIENT_LABEL,
    )
    if sharing_signer_name:
        authorization, raw_token = authorization_create(
            referral=referral,
            signature_method=Authorization.SignatureMethod.TYPED,
            signer_name=sharing_signer_name,
            allows_outcome_sharing=True,
            recorded_by_label=PATIENT_LABEL,
            request=request,
        )
        if patient.get("patient_email"):
            authorization_confirmation_send(
                authorization=authorization, raw_token=raw_token, to=patient["patient_email"]
            )
    return referral
