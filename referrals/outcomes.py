"""Outcome reports: write a draft, share it with the referring office, deliver it under the sharing rule.

The rule: a report reaches the practice only while an authorization covering outcome sharing with that
recipient is valid, unexpired and unrevoked. It is checked when the author shares and again, under row
locks, when the delivery runs; a revocation or expiry in between refuses the delivery and tells the author
why (a note on the referral's timeline). Emails carry a link only, never health information.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import OfficeContact
from spas.models import Service, Specialty
from spas.outbox import email_enqueue
from spas.services import audit_record

from .consent.selectors import sharing_authorization_for
from .consent.services import authorizations_mark_expired
from .models import (
    Authorization,
    OutcomeDelivery,
    OutcomeReport,
    ReferralEvent,
    ReferralSettings,
    referral_settings_for,
)
from .services import owner_emails

logger = logging.getLogger(__name__)

SCALE_0_10 = "scale_0_10"
CHOICE = "choice"
RESPONSE_CHOICES = [
    ("improved", gettext_lazy("Improved")),
    ("unchanged", gettext_lazy("Unchanged")),
    ("worse", gettext_lazy("Worse")),
]
TOLERANCE_CHOICES = [
    ("good", gettext_lazy("Well tolerated")),
    ("some_irritation", gettext_lazy("Some irritation")),
    ("poor", gettext_lazy("Poorly tolerated")),
]
# Patient-reported measures per specialty: (key, label, kind, choices). All optional.
MEASURE_TEMPLATES = {
    Specialty.DERMATOLOGY: [
        ("skin_response", gettext_lazy("Skin response"), CHOICE, RESPONSE_CHOICES),
        ("tolerance", gettext_lazy("Tolerance"), CHOICE, TOLERANCE_CHOICES),
    ],
    Specialty.OB_GYN: [
        ("comfort", gettext_lazy("Comfort (0–10)"), SCALE_0_10, None),
        ("sleep", gettext_lazy("Sleep quality (0–10)"), SCALE_0_10, None),
    ],
    Specialty.PHYSICAL_THERAPY: [
        ("tension", gettext_lazy("Muscle tension (0–10)"), SCALE_0_10, None),
        ("range_of_motion", gettext_lazy("Range of motion"), CHOICE, RESPONSE_CHOICES),
        ("pain_before", gettext_lazy("Pain before (0–10)"), SCALE_0_10, None),
        ("pain_after", gettext_lazy("Pain after (0–10)"), SCALE_0_10, None),
    ],
}


def measure_template_for(specialty):
    return MEASURE_TEMPLATES.get(specialty, [])


def measures_clean(specialty, measures):
    """The measures with empty answers dropped; unknown keys and out-of-range values are refused."""
    template = {key: (kind, choices) for key, _label, kind, choices in measure_template_for(specialty)}
    cleaned = {}
    for key, value in (measures or {}).items():
        if value in (None, ""):
            continue
        if key not in template:
            raise ValidationError({"measures": _("“%(key)s” is not a measure for this specialty.") % {"key": key}})
        kind, choices = template[key]
        if kind == SCALE_0_10:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                raise ValidationError({"measures": _("Scores are whole numbers from 0 to 10.")})
        elif value not in {choice for choice, _label in choices}:
            raise ValidationError({"measures": _("Choose one of the listed answers.")})
        cleaned[key] = value
    return cleaned


def measures_display(specialty, measures):
    """(label, answer) pairs in the template's order, for pages and the PDF."""
    rows = []
    for key, label, kind, choices in measure_template_for(specialty):
        if key in (measures or {}):
            value = measures[key]
            rows.append((str(label), str(dict(choices).get(value, value)) if kind == CHOICE else str(value)))
    return rows


def report_content(report):
    """A plain snapshot of what a delivery shares (so later edits never change what was delivered)."""
    services = {str(service.public_id): service.name for service in Service.objects.filter(spa=report.spa)}
    return {
        "version": report.version,
        "services": [services[service_id] for service_id in report.services if service_id in services],
        "sessions": report.sessions,
        "observations": report.observations,
        "recommendations": report.recommendations,
        "measures": measures_display(report.referral.practice.specialty, report.measures),
    }


@transaction.atomic
def outcome_report_save(*, referral, author, services, sessions, observations, recommendations, measures, request=None):
    """Create or update the referral's report. Editing a shared report starts its next version (interim update)."""
    spa = referral.spa
    report = OutcomeReport.objects.select_for_update().filter(spa=spa, referral=referral).first()
    if report is None:
        report = OutcomeReport(spa=spa, referral=referral, author=author)
    elif report.status == OutcomeReport.Status.SHARED:
        report.version += 1
        report.status = OutcomeReport.Status.DRAFT
    catalog = {str(service.public_id) for service in Service.objects.filter(spa=spa)}
    service_ids = [str(service.public_id) if hasattr(service, "public_id") else str(service) for service in services]
    if any(service_id not in catalog for service_id in service_ids):
        raise ValidationError({"services": _("Choose services from the spa's catalog.")})
    report.services = service_ids
    report.sessions = sessions
    report.observations = observations
    report.recommendations = recommendations
    report.measures = measures_clean(referral.practice.specialty, measures)
    report.full_clean()
    report.save()
    audit_record(
        spa=spa, action="outcome_report.saved", actor=author, obj=report, request=request, detail={"v": report.version}
    )
    return report


def _refusal_reason():
    return _("The patient's authorization to share outcomes with the referring office is missing, revoked or expired.")


@transaction.atomic
def outcome_report_share(*, report, actor, request=None):
    """Check the authorization now and queue a delivery of the current version (delivered after commit)."""
    report = (
        OutcomeReport.objects.select_for_update(of=("self",)).select_related("referral__practice").get(pk=report.pk)
    )
    if report.status == OutcomeReport.Status.SHARED:
        raise ValidationError(_("This version was already shared; edit the report to share an update."))
    if sharing_authorization_for(referral=report.referral) is None:
        raise ValidationError(_refusal_reason())
    delivery = OutcomeDelivery.objects.create(
        spa=report.spa,
        report=report,
        report_version=report.version,
        content=report_content(report),
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )
    report.status = OutcomeReport.Status.SHARED
    report.save(update_fields=["status", "updated_at"])
    audit_record(spa=report.spa, action="outcome_report.shared", actor=actor, obj=report, request=request)
    spa_id, delivery_id = report.spa_id, delivery.pk

    def enqueue():
        from .tasks import outcome_delivery_task

        try:
            outcome_delivery_task.delay(spa_id, delivery_id)
        except Exception:  # noqa: BLE001 - broker down: the delivery stays queued and visible to the author
            logger.warning("Could not enqueue outcome delivery %s.", delivery_id, exc_info=True)

    transaction.on_commit(enqueue)
    return delivery


def outcome_report_deliver(delivery_id):
    """Deliver one queued delivery, re-checking the authorization under row locks. Idempotent."""
    with transaction.atomic():
        delivery = OutcomeDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != OutcomeDelivery.Status.QUEUED:
            return delivery
        report = (
            OutcomeReport.objects.select_for_update(of=("self",))
            .select_related("spa", "referral__practice", "referral__clinician")
            .get(pk=delivery.report_id)
        )
        referral = report.referral
        authorization = sharing_authorization_for(referral=referral, lock=True)
        now = timezone.now()
        if authorization is None:
            delivery.status = OutcomeDelivery.Status.REFUSED
            delivery.reason = _refusal_reason()
            delivery.save(update_fields=["status", "reason"])
            ReferralEvent.objects.create(
                spa=report.spa,
                referral=referral,
                kind=ReferralEvent.Kind.NOTE,
                note=_("Outcome report version %(version)s was not delivered: %(reason)s")
                % {"version": delivery.report_version, "reason": delivery.reason},
                actor_label=_("Outcome sharing"),
            )
            audit_record(
                spa=report.spa,
                action="outcome_report.refused",
                obj=report,
                actor_label="system",
                detail={"v": delivery.report_version},
            )
            return delivery
        delivery.status = OutcomeDelivery.Status.DELIVERED
        delivery.authorization = authorization
        delivery.delivered_at = now
        delivery.save(update_fields=["status", "authorization", "delivered_at"])
        if report.version == delivery.report_version:
            report.shared_version = delivery.report_version
            report.shared_at = now
            report.save(update_fields=["shared_version", "shared_at"])
        audit_record(
            spa=report.spa,
            action="outcome_report.delivered",
            obj=report,
            actor_label="system",
            detail={"v": delivery.report_version, "authorization": str(authorization.public_id)},
        )
        url = settings.SITE_URL + reverse("portal:outcome", args=[report.spa.slug, report.public_id])
        contacts = OfficeContact.objects.filter(spa=report.spa, practice=referral.practice).exclude(email="")
        for address in sorted({contact.email for contact in contacts}):
            email_enqueue(
                spa=report.spa,
                to=address,
                template_name="outcome-shared",
                context={"spa": report.spa, "practice": referral.practice, "url": url},
            )
    return delivery


def outcome_report_record_view(*, report, request=None, actor=None, channel="portal"):
    """Exactly one audit event per read of a report (page or PDF)."""
    return audit_record(
        spa=report.spa,
        action="outcome_report.viewed",
        actor=actor,
        obj=report,
        request=request,
        detail={"via": channel},
    )


def portal_outcome_reports(*, spa, practice):
    """Reports delivered to ``practice`` (its own referrals only) while sharing is still authorized, newest first."""
    authorized = Authorization.objects.filter(
        spa=spa,
        referral=OuterRef("referral"),
        recipient_practice=practice,
        allows_outcome_sharing=True,
        revoked_at=None,
        expires_at__gt=timezone.now(),
    )
    return (
        OutcomeReport.objects.filter(spa=spa, referral__practice=practice, shared_version__isnull=False)
        .filter(Exists(authorized))
        .select_related("referral")
        .order_by("-shared_at", "-id")
    )


def portal_outcome_report(*, spa, practice, public_id):
    """The report and its latest delivered content, or (None, None) if not delivered to this practice."""
    report = portal_outcome_reports(spa=spa, practice=practice).filter(public_id=public_id).first()
    # The rule holds for every read, not only at delivery: a revoked or expired authorization hides it.
    if report is None or sharing_authorization_for(referral=report.referral) is None:
        return None, None
    delivery = (
        OutcomeDelivery.objects.filter(spa=spa, report=report, status=OutcomeDelivery.Status.DELIVERED)
        .order_by("-delivered_at", "-id")
        .first()
    )
    return (report, delivery) if delivery else (None, None)


def authorizations_expire(*, spa, now=None):
    """The daily expiry run for one spa: mark authorizations that ran out and tell the spa which drafts
    can no longer be shared. Returns the reports that became unshareable.

    Only this run's newly marked authorizations count, so running twice sends nothing more. The email
    lists links to the reports, never a patient's name or anything about their health.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # One run per spa at a time (a second beat waits here, then finds nothing left to mark): otherwise
        # two runs could split the expired authorizations between them and each email the owners.
        referral_settings_for(spa)
        ReferralSettings.objects.select_for_update().filter(spa=spa).first()
        return _authorizations_expire_locked(spa, now)


def _authorizations_expire_locked(spa, now):
    expired = authorizations_mark_expired(spa=spa, now=now)
    referral_ids = {authorization.referral_id for authorization in expired}
    drafts = (
        OutcomeReport.objects.filter(spa=spa, referral_id__in=referral_ids, status=OutcomeReport.Status.DRAFT)
        .select_related("referral__practice", "referral__clinician", "author")
        .order_by("referral__received_at", "id")
    )
    blocked = [report for report in drafts if sharing_authorization_for(referral=report.referral, at=now) is None]
    if not blocked:
        return []
    with transaction.atomic():
        for report in blocked:
            ReferralEvent.objects.create(
                spa=spa,
                referral=report.referral,
                kind=ReferralEvent.Kind.NOTE,
                note=_(
                    "The patient's authorization to share outcomes expired: the draft outcome report can no "
                    "longer be shared unless the patient signs a new one."
                ),
                actor_label=_("Outcome sharing"),
                created_at=now,
            )
        items = [
            {
                "practice": report.referral.practice.name,
                "received_at": report.referral.received_at,
                "url": settings.SITE_URL + reverse("outcomes:edit", args=[spa.slug, report.referral.public_id]),
            }
            for report in blocked
        ]
        authors = {report.author.email for report in blocked if report.author and report.author.is_active}
        for address in sorted(authors | set(owner_emails(spa))):
            email_enqueue(
                spa=spa,
                to=address,
                template_name="outcome-drafts-blocked",
                context={"spa": spa, "items": items, "count": len(items)},
            )
    return blocked
