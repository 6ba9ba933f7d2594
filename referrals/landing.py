"""The patient landing page behind a referral pad's QR code (/r/<code>): resolving the code, the per-IP
submission limit, and the patient's self-referral."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from partners.models import ReferralCode
from spa_referrals import soft_cache
from spa_referrals.client_ip import client_ip

from .consent import authorization_confirmation_send, authorization_create
from .models import Authorization, Channel, ConsentMethod, ContactMethod
from .services import referral_create

# Accepted submissions per client IP per hour. Patients at a clinic's front desk may share its Wi-Fi (one
# IP), so only submissions that were taken (or silently dropped as spam) count, not ones with typos.
DEFAULT_SUBMISSIONS_PER_HOUR = 5
RATE_WINDOW_SECONDS = 3600
PATIENT_LABEL = "Patient (landing page)"


def referral_code_resolve(code):
    """The practice or clinician code typed at /r/<code>, case-insensitively, whatever spa owns it; or None.

    Codes are unique across spas and always stored upper-case, so the lookup stays an indexed exact match.
    """
    code = (code or "").strip().upper()
    if not code or len(code) > ReferralCode._meta.get_field("code").max_length:
        return None
    with scopes_disabled():
        return ReferralCode.objects.select_related("spa", "practice", "clinician").filter(code=code).first()


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
        request=request,
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
