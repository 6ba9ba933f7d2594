"""Writes for referrals that come in from the patient: the self-referral on the landing page behind a referral
pad's QR code (/r/<code>). Manual entry by the spa's staff calls the core ``referrals.services.referral_create``."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..consent.services import authorization_confirmation_send, authorization_create
from ..models import Authorization, Channel, ConsentMethod, ContactMethod
from ..services import referral_create

PATIENT_LABEL = "Patient (landing page)"


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
