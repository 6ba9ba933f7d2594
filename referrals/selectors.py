"""Reads for referrals: the spa inbox with its counts and badges, one referral's page."""

import hashlib

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import BooleanField, Case, Count, Exists, F, OuterRef, Prefetch, Q, Value, When
from django.utils import timezone
from django.utils.functional import cached_property

from infra import soft_cache

from .models import (
    AWAITING_FIRST_CONTACT,
    OPEN_STATUSES,
    Referral,
    ReferralEvent,
    ReferralService,
    ReferralStatusCount,
    ReferralView,
    Status,
    awaiting_first_contact_rank,
)


def prefetched_set(instance, related_name, rows):
    """Make ``instance.<related_name>.all()`` answer ``rows`` without a query, as prefetch_related would.

    For an object just created with its related rows: the caller has them in hand, so reading them back
    would only repeat what it wrote. Django's prefetch keeps a queryset with its result cache filled under
    the relation's name; this stores the same.
    """
    manager = getattr(instance, related_name)
    queryset = manager.model._base_manager.filter(**{manager.field.name: instance})
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[related_name] = queryset


def overdue_condition(now=None):
    # An archived (test or spam) referral is never overdue: it leaves the badge, the tab and the reminders.
    return Q(
        status__in=AWAITING_FIRST_CONTACT,
        first_contact_attempt_at=None,
        first_contact_due_at__lt=now or timezone.now(),
        archived_at=None,
    )


def new_condition(membership):
    """Referrals that are *New* to this member: open, not archived, received after they joined the spa (the
    watermark) and never opened by them. A Q with a correlated EXISTS: one query for a whole page or a count."""
    seen = ReferralView.objects.filter(referral=OuterRef("pk"), user_id=membership.user_id)
    return Q(status__in=OPEN_STATUSES, archived_at=None, received_at__gt=membership.created_at) & ~Q(Exists(seen))


def referral_inbox(*, spa, membership=None, archived=False):
    """The spa's referrals with what the inbox rows show loaded up front, newest first.

    Archived (test or spam) referrals are left out; ``archived=True`` gives only them, ``None`` both. With
    ``membership`` each row carries ``is_new`` (see ``new_condition``).
    """
    referrals = Referral.objects.filter(spa=spa)
    if archived is not None:
        referrals = referrals.filter(archived_at__isnull=not archived)
    referrals = referrals.select_related("practice", "clinician", "assignee").order_by("-received_at", "-id")
    if membership is not None:
        referrals = referrals.annotate(
            is_new=Case(
                When(new_condition(membership), then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
    return referrals


# The tabs that still need a first contact open on the most urgent: awaiting a first contact before
# everything else, overdue first (earliest due), then by when it arrived. Booked ones by appointment; the rest
# (closed, archived, all) newest first.
DUE_FIRST_TABS = {"open", "overdue", Status.RECEIVED, Status.ACCEPTED}


def inbox_ordered(referrals, *, tab):
    """The inbox's order for a tab ("open", "overdue", a status value, or "" for all)."""
    if tab in DUE_FIRST_TABS:
        return referrals.annotate(awaiting_first_contact=awaiting_first_contact_rank()).order_by(
            "awaiting_first_contact", "first_contact_due_at", "received_at", "id"
        )
    if tab == Status.SCHEDULED:
        return referrals.order_by(F("scheduled_for").asc(nulls_last=True), "id")
    return referrals.order_by("-received_at", "-id")


# The inbox's counts (a tab per status, "open", "overdue", "all"). Unfiltered, the per-status ones are the
# maintained figures (ReferralStatusCount, one row per status) and only "overdue" is counted, over the few
# referrals awaiting a first contact; filtered (a practice, a channel…) they are one GROUP BY over the filtered
# referrals. Either way they are cached per spa and filter for a minute ("overdue" moves with the clock),
# under a per-spa generation that every change to a referral bumps after commit, so a change shows at once
# and a quiet inbox costs no COUNT at all.
COUNTS_SECONDS = 60


def _generation_key(spa_id):
    return f"referral-counts-generation:{spa_id}"


def referral_counts_changed(spa_id):
    """Call after a referral is created or changes status or assignee: cached counts are recomputed."""
    transaction.on_commit(lambda: soft_cache.bump(_generation_key(spa_id)))


def _with_totals(by_status, overdue):
    counts = {value: by_status.get(value, 0) for value in Status.values}
    counts["open"] = sum(counts[value] for value in OPEN_STATUSES)
    counts["all"] = sum(by_status.values())
    counts["overdue"] = overdue
    return counts


def _count_all(queryset):
    # Two queries, both index-friendly: a GROUP BY status (index-only on referral_inbox_idx) and the few
    # overdue ones; one aggregate with a FILTER per status read every row instead (bench, 100k referrals).
    by_status = dict(queryset.order_by().values_list("status").annotate(count=Count("pk")))
    return _with_totals(by_status, queryset.filter(overdue_condition()).order_by().count())


def _count_maintained(spa, archived):
    """The unfiltered inbox's counts from the maintained figures: a row per status, whatever the history."""
    by_status = dict(ReferralStatusCount.objects.filter(spa=spa, archived=archived).values_list("status", "referrals"))
    # An archived referral is never overdue (overdue_condition): the archive's tab needs no count.
    overdue = 0 if archived else Referral.objects.filter(overdue_condition(), spa=spa).count()
    return _with_totals(by_status, overdue)


def inbox_counts(*, queryset, spa=None, filters="", archived=False):
    """{status: count} plus "open", "overdue" and "all" of the inbox's referrals (``archived``: of the archive).

    ``queryset`` is the inbox filtered by ``filters`` (a canonical description of the filters it carries
    besides the status and the archive choice). With ``spa`` the result is cached as described above, and
    without ``filters`` it comes from the maintained figures instead of ``queryset``.
    """
    if spa is None:
        return _count_all(queryset)
    generation = soft_cache.get(_generation_key(spa.pk), 0)
    digest = hashlib.sha256(f"{filters}|archived={archived}".encode()).hexdigest()[:16]
    key = f"referral-counts:{spa.pk}:{generation}:{digest}"
    counts = soft_cache.get(key)
    if counts is None:
        counts = _count_all(queryset) if filters else _count_maintained(spa, archived)
        soft_cache.set(key, counts, COUNTS_SECONDS)
    return counts


class CountedPaginator(Paginator):
    """A paginator told its total (from the inbox counts) instead of running COUNT(*) for it."""

    def __init__(self, object_list, per_page, *, count=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self):
        if self._known_count is not None:
            return self._known_count
        return super().count


def referral_detail(*, spa, public_id):
    return (
        Referral.objects.filter(spa=spa, public_id=public_id)
        # (inbound_draft: the email or text it was confirmed from, if any; the page links to it.)
        .select_related("spa", "practice", "clinician", "assignee", "scheduled_service", "created_by", "inbound_draft")
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.select_related("actor")),
            Prefetch("recommended", queryset=ReferralService.objects.select_related("service")),
            "authorizations",
        )
        .first()
    )


def overdue_count(*, spa):
    """How many of the spa's referrals are past their first-contact time, for the navigation badge on every
    page: one query, cached like the inbox counts."""
    key = f"referral-overdue:{spa.pk}:{soft_cache.get(_generation_key(spa.pk), 0)}"
    count = soft_cache.get(key)
    if count is None:
        count = Referral.objects.filter(overdue_condition(), spa=spa).count()
        soft_cache.set(key, count, COUNTS_SECONDS)
    return count


# A member's New count (the navigation badge) is cached like the counts above, under the spa's generation
# (a referral arrived or changed) and the member's own "seen" generation (they opened or marked one read).
def _seen_generation_key(spa_id, user_id):
    return f"referral-seen-generation:{spa_id}:{user_id}"


def referral_seen_changed(spa_id, user_id):
    """Call after a member opened referrals or marked them (un)read: their New count is recomputed.

    Bumped at once (the page being drawn shows the new count) and again after commit (a request that read the
    old rows in between cannot keep them cached)."""
    key = _seen_generation_key(spa_id, user_id)
    soft_cache.bump(key)
    transaction.on_commit(lambda: soft_cache.bump(key))


def new_count(*, membership):
    """How many referrals are New to this member: one COUNT, cached."""
    spa_id, user_id = membership.spa_id, membership.user_id
    generation = soft_cache.get(_generation_key(spa_id), 0)
    seen_generation = soft_cache.get(_seen_generation_key(spa_id, user_id), 0)
    key = f"referral-new:{spa_id}:{user_id}:{generation}:{seen_generation}"
    count = soft_cache.get(key)
    if count is None:
        count = Referral.objects.filter(new_condition(membership), spa_id=spa_id).count()
        soft_cache.set(key, count, COUNTS_SECONDS)
    return count


def seen_referral_ids(*, user, referrals):
    """The ids among ``referrals`` this user has opened (or marked read) already."""
    return set(ReferralView.objects.filter(user=user, referral__in=referrals).values_list("referral_id", flat=True))
