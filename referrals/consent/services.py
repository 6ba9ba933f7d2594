"""Patient authorizations (45 CFR 164.508(c)): the versioned wording, signing, revoking, and the check
that decides whether outcome information may be shared with a referring office right now.

The wording is filled in by plain substitution of a fixed set of {placeholders} — never a template
language — and the exact text is stored with each authorization.
"""

import re
import secrets
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.client_ip import client_ip
from infra.outbox import email_enqueue
from infra.templatetags.dates import legal_date

from ..followup.services import follow_ups_stop_for_revocation
from ..models import Authorization, ConsentTemplate, referral_settings_for
from .selectors import revocation_token_hash

# The patient's revocation link works at least this long, and always as long as the authorization runs.
REVOCATION_LINK_MINIMUM = timedelta(days=365)
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
PLACEHOLDERS = {
    "patient_name": "the patient's full name",
    "spa_name": "the spa (who discloses)",
    "recipient": "the referring practice and clinician (who receives)",
    "information": "what is disclosed",
    "purpose": "why",
    "expiry_date": "when the authorization ends",
    "spa_contact": "how to revoke: the spa's email and phone",
}
DEFAULT_INFORMATION = (
    "Whether I attended, the services provided, the number of sessions, the practitioner's observations, "
    "recommendations and next steps, and any comfort or symptom measures I reported."
)
DEFAULT_PURPOSE = "To keep my referring provider informed about the care I received at my request."

DEFAULT_TEXT = """AUTHORIZATION TO SHARE INFORMATION

I, {patient_name}, authorize {spa_name} to disclose the following information about my visits:
{information}

It will be disclosed to {recipient}, for this purpose: {purpose}

This authorization ends on {expiry_date}, unless I revoke it earlier.

My right to revoke: I may revoke this authorization at any time by using the link in my confirmation \
email or by writing to {spa_contact}. Revoking does not undo disclosures already made in reliance on it.

Treatment not conditioned: {spa_name} will not condition my treatment, payment or eligibility for \
services on whether I sign this authorization.

Redisclosure: information disclosed under this authorization may be redisclosed by the recipient \
and may no longer be protected by federal privacy rules.

By signing I confirm that I have read this authorization and agree to it."""


def unknown_placeholders(text):
    return sorted({name for name in PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


def fill(text, values):
    """One pass over {name} tokens; values are never substituted again."""
    return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), match.group(0))), text)


def consent_template_current(*, spa):
    """The spa's current wording, creating version 1 from the default the first time."""
    template = ConsentTemplate.objects.filter(spa=spa).order_by("-version").first()
    if template is None:
        template = ConsentTemplate.objects.create(spa=spa, version=1, body=DEFAULT_TEXT)
    return template


@transaction.atomic
def consent_template_save(*, spa, body, actor):
    """Save new wording as the next version; signed authorizations keep the text they were signed with."""
    unknown = unknown_placeholders(body)
    if unknown:
        raise ValidationError({"body": _("Unknown placeholders: %(names)s.") % {"names": ", ".join(unknown)}})
    current = consent_template_current(spa=spa)
    template = ConsentTemplate(spa=spa, version=current.version + 1, body=body, created_by=actor)
    template.full_clean()
    template.save()
    audit_record(spa=spa, action="consent_template.saved", actor=actor, obj=template)
    return template


def authorization_default_expiry(*, spa, now=None):
    """When a new authorization ends unless the signer chose a date: the spa's validity (default 12 months)."""
    months = referral_settings_for(spa).authorization_validity_months
    return (now or timezone.now()) + relativedelta(months=months)


def _recipient_label(practice, clinician):
    return f"{clinician.display_name}, {practice.name}" if clinician else practice.name


@transaction.atomic
def authorization_create(
    *,
    referral,
    signature_method,
    signer_name,
    allows_outcome_sharing=True,
    expires_at=None,
    recipient_clinician=None,
    signed_form=None,
    recorded_by=None,
    recorded_by_label="",
    request=None,
):
    """Record an authorization for ``referral``. Returns (authorization, raw revocation token)."""
    spa = referral.spa
    if signature_method != Authorization.SignatureMethod.TYPED and signed_form is None:
        raise ValidationError({"signed_form": _("Upload the signed authorization form.")})
    if not (signer_name or "").strip():
        raise ValidationError({"signer_name": _("Type the signer's full name.")})
    now = timezone.now()
    expires_at = expires_at or authorization_default_expiry(spa=spa, now=now)
    if expires_at <= now:
        raise ValidationError({"expires_at": _("The authorization must end in the future.")})
    clinician = recipient_clinician if recipient_clinician is not None else referral.clinician
    template = consent_template_current(spa=spa)
    text = fill(
        template.body,
        {
            "patient_name": signer_name.strip(),
            "spa_name": spa.name,
            "recipient": _recipient_label(referral.practice, clinician),
            "information": DEFAULT_INFORMATION,
            "purpose": DEFAULT_PURPOSE,
            "expiry_date": expiry_in_words(spa, expires_at),
            "spa_contact": _spa_contact(spa),
        },
    )
    raw_token = secrets.token_urlsafe(32)
    authorization = Authorization(
        spa=spa,
        referral=referral,
        allows_contact=True,
        allows_outcome_sharing=allows_outcome_sharing,
        information_disclosed=DEFAULT_INFORMATION,
        discloser=spa.name,
        recipient_practice=referral.practice,
        recipient_clinician=clinician,
        recipient_label=_recipient_label(referral.practice, clinician),
        purpose=DEFAULT_PURPOSE,
        expires_at=expires_at,
        signature_method=signature_method,
        signer_name=signer_name.strip(),
        signed_at=now,
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:400],
        recorded_by=recorded_by if recorded_by is not None and recorded_by.is_authenticated else None,
        recorded_by_label=recorded_by_label[:255],
        template=template,
        text_signed=text,
        revocation_token_hash=revocation_token_hash(raw_token),
        revocation_token_expires_at=max(expires_at, now + REVOCATION_LINK_MINIMUM),
    )
    if signed_form is not None:
        authorization.signed_form = signed_form
    authorization.full_clean()
    authorization.save()
    audit_record(
        spa=spa,
        action="authorization.created",
        actor=authorization.recorded_by,
        actor_label=recorded_by_label,
        obj=authorization,
        detail={"method": signature_method, "sharing": allows_outcome_sharing},
    )
    return authorization, raw_token


@transaction.atomic
def authorization_revoke(*, authorization, channel, actor=None):
    """Revoke at once. Revoking twice changes nothing."""
    authorization = Authorization.objects.select_for_update().get(pk=authorization.pk)
    if authorization.revoked_at is not None:
        return authorization
    authorization.revoked_at = timezone.now()
    authorization.revoked_by = actor if actor is not None and actor.is_authenticated else None
    authorization.revocation_channel = channel
    authorization.save(update_fields=["revoked_at", "revoked_by", "revocation_channel"])
    audit_record(
        spa=authorization.spa,
        action="authorization.revoked",
        actor=authorization.revoked_by,
        actor_label="" if authorization.revoked_by else "patient",
        obj=authorization,
        detail={"channel": channel},
    )
    # The patient's scheduled thank-you stops in this same transaction (referrals/followup).
    follow_ups_stop_for_revocation(referral=authorization.referral)
    return authorization


def authorizations_mark_expired(*, spa, now=None):
    """Mark the authorizations of ``spa`` that ran out, each once, and audit it. Returns those this run marked.

    Each row is claimed with a conditional update, so a second run (or a second beat) marks nothing.
    """
    now = now or timezone.now()
    candidates = Authorization.objects.filter(
        spa=spa, revoked_at=None, expires_at__lte=now, expired_marked_at=None
    ).select_related("referral")
    marked = []
    for authorization in candidates:
        with transaction.atomic():
            if not Authorization.objects.filter(pk=authorization.pk, expired_marked_at=None).update(
                expired_marked_at=now
            ):
                continue
            audit_record(spa=spa, action="authorization.expired", actor_label="system", obj=authorization)
        marked.append(authorization)
    return marked


def consent_preview(*, spa, practice, clinician=None, patient_name=""):
    """The current wording as the patient would sign it today, for showing before they tick the box."""
    template = consent_template_current(spa=spa)
    expires_at = authorization_default_expiry(spa=spa)
    return fill(
        template.body,
        {
            "patient_name": patient_name or _("[your full name]"),
            "spa_name": spa.name,
            "recipient": _recipient_label(practice, clinician),
            "information": DEFAULT_INFORMATION,
            "purpose": DEFAULT_PURPOSE,
            "expiry_date": expiry_in_words(spa, expires_at),
            "spa_contact": _spa_contact(spa),
        },
    )


def expiry_in_words(spa, expires_at):
    """The end date as the patient reads it in the text they sign: "December 5, 2027" on the spa's calendar."""
    with timezone.override(spa.timezone):
        return legal_date(expires_at)


def _spa_contact(spa):
    return " / ".join(filter(None, [spa.referral_email or spa.email, spa.referral_phone or spa.phone])) or spa.name


def authorization_confirmation_send(*, authorization, raw_token, to):
    """Email the signer their revocation link (through the outbox). Nothing about their health is in it."""
    email_enqueue(
        spa=authorization.spa,
        to=to,
        template_name="referral-confirmation",
        context={
            "spa": authorization.spa,
            "revoke_url": settings.SITE_URL + reverse("public:consent_revoke", args=[raw_token]),
            "link_expires_at": authorization.revocation_token_expires_at,
        },
    )
