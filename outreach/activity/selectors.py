"""Reads of touchpoints and tasks: the spa's calendar day, My day, the task list, a practice's timeline and the
patients whose referrals need contacting."""

import datetime
import zoneinfo

from django.db.models import Count, F, Prefetch, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from infra.models import AuditEvent
from partners.models import Clinician, OfficeContact
from referrals.models import ATTEMPT_STATUSES, ReferralEvent, Status
from referrals.selectors import referral_inbox

from ..models import Task, TaskPractice, Touchpoint, TouchpointKind, TouchpointParticipant


def spa_today(spa, now=None):
    """Today's date on the spa's wall clock."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(spa.timezone)).date()


def spa_day_start(spa, day):
    """The moment ``day`` begins on the spa's wall clock, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zoneinfo.ZoneInfo(spa.timezone))


# The practice page's timeline filters: "Conversations" are exchanges with the practice's people; "Gifts" are
# what the spa gave (a gift, a complimentary staff service). "All" shows every kind.
TIMELINE_FILTERS = {
    "conversations": [
        TouchpointKind.LETTER,
        TouchpointKind.PHONE_CALL,
        TouchpointKind.EMAIL,
        TouchpointKind.MEETING,
        TouchpointKind.LUNCH_PRESENTATION,
        TouchpointKind.CHECK_IN,
        TouchpointKind.THANK_YOU_NOTE,
    ],
    "gifts": [TouchpointKind.GIFT, TouchpointKind.STAFF_SERVICE],
}


def touchpoint_removal(*, spa, touchpoint_id):
    """The audit event of the touchpoint's latest removal (with its snapshot), or None."""
    return (
        AuditEvent.objects.filter(
            spa=spa, action="touchpoint.deleted", object_type="outreach.touchpoint", object_id=str(touchpoint_id)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def practice_timeline(*, spa, practice, show="all", limit=50):
    """The practice's touchpoints, newest first, with the people involved and who logged them; ``show`` is
    "all" or one of ``TIMELINE_FILTERS``."""
    touchpoints = Touchpoint.objects.filter(spa=spa, practice=practice)
    if show in TIMELINE_FILTERS:
        touchpoints = touchpoints.filter(kind__in=TIMELINE_FILTERS[show])
    return touchpoints.select_related("logged_by", "campaign").prefetch_related(
        Prefetch(
            "participants",
            queryset=TouchpointParticipant.objects.select_related("clinician", "contact"),
        )
    )[:limit]


def snooze_dates(spa, today=None):
    """Where "snooze" puts a task, on the spa's calendar: tomorrow, or the Monday of next week."""
    today = today or spa_today(spa)
    return {
        "tomorrow": today + datetime.timedelta(days=1),
        "next_week": today + datetime.timedelta(days=7 - today.weekday()),
    }


def _task_queryset(spa):
    return (
        Task.objects.filter(spa=spa)
        .select_related("practice", "assignee", "campaign_enrollment__campaign")
        .prefetch_related(
            Prefetch("covered", queryset=TaskPractice.objects.select_related("practice").order_by("added_at", "id"))
        )
    )


def task_detail(*, spa, public_id):
    """One task with what its page and its row show (practice, people, campaign, the practices it covers)."""
    return _task_queryset(spa).filter(public_id=public_id).first()


def my_day(*, spa, user, today=None):
    """The user's open tasks: overdue, due today and upcoming (next 14 days), plus the tasks they (or others, for
    them) finished today."""
    today = today or spa_today(spa)
    open_tasks = _task_queryset(spa).filter(assignee=user, done_at=None)
    return {
        "today": today,
        "overdue": list(open_tasks.filter(due_on__lt=today).order_by("due_on", "id")),
        "due_today": list(open_tasks.filter(due_on=today).order_by("id")),
        "upcoming": list(
            open_tasks.filter(due_on__gt=today, due_on__lte=today + datetime.timedelta(days=14)).order_by(
                "due_on", "id"
            )
        ),
        "done_today": list(
            _task_queryset(spa)
            .select_related("done_by")
            .filter(Q(assignee=user) | Q(done_by=user), done_at__gte=spa_day_start(spa, today))
            .order_by("-done_at", "-id")[:DONE_TODAY_LISTED]
        ),
        "snooze_dates": snooze_dates(spa, today),
    }


DONE_TODAY_LISTED = 30


PATIENTS_LISTED = 20


# Who needs contacting, as the referral model's stages define it: new referrals (received, not yet accepted)
# and accepted ones are owed their first contact (or another try after no answer); a referral whose
# follow_up_due_at is set sent a message and owes its follow-up, at whichever contact stage it is.
NEEDS_CONTACT = Q(status__in=[Status.RECEIVED, Status.ACCEPTED]) | Q(
    status__in=ATTEMPT_STATUSES, follow_up_due_at__isnull=False
)


def _contact_overdue(now):
    # Late for the contact it owes: a follow-up past its time, or a first contact past its time with no attempt
    # yet (the referral model's own "overdue"). One that was tried and not reached is due again, not late.
    return Q(follow_up_due_at__lt=now) | Q(
        follow_up_due_at=None, first_contact_attempt_at=None, first_contact_due_at__lt=now
    )


def patients_to_contact(*, spa, user, everyone=False, now=None, limit=PATIENTS_LISTED):
    """The referrals the spa owes a contact, most overdue first, by when the next contact is due
    (``follow_up_due_at`` when a follow-up is owed, else ``first_contact_due_at``): the user's and nobody's, or
    everyone's. Each carries ``next_contact_due_at``, ``contact_overdue`` and ``attempts`` (its logged attempts,
    newest first).

    Returns {"referrals", "overdue" (of the shown scope), "mine" and "everyone" (counts), "more" (not listed)};
    three queries whatever the number of referrals.
    """
    now = now or timezone.now()
    mine = Q(assignee=user) | Q(assignee=None)
    needing = (
        referral_inbox(spa=spa)
        .filter(NEEDS_CONTACT)
        .annotate(next_contact_due_at=Coalesce("follow_up_due_at", "first_contact_due_at"))
    )
    shown = needing if everyone else needing.filter(mine)
    counts = needing.order_by().aggregate(
        everyone=Count("pk"),
        mine=Count("pk", filter=mine),
        overdue=Count("pk", filter=_contact_overdue(now) & (Q() if everyone else mine)),
    )
    referrals = list(
        shown.order_by(F("next_contact_due_at").asc(), "id").prefetch_related(
            Prefetch(
                "events",
                queryset=ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ATTEMPT).order_by("-created_at", "-id"),
                to_attr="attempts",
            )
        )[:limit]
    )
    for referral in referrals:
        if referral.follow_up_due_at:
            referral.contact_overdue = referral.follow_up_due_at < now
        else:
            referral.contact_overdue = referral.first_contact_attempt_at is None and referral.first_contact_due_at < now
    total = counts["everyone"] if everyone else counts["mine"]
    return {
        "referrals": referrals,
        "overdue": counts["overdue"],
        "mine": counts["mine"],
        "everyone": counts["everyone"],
        "more": max(total - len(referrals), 0),
        "now": now,
    }


def task_list(*, spa, assignee=None, practice=None, state="open"):
    """The team's tasks, filtered; ``state`` is "open", "done" or "all"."""
    tasks = _task_queryset(spa)
    if assignee is not None:
        tasks = tasks.filter(assignee=assignee)
    if practice is not None:
        tasks = tasks.filter(practice=practice)
    if state == "open":
        tasks = tasks.filter(done_at=None)
    elif state == "done":
        tasks = tasks.filter(done_at__isnull=False).order_by("-done_at", "-id")
    return tasks


def people_at(practice):
    """The clinicians and office contacts of a practice, for participant choices."""
    return (
        list(Clinician.objects.filter(spa=practice.spa, practice=practice)),
        list(OfficeContact.objects.filter(spa=practice.spa, practice=practice)),
    )
