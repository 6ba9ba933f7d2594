"""Reads for referrals: the spa inbox with its counts, one referral's page, the portal's list."""

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from .models import AWAITING_FIRST_CONTACT, OPEN_STATUSES, Referral, ReferralEvent, ReferralService, Status


def overdue_condition(now=None):
    return Q(
        status__in=AWAITING_FIRST_CONTACT, first_contact_attempt_at=None, first_contact_due_at__lt=now or timezone.now()
    )


def referral_inbox(*, spa):
    """The spa's referrals with what the inbox rows show loaded up front."""
    return (
        Referral.objects.filter(spa=spa)
        .select_related("practice", "clinician", "assignee")
        .order_by("-received_at", "-id")
    )


def inbox_counts(*, queryset):
    """{status: count} plus "open", "overdue" and "all", in one query over the (filtered) inbox."""
    aggregates = {value: Count("pk", filter=Q(status=value)) for value in Status.values}
    aggregates["open"] = Count("pk", filter=Q(status__in=OPEN_STATUSES))
    aggregates["overdue"] = Count("pk", filter=overdue_condition())
    aggregates["all"] = Count("pk")
    return queryset.order_by().aggregate(**aggregates)


def referral_detail(*, spa, public_id):
    return (
        Referral.objects.filter(spa=spa, public_id=public_id)
        .select_related("spa", "practice", "clinician", "assignee", "scheduled_service", "created_by")
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor")),
            Prefetch("recommended", queryset=ReferralService.objects.select_related("service")),
            "authorizations",
        )
        .first()
    )


def portal_referrals(*, spa, practice):
    """A practice's own referrals, newest first: what its staff see in the portal."""
    return (
        Referral.objects.filter(spa=spa, practice=practice).select_related("clinician").order_by("-received_at", "-id")
    )


def overdue_count(*, spa):
    """How many of the spa's referrals are past their first-contact time: one query, for the navigation badge."""
    return Referral.objects.filter(overdue_condition(), spa=spa).count()
