"""Outcome reports, the reads: the snapshot a delivery shares, and what a practice may see in its portal."""

from django.db.models import Exists, OuterRef
from django.utils import timezone

from spas.models import Service

from ..consent.selectors import sharing_authorization_for
from ..models import Authorization, OutcomeDelivery, OutcomeReport
from .measures import measures_display


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
