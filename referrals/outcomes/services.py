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
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.outbox import email_enqueue
from spas.models import Service

from ..consent.selectors import sharing_authorization_for
from ..consent.services import authorizations_mark_expired
from ..models import (
    OutcomeDelivery,
    OutcomeReport,
    ReferralEvent,
    ReferralSettings,
    referral_settings_for,
)
from ..services import owner_emails
from .delivery import outcome_delivery_task, refusal_reason
from .measures import measures_clean
from .selectors import report_content

logger = logging.getLogger(__name__)


@transaction.atomic
def outcome_report_save(*, referral, author, services, sessions, observations, recommendations, measures):
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
    audit_record(spa=spa, action="outcome_report.saved", actor=author, obj=report, detail={"v": report.version})
    return report


@transaction.atomic
def outcome_report_share(*, report, actor):
    """Check the authorization now and queue a delivery of the current version (delivered after commit)."""
    report = (
        OutcomeReport.objects.select_for_update(of=("self",)).select_related("referral__practice").get(pk=report.pk)
    )
    if report.status == OutcomeReport.Status.SHARED:
        raise ValidationError(_("This version was already shared; edit the report to share an update."))
    if sharing_authorization_for(referral=report.referral) is None:
        raise ValidationError(refusal_reason())
    delivery = OutcomeDelivery.objects.create(
        spa=report.spa,
        report=report,
        report_version=report.version,
        content=report_content(report),
        requested_by=actor if actor is not None and actor.is_authenticated else None,
    )
    report.status = OutcomeReport.Status.SHARED
    report.save(update_fields=["status", "updated_at"])
    audit_record(spa=report.spa, action="outcome_report.shared", actor=actor, obj=report)
    spa_id, delivery_id = report.spa_id, delivery.pk

    def enqueue():
        try:
            outcome_delivery_task.delay(spa_id, delivery_id)
        except Exception:  # noqa: BLE001 - broker down: the delivery stays queued and visible to the author
            logger.warning("Could not enqueue outcome delivery %s.", delivery_id, exc_info=True)

    transaction.on_commit(enqueue)
    return delivery


def outcome_report_record_view(*, report, actor=None, channel="portal"):
    """Exactly one audit event per read of a report (page or PDF)."""
    return audit_record(
        spa=report.spa,
        action="outcome_report.viewed",
        actor=actor,
        obj=report,
        detail={"via": channel},
    )


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
