"""The spa's service catalog (services, offers, credentials, equipment, product lines) and its
per-specialty talking points: the writes, the reads, and the defaults a new spa starts with."""

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.audit import audit_record
from infra.outbox import email_enqueue

from . import dependents
from .models import (
    Credential,
    Equipment,
    Membership,
    Offer,
    ProductLine,
    Role,
    Service,
    Specialty,
    SpecialtyTalkingPoints,
)

CATALOG_MODELS = {
    "services": Service,
    "offers": Offer,
    "credentials": Credential,
    "equipment": Equipment,
    "product-lines": ProductLine,
}

DEFAULT_TALKING_POINTS = {
    Specialty.DERMATOLOGY: _(
        "Calming, non-irritating facials for patients after peels, lasers and injectables, timed to your "
        "post-procedure protocol. LED therapy and medical-grade, fragrance-free product lines. "
        "Estheticians who ask about retinoids, isotretinoin and recent procedures before every treatment."
    ),
    Specialty.OB_GYN: _(
        "Prenatal massage by certified prenatal therapists from the second trimester, on tables with "
        "belly cut-outs and side-lying support. Postpartum recovery massage and gentle body care. "
        "Pregnancy-safe products only; we follow your precautions for high-risk pregnancies."
    ),
    Specialty.PHYSICAL_THERAPY: _(
        "Soft-tissue and deep-tissue work that complements rehab between PT visits, never replacing it. "
        "Hot-stone and heated tables for muscle tension. We follow the therapist's precautions and "
        "report back how the patient responded."
    ),
    Specialty.CHIROPRACTIC: _(
        "Massage that prepares muscles before adjustments and helps them hold afterwards. Clear "
        "communication about areas to avoid and pressure limits."
    ),
    Specialty.PLASTIC_SURGERY: _(
        "Post-operative care coordinated with the surgeon's timeline: gentle skin care once cleared, "
        "scar-friendly products, and a calm, private setting for recovering patients."
    ),
    Specialty.ONCOLOGY: _(
        "Oncology-trained therapists offering light-pressure comfort massage and gentle facials for "
        "patients in and after treatment, with clearance from the care team and fragrance-free products."
    ),
    Specialty.PRIMARY_CARE: _(
        "Stress relief and relaxation services that support patients' wellness plans, with intake "
        "forms that ask about conditions and medications."
    ),
    Specialty.SPORTS_MEDICINE: _(
        "Sports massage for recovery and flexibility, coordinated with the physician's return-to-play "
        "plan; hot and cold therapies for muscle soreness."
    ),
    Specialty.OTHER: _("What our spa can offer your patients, in a sentence or two."),
}


def talking_points_for(*, spa):
    """Every specialty's talking points for the spa, creating the defaults the first time."""
    existing = {row.specialty: row for row in SpecialtyTalkingPoints.objects.filter(spa=spa)}
    missing = [
        SpecialtyTalkingPoints(spa=spa, specialty=code, talking_points=str(DEFAULT_TALKING_POINTS.get(code, "")))
        for code in Specialty.values
        if code not in existing
    ]
    if missing:
        SpecialtyTalkingPoints.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {row.specialty: row for row in SpecialtyTalkingPoints.objects.filter(spa=spa)}
    return [existing[code] for code in Specialty.values]


@transaction.atomic
def talking_points_update(*, spa, specialty, text, actor):
    """Replace one specialty's talking points for the spa."""
    row = next(row for row in talking_points_for(spa=spa) if row.specialty == specialty)
    row.talking_points = text
    row.full_clean()
    row.save(update_fields=["talking_points", "updated_at"])
    audit_record(spa=spa, action="talking_points.updated", actor=actor, obj=row)
    return row


# Written only by their own services: a stale edit form must not undo an archive, and the spa never moves.
_KEPT_ON_EDIT = {"spa", "created_at", "archived_at"}


@transaction.atomic
def catalog_item_save(*, spa, item, actor):
    """Validate and save a catalog item (new or edited) of ``spa``."""
    creating = item.pk is None
    item.spa = spa
    renewed = isinstance(item, Credential) and not creating and _reset_reminders_if_renewed(item)
    item.full_clean()
    if creating:
        item.save()
    else:
        # Only the fields a form edits: the reminder claims the daily job writes meanwhile survive an edit.
        update_fields = [
            field.name
            for field in item._meta.concrete_fields
            if field.editable and not field.primary_key and field.name not in _KEPT_ON_EDIT
        ]
        update_fields.append("updated_at")
        if renewed:
            update_fields += ["reminded_60_at", "reminded_30_at"]
        # Revenue is counted at the catalog price: a new price changes the referral figures' (spas/dependents.py).
        with dependents.changing(spa=spa, services=[item] if _price_changed(item) else []):
            item.save(update_fields=update_fields)
    audit_record(
        spa=spa,
        action=f"{item._meta.model_name}.{'created' if creating else 'updated'}",
        actor=actor,
        obj=item,
    )
    return item


def _price_changed(item):
    if not isinstance(item, Service):
        return False
    return Service.objects.filter(pk=item.pk).values_list("price", flat=True).first() != item.price


def _reset_reminders_if_renewed(credential):
    """A new expiry date starts the 60- and 30-day reminders over. Returns whether it changed."""
    previous = Credential.objects.filter(pk=credential.pk).values_list("expires_on", flat=True).first()
    if previous == credential.expires_on:
        return False
    credential.reminded_60_at = None
    credential.reminded_30_at = None
    return True


@transaction.atomic
def catalog_item_set_archived(*, item, archived, actor):
    """Archive (hide from lists, documents and landing pages) or restore a catalog item."""
    item.archived_at = timezone.now() if archived else None
    item.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        spa=item.spa,
        action=f"{item._meta.model_name}.{'archived' if archived else 'restored'}",
        actor=actor,
        obj=item,
    )
    return item


# --- Reads --------------------------------------------------------------------------------


def spa_today(spa):
    """Today's date where the spa is: offers start and credentials expire on the spa's calendar."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(spa.timezone))


def active_items(model, *, spa):
    """The spa's items of one kind that are not archived."""
    return model.objects.filter(spa=spa, archived_at=None)


def catalog_items(model, *, spa, archived=False, specialty=None):
    """The spa's items of one kind, active or archived, optionally only those suiting ``specialty``.

    An offer naming no specialty is for every referred patient, so it suits every specialty.
    """
    items = model.objects.filter(spa=spa, archived_at__isnull=not archived)
    if not specialty:
        return items
    # Catalogs are small and SQLite has no JSON "contains": the list is filtered here.
    return [item for item in items if item.suits(specialty) or (model is Offer and not item.specialties)]


def services_for_specialty(*, spa, specialty):
    """Active services suited to a specialty (catalogs are small; the JSON list is filtered here)."""
    return [service for service in active_items(Service, spa=spa) if service.suits(specialty)]


def current_offers(*, spa, specialty=None, on_date=None):
    """Active offers valid on ``on_date`` (default: the spa's today); offers with no specialty suit all."""
    on_date = on_date or spa_today(spa)
    offers = [offer for offer in active_items(Offer, spa=spa) if offer.is_current(on_date)]
    if specialty:
        offers = [offer for offer in offers if not offer.specialties or offer.suits(specialty)]
    return offers


def current_credentials(*, spa, on_date=None):
    """Active credentials not expired on ``on_date`` (default: the spa's today)."""
    on_date = on_date or spa_today(spa)
    return [credential for credential in active_items(Credential, spa=spa) if credential.is_current(on_date)]


# --- Credential expiry reminders ------------------------------------------------------------

REMINDER_THRESHOLDS = ((60, "reminded_60_at"), (30, "reminded_30_at"))


def credential_reminders_send(*, spa, today=None):
    """Email the spa's owners once when a credential is 60 and once when it is 30 days from expiry.

    Each reminder is claimed with a conditional update, so a second run (or a second beat) sends nothing.
    """
    today = today or spa_today(spa)
    sent = 0
    owners = list(Membership.objects.filter(spa=spa, role=Role.OWNER, user__is_active=True).select_related("user"))
    for days, field in REMINDER_THRESHOLDS:
        due = Credential.objects.filter(
            spa=spa,
            archived_at=None,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
            **{field: None},
        )
        for credential in due:
            with transaction.atomic():
                claimed = Credential.objects.filter(pk=credential.pk, **{field: None}).update(**{field: timezone.now()})
                if not claimed:
                    continue
                if days == 60 and credential.expires_on <= today + timedelta(days=30):
                    # Already inside 30 days: one email covers both thresholds.
                    Credential.objects.filter(pk=credential.pk, reminded_30_at=None).update(
                        reminded_30_at=timezone.now()
                    )
                edit_path = reverse("catalog:edit", args=[spa.slug, "credentials", credential.public_id])
                for membership in owners:
                    email_enqueue(
                        spa=spa,
                        to=membership.user.email,
                        template_name="credential-expiring",
                        context={
                            "spa": spa,
                            "credential": credential,
                            "days_left": (credential.expires_on - today).days,
                            "url": settings.SITE_URL + edit_path,
                        },
                    )
                sent += 1
    return sent
