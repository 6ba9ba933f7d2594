"""API keys: a practice's credential for the REST API, created and revoked by the spa's owners; and the
referral a key's system sends (through the REST API or FHIR), created the one way for both.

The raw key is returned once, by ``api_key_create``; only its SHA-256 hash and a short prefix
(so owners can tell keys apart) are stored.
"""

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from infra.audit import audit_record

from ..models import API_KEY_PREFIX, ApiKey, Channel, ConsentMethod, hash_api_key
from ..services import referral_create

# sk_ plus 7 characters of the random part: enough to tell keys apart, far too little to guess the rest.
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 7
# A raw key is sk_ + 43 characters; anything much longer is not one of ours and is not worth hashing.
RAW_KEY_MAX_LENGTH = 100
# Recording every use would turn each API read into a write; once a minute is enough to answer "is it in use?".
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_label(api_key):
    """How an API key is named in audit events and on the referrals it creates."""
    return f"API key “{api_key.name}” ({api_key.prefix}…)"


@transaction.atomic
def api_key_create(*, spa, practice, name, actor):
    """Create a key for ``practice``. Returns ``(api_key, raw_key)``; the raw key is never stored."""
    if practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Choose one of your partner practices.")})
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        spa=spa,
        practice=practice,
        name=(name or "").strip(),
        prefix=raw_key[:DISPLAY_PREFIX_LENGTH],
        key_hash=hash_api_key(raw_key),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    api_key.full_clean()
    api_key.save()
    audit_record(
        spa=spa,
        action="api_key.created",
        actor=actor,
        obj=api_key,
        detail={"practice": str(practice.public_id), "prefix": api_key.prefix},
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key, actor):
    """Revoke a key: every request made with it is refused from now on. Revoking twice changes nothing."""
    now = timezone.now()
    revoked = ApiKey.objects.filter(pk=api_key.pk, spa=api_key.spa, revoked_at=None).update(revoked_at=now) == 1
    if not revoked:
        api_key.refresh_from_db(fields=["revoked_at"])
        return api_key
    api_key.revoked_at = now
    audit_record(
        spa=api_key.spa,
        action="api_key.revoked",
        actor=actor,
        obj=api_key,
        detail={"prefix": api_key.prefix},
    )
    return api_key


def api_key_for_raw(raw_key):
    """The active key whose hash matches ``raw_key`` (with its spa and practice), or None.

    Reads across tenants on purpose: the key is what names the spa. Records the use at most once a
    minute, with a conditional update so concurrent requests do not all write.
    """
    if not raw_key or not raw_key.startswith(API_KEY_PREFIX) or len(raw_key) > RAW_KEY_MAX_LENGTH:
        return None
    with scopes_disabled():
        api_key = (
            ApiKey.objects.select_related("spa", "practice")
            .filter(key_hash=hash_api_key(raw_key), revoked_at=None)
            .first()
        )
        if api_key is None:
            return None
        # The practice's spa is the key's spa: share the object so reading practice.spa costs no query.
        if api_key.practice.spa_id == api_key.spa_id:
            api_key.practice.spa = api_key.spa
        now = timezone.now()
        cutoff = now - LAST_USED_RESOLUTION
        # Only when the row just read says it is stale; the update re-checks, so one of many concurrent
        # requests writes.
        if api_key.last_used_at is None or api_key.last_used_at < cutoff:
            stale = Q(last_used_at=None) | Q(last_used_at__lt=cutoff)
            if ApiKey.objects.filter(stale, pk=api_key.pk).update(last_used_at=now):
                api_key.last_used_at = now
    return api_key


def referral_create_with_key(*, api_key, data, label=None):
    """The referral a practice's system sends with ``api_key``: ``data`` is ReferralCreateInputSerializer's
    validated data (the REST API's rules already applied); consent is the clinic's attestation. ``label`` names
    the sender on the referral, its consent and its audit events (the key's label unless told)."""
    label = label or api_key_label(api_key)
    return referral_create(
        spa=api_key.spa,
        practice=api_key.practice,
        channel=Channel.API,
        patient={
            "patient_first_name": data["patient_first_name"],
            "patient_last_name": data["patient_last_name"],
            "patient_phone": data["patient_phone"],
            "patient_email": data["patient_email"],
            "preferred_contact_method": data["preferred_contact_method"],
            "preferred_contact_time": data["preferred_contact_time"],
            "patient_date_of_birth": data["patient_date_of_birth"],
        },
        details={
            "reason_category": data["reason_category"],
            "reason_text": data["reason_text"],
            "precautions": data["precautions"],
            "urgency": data["urgency"],
        },
        clinician=data["clinician"],
        services=data["services"],
        consent_to_contact=data["patient_consented_to_contact"],
        consent_method=ConsentMethod.CLINIC_ATTESTATION,
        consent_captured_by=label,
        created_by_label=label,
    )
