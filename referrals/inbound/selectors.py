"""Reads for referrals by email and text: which spa a message is for, who sent it, and the spa's drafts."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django_scopes import scopes_disabled

from infra import soft_cache
from infra.phones import EXTENSION_SEPARATOR, phone_key
from partners.models import Clinician, OfficeContact, Practice
from spas.models import Spa

from ..models import PortalAccess, ReferralSettings
from .models import InboundReferralDraft

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# --- which spa --------------------------------------------------------------------------------------------


def inbound_domain():
    return (getattr(settings, "INBOUND_DOMAIN", "") or "").strip().lower()


def inbound_address(spa):
    """The spa's referral address (``<slug>@<INBOUND_DOMAIN>``), or "" when this server takes no email."""
    domain = inbound_domain()
    return f"{spa.slug}@{domain}" if domain else ""


def _slug_of(address, domain):
    """The spa slug an address at our domain names ("serene+fax@…" → "serene"), or None."""
    local, _at, host = (address or "").lower().rpartition("@")
    slug = local.split("+", 1)[0]
    # Only what a spa's web address can be (letters, digits, hyphens): anything else names no spa.
    return slug if host == domain and SLUG.fullmatch(slug) else None


def spas_for_recipients(recipients):
    """The spas whose referral addresses are among ``recipients``, once each, in the order they appear."""
    domain = inbound_domain()
    slugs = []
    for address in recipients:
        slug = _slug_of(address, domain) if domain else None
        if slug and slug not in slugs:
            slugs.append(slug)
    found = {spa.slug: spa for spa in Spa.objects.filter(slug__in=slugs)} if slugs else {}
    return [found[slug] for slug in slugs if slug in found]


def spa_for_sms_number(number):
    """The spa whose referral text number is ``number`` (E.164), or None. Reads across spas on purpose: the
    number is what says which spa a text is for."""
    if not number:
        return None
    with scopes_disabled():
        row = ReferralSettings.objects.select_related("spa").filter(inbound_sms_number=number).first()
    return row.spa if row else None


def sms_number_of(spa):
    """The spa's referral text number (E.164), or ""."""
    row = ReferralSettings.objects.filter(spa=spa).only("inbound_sms_number").first()
    return row.inbound_sms_number if row else ""


# --- who sent it --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SenderMatch:
    practice: Practice = None
    clinician: Clinician = None
    contact: OfficeContact = None

    @property
    def needs_review(self):
        return self.practice is None


def _resolved(candidates):
    """One practice among the candidates [(practice, clinician, contact)], or no match at all: an address or
    number shared by two practices is for a person to sort out, not for us to pick."""
    practices = {practice.pk: practice for practice, _clinician, _contact in candidates}
    if len(practices) != 1:
        return SenderMatch()
    clinicians = {clinician.pk: clinician for _practice, clinician, _contact in candidates if clinician}
    contacts = {contact.pk: contact for _practice, _clinician, contact in candidates if contact}
    return SenderMatch(
        practice=next(iter(practices.values())),
        clinician=next(iter(clinicians.values())) if len(clinicians) == 1 else None,
        contact=next(iter(contacts.values())) if len(contacts) == 1 else None,
    )


def sender_match_by_email(*, spa, address):
    """The spa's practice that ``address`` belongs to: an office contact's, a clinician's or a portal user's."""
    address = (address or "").strip()
    if not address:
        return SenderMatch()
    candidates = [
        (contact.practice, None, contact)
        for contact in OfficeContact.objects.filter(spa=spa, email__iexact=address).select_related("practice")
    ]
    candidates += [
        (clinician.practice, clinician, None)
        for clinician in Clinician.objects.filter(spa=spa, email__iexact=address).select_related("practice")
    ]
    candidates += [
        (access.practice, None, None)
        for access in PortalAccess.objects.filter(
            spa=spa, revoked_at=None, user__email__iexact=address, user__is_active=True
        ).select_related("practice")
    ]
    return _resolved(candidates)


def sender_match_by_phone(*, spa, number):
    """The spa's practice whose phone, or whose clinician's or office contact's phone, is ``number`` (E.164)."""
    if not number or not number.startswith("+"):
        return SenderMatch()
    line = phone_key(number, spa.country)
    if not line:
        return SenderMatch()
    # A practice keeps its phone's key (``phone_normalized``); clinicians and office contacts keep only the stored
    # form, E.164 with ";ext=…" after it, so the same line is the key alone or the key with an extension.
    same_line = Q(phone=line) | Q(phone__startswith=f"{line}{EXTENSION_SEPARATOR}")
    candidates = [(practice, None, None) for practice in Practice.objects.filter(spa=spa, phone_normalized=line)]
    candidates += [
        (clinician.practice, clinician, None)
        for clinician in Clinician.objects.filter(same_line, spa=spa).select_related("practice")
    ]
    candidates += [
        (contact.practice, None, contact)
        for contact in OfficeContact.objects.filter(same_line, spa=spa).select_related("practice")
    ]
    return _resolved(candidates)


# --- the spa's drafts ----------------------------------------------------------------------------------------


def drafts(*, spa, status):
    """The spa's drafts in ``status``, newest first, with what the list shows."""
    return (
        InboundReferralDraft.objects.filter(spa=spa, status=status)
        .select_related("practice", "clinician", "contact", "referral", "decided_by")
        .annotate(attachment_count=Count("attachments"))
        .order_by("-created_at", "-id")
    )


def draft_counts(*, spa):
    """{status: number of drafts} for the list's tabs: one GROUP BY."""
    by_status = dict(
        InboundReferralDraft.objects.filter(spa=spa).order_by().values_list("status").annotate(count=Count("pk"))
    )
    return {status: by_status.get(status, 0) for status in InboundReferralDraft.Status.values}


def draft_detail(*, spa, public_id):
    """One of the spa's drafts with its matches and attachments, or None (another spa's is None too)."""
    return (
        InboundReferralDraft.objects.filter(spa=spa, public_id=public_id)
        .select_related("practice", "clinician", "contact", "referral", "decided_by")
        .prefetch_related("attachments")
        .first()
    )


# The inbox shows how many drafts wait, on every view: cached per spa under a generation that every draft
# change bumps after commit, so a quiet inbox runs no COUNT for them.
PENDING_COUNT_SECONDS = 3600


def _drafts_generation_key(spa_id):
    return f"inbound-drafts-generation:{spa_id}"


def drafts_changed(spa_id):
    """Call after a draft is created, confirmed or discarded: the inbox's "to confirm" count is read again."""
    transaction.on_commit(lambda: soft_cache.bump(_drafts_generation_key(spa_id)))


def pending_draft_count(*, spa):
    """How many drafts wait for a person (cached; counted again after any change)."""
    generation = soft_cache.get(_drafts_generation_key(spa.pk), 0)
    key = f"inbound-drafts-pending:{spa.pk}:{generation}"
    count = soft_cache.get(key)
    if count is None:
        count = InboundReferralDraft.objects.filter(spa=spa, status=InboundReferralDraft.Status.PENDING).count()
        soft_cache.set(key, count, PENDING_COUNT_SECONDS)
    return count
