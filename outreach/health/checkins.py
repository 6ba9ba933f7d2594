"""Quarterly check-ins with active partners: the cadence, the hourly job that creates the check-in task,
and the briefing the task arrives with.

The rhythm. Each ACTIVE practice is due a check-in every ``cadence_days`` (its own
``CheckInCadence.cadence_days``, else the spa's ``OutreachSettings.check_in_cadence_days``, 91 by default),
counted from the later of its last "check_in" touchpoint and the day it became active (a partner that went
dormant and came back is not overdue the day it returns). Dates are the spa's calendar (``spa_today``).
``CheckInCadence.next_due_on`` / ``last_check_in_on`` are kept in step by the touchpoint hook below, the
cadence form and the hourly job; pages compute from the same inputs (``check_in_due_on``), so a practice
made active a minute ago is right at once. Practices that leave ACTIVE get no more check-ins.

The job. ``check_ins_create_due`` creates the task on (or after) the due date with the dedupe key
``checkin:<practice pk>:<due date>``, in bulk: the due practices go in chunks of ``CHUNK_SIZE``, each one
transaction that first locks the spa's OutreachSettings row (so two beat processes take turns), then reads
which dedupe keys and open check-in tasks already exist and inserts only the missing tasks with their audit
events. A second run, or a second beat racing this one, creates nothing; a practice that already has an open
check-in task gets no second one. Each assignee gets one email per chunk listing the check-ins it created
for them, queued in the same transaction, so only the run whose inserts won emails. The catalog news is
read once per run and the referral figures once per chunk (see ``CatalogNews``, ``ReferralFigures``).

The briefing (``Task.briefing``), written when the task is created. Fresh approaches (nudges.py) use the same
shape with ``kind: "fresh_approach"``; ``templates/outreach/partials/task_briefing.html`` draws either::

    {
      "version": 1,
      "kind": "check_in",                  # or "fresh_approach"
      "written_on": "2026-04-06",          # the spa-local date the job wrote it
      "since": "2026-01-05",               # ISO date everything below is counted from (spa's calendar)
      "since_reason": "last_check_in",     # "last_check_in" | "became_active" | "declined" | "dormant"
      "new_at_spa": {                      # catalog items added since then and not archived: names only
        "services":      {"names": ["Prenatal massage"], "more": 0},
        "equipment":     {"names": [], "more": 0},
        "product_lines": {"names": [], "more": 0},
        "offers":        {"names": ["15% off a first visit"], "more": 0},
        "credentials":   {"names": ["Dana Reyes — Certified prenatal massage therapist"], "more": 0}
      },                                   # "more": how many further names were left out (10 at most listed)
      "referrals": {                       # check-ins only: the practice's referrals received since then
        "received": 3, "completed": 1, "open": 2, "last_received_on": "2026-03-30"   # or null
      },
      "reason": "Too busy this year"       # fresh approaches only: why they declined / went dormant ("" if none)
    }

No patient detail is ever written into a briefing: counts only.
"""

import bisect
import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.models import AuditEvent
from infra.outbox import email_enqueue
from partners.models import Practice, Stage
from referrals.models import OPEN_STATUSES, Referral, Status
from spas.models import Credential, Equipment, Membership, Offer, ProductLine, Role, Service

from ..activity.selectors import spa_day_start, spa_today
from ..activity.services import on_touchpoints_changed
from ..models import (
    CheckInCadence,
    OutreachSettings,
    Task,
    TaskKind,
    TaskSource,
    Touchpoint,
    TouchpointKind,
    outreach_settings_for,
)
from .selectors import became_active_on, cadence_override, check_in_due_on, last_check_in_subquery, local_date
from .snapshots import refresh_practices

BRIEFING_VERSION = 1
BRIEFING_NAMES_PER_KIND = 10

# (briefing key, model, how an item is named). The order is the order the briefing lists them in.
CATALOG_KINDS = [
    ("services", Service, lambda item: item.name),
    ("equipment", Equipment, lambda item: item.name),
    ("product_lines", ProductLine, lambda item: f"{item.name} ({item.brand})" if item.brand else item.name),
    ("offers", Offer, lambda item: item.title),
    ("credentials", Credential, lambda item: f"{item.person} — {item.credential}"),
]


# --- the rhythm ------------------------------------------------------------------------------------


def _save_schedule(practice, *, last_check_in_on, next_due_on):
    """Write the practice's CheckInCadence row, only when something changed."""
    try:
        row = practice.check_in_cadence
    except CheckInCadence.DoesNotExist:
        row, _created = CheckInCadence.objects.get_or_create(
            practice=practice,
            defaults={"spa_id": practice.spa_id, "last_check_in_on": last_check_in_on, "next_due_on": next_due_on},
        )
        practice.check_in_cadence = row
    if (row.last_check_in_on, row.next_due_on) != (last_check_in_on, next_due_on):
        row.last_check_in_on = last_check_in_on
        row.next_due_on = next_due_on
        row.save(update_fields=["last_check_in_on", "next_due_on", "updated_at"])
    return row


def check_in_schedule_refresh(*, practice, default_days=None):
    """Recompute the practice's last check-in and next due date from the touchpoints that remain."""
    practice = Practice.objects.select_related("spa", "check_in_cadence").get(pk=practice.pk)
    if default_days is None:
        default_days = outreach_settings_for(practice.spa).check_in_cadence_days
    last = Touchpoint.objects.filter(spa=practice.spa, practice=practice, kind=TouchpointKind.CHECK_IN).aggregate(
        last=Max("occurred_on")
    )["last"]
    due = check_in_due_on(
        practice=practice, last_check_in_on=last, cadence_days=cadence_override(practice) or default_days
    )
    return _save_schedule(practice, last_check_in_on=last, next_due_on=due)


@on_touchpoints_changed
def _touchpoints_changed(practice, kind):
    # Logging (or removing) a check-in moves the next due date; other kinds do not.
    if kind == TouchpointKind.CHECK_IN:
        check_in_schedule_refresh(practice=practice)


@transaction.atomic
def check_in_cadence_set(*, practice, cadence_days, actor):
    """Set how often to check in with this practice (days, 7–365), or None for the spa's default."""
    row, _created = CheckInCadence.objects.get_or_create(practice=practice, defaults={"spa_id": practice.spa_id})
    if row.spa_id != practice.spa_id:  # never: the row is the practice's own
        raise ValidationError({"cadence_days": _("Unknown practice.")})
    previous = row.cadence_days
    row.cadence_days = cadence_days
    row.full_clean()
    row.save(update_fields=["cadence_days", "updated_at"])
    audit_record(
        spa=practice.spa,
        action="check_in_cadence.updated",
        actor=actor,
        obj=practice,
        detail={"from": previous, "to": cadence_days},
    )
    row = check_in_schedule_refresh(practice=practice)
    # An overdue check-in is part of partner health.
    refresh_practices(spa=practice.spa, practice_ids=[practice.pk])
    return row


# --- the briefing ----------------------------------------------------------------------------------


def spa_news_since(*, spa, since):
    """What is new at the spa since the aware datetime ``since``: names of catalog items added (not archived),
    by kind, as the briefing's "new_at_spa"."""
    news = {}
    for key, model, name_of in CATALOG_KINDS:
        items = list(
            model.objects.filter(spa=spa, created_at__gte=since, archived_at__isnull=True).order_by("created_at", "id")[
                : BRIEFING_NAMES_PER_KIND + 1
            ]
        )
        total = len(items)
        if total > BRIEFING_NAMES_PER_KIND:
            total = model.objects.filter(spa=spa, created_at__gte=since, archived_at__isnull=True).count()
        news[key] = {
            "names": [name_of(item) for item in items[:BRIEFING_NAMES_PER_KIND]],
            "more": max(total - BRIEFING_NAMES_PER_KIND, 0),
        }
    return news


# --- who does it -----------------------------------------------------------------------------------


def team_of(spa):
    """(ids of the spa's active members, the spa's first owner or None): to pick an assignee who can act."""
    memberships = list(
        Membership.objects.filter(spa=spa, user__is_active=True).select_related("user").order_by("created_at", "id")
    )
    first_owner = next((m.user for m in memberships if m.role == Role.OWNER), None)
    return {m.user_id for m in memberships}, first_owner


def assignee_for(practice, team, *fallbacks):
    """The practice's owner if still on the team, else the first of ``fallbacks`` who is, else an owner."""
    member_ids, first_owner = team
    for person in (practice.owner, *fallbacks):
        if person is not None and person.pk in member_ids:
            return person
    return first_owner


# --- the hourly job --------------------------------------------------------------------------------

# Practices per transaction. Each chunk's inserts commit together with its emails (one per assignee), so a
# chunk is also the unit of "one email per assignee": large enough that a normal spa's run is one chunk.
CHUNK_SIZE = 2000
# Rows per INSERT / UPDATE statement (well under PostgreSQL's and SQLite's parameter limits).
BATCH_SIZE = 500
# Check-ins listed by name in an assignee's email; past this, "and N more" with a link to My day.
EMAIL_LISTED = 20


@dataclass
class DueCheckIn:
    """A practice that is due a check-in this run, with what its task is built from."""

    practice: Practice
    due: datetime.date
    since_on: datetime.date
    since_reason: str
    assignee: object = None

    @property
    def dedupe_key(self):
        return f"checkin:{self.practice.pk}:{self.due.isoformat()}"


def check_ins_create_due(*, spa, now=None, notify=True):
    """Create the check-in task for each active partner of ``spa`` that is due one, and email each assignee
    once per chunk with the check-ins created for them.

    Idempotent: unique per (practice, due date). Returns how many tasks this run created."""
    now = now or timezone.now()
    today = spa_today(spa, now)
    default_days = outreach_settings_for(spa).check_in_cadence_days
    practices = list(
        Practice.objects.filter(spa=spa, stage=Stage.ACTIVE)
        .select_related("spa", "owner", "check_in_cadence")
        .annotate(latest_check_in_on=last_check_in_subquery())
        .order_by("pk")
    )
    # Rows of practices that left ACTIVE keep their override but no longer show a due date.
    CheckInCadence.objects.filter(spa=spa, next_due_on__isnull=False).exclude(practice__stage=Stage.ACTIVE).update(
        next_due_on=None
    )
    schedules = {
        practice.pk: check_in_due_on(
            practice=practice,
            last_check_in_on=practice.latest_check_in_on,
            cadence_days=cadence_override(practice) or default_days,
        )
        for practice in practices
    }
    _schedules_save(practices, schedules)
    # A cheap first cut, so a run with nothing new does no more; each chunk checks again under the lock.
    with_open_check_in = _practices_with_open_check_in(spa, [practice.pk for practice in practices])
    due = [
        _due_check_in(practice, due=schedules[practice.pk])
        for practice in practices
        if schedules[practice.pk] <= today and practice.pk not in with_open_check_in
    ]
    if not due:
        return 0
    team = team_of(spa)
    for item in due:
        item.assignee = assignee_for(item.practice, team)
    news = CatalogNews(spa, earliest=spa_day_start(spa, min(item.since_on for item in due)))
    created = 0
    for start in range(0, len(due), CHUNK_SIZE):
        created += _chunk_create(spa, due[start : start + CHUNK_SIZE], today=today, news=news, notify=notify)
    return created


def _schedules_save(practices, schedules):
    """Write the CheckInCadence rows that are missing or out of date: a few bulk statements, not one per row."""
    missing, changed = [], []
    stamp = timezone.now()  # bulk_update skips auto_now
    for practice in practices:
        last, due = practice.latest_check_in_on, schedules[practice.pk]
        try:
            row = practice.check_in_cadence
        except CheckInCadence.DoesNotExist:
            missing.append(
                CheckInCadence(spa_id=practice.spa_id, practice=practice, last_check_in_on=last, next_due_on=due)
            )
            continue
        if (row.last_check_in_on, row.next_due_on) != (last, due):
            row.last_check_in_on, row.next_due_on, row.updated_at = last, due, stamp
            changed.append(row)
    # A concurrent run (or the touchpoint hook) may insert the same row first; it computes the same dates.
    CheckInCadence.objects.bulk_create(missing, ignore_conflicts=True, batch_size=BATCH_SIZE)
    CheckInCadence.objects.bulk_update(
        changed, ["last_check_in_on", "next_due_on", "updated_at"], batch_size=BATCH_SIZE
    )


def _practices_with_open_check_in(spa, practice_ids):
    return set(
        Task.objects.filter(spa=spa, kind=TaskKind.CHECK_IN, done_at=None, practice_id__in=practice_ids).values_list(
            "practice_id", flat=True
        )
    )


def _due_check_in(practice, *, due):
    # The briefing counts from the last check-in, unless the practice became active (again) after it.
    last, active_since = practice.latest_check_in_on, became_active_on(practice)
    if last and last >= active_since:
        return DueCheckIn(practice=practice, due=due, since_on=last, since_reason="last_check_in")
    return DueCheckIn(practice=practice, due=due, since_on=active_since, since_reason="became_active")


def _chunk_create(spa, chunk, *, today, news, notify):
    """Create the tasks of one chunk that no run has created yet, their audit events and the emails, in one
    transaction. Returns how many tasks it created."""
    with transaction.atomic():
        # Two runs at once (a second beat) take turns here, so the second one reads what the first committed
        # and inserts nothing: the run whose insert won is the only one that emails. (SQLite serialises
        # writers by itself and ignores FOR UPDATE.)
        list(OutreachSettings.objects.select_for_update().filter(spa=spa).values_list("pk", flat=True))
        taken = set(
            Task.objects.filter(spa=spa, dedupe_key__in=[item.dedupe_key for item in chunk]).values_list(
                "dedupe_key", flat=True
            )
        )
        with_open = _practices_with_open_check_in(spa, [item.practice.pk for item in chunk])
        todo = [item for item in chunk if item.dedupe_key not in taken and item.practice.pk not in with_open]
        if not todo:
            return 0
        referrals = ReferralFigures(spa, todo)
        tasks = Task.objects.bulk_create(
            [_task_of(spa, item, today=today, news=news, referrals=referrals) for item in todo],
            batch_size=BATCH_SIZE,
        )
        AuditEvent.objects.bulk_create([_created_event(task) for task in tasks], batch_size=BATCH_SIZE)
        if notify:
            _email_assignees(spa, todo)
    return len(tasks)


@functools.lru_cache(maxsize=512)
def _notes_for(since_on, language):
    # Cached per (date, language): thousands of tasks share a handful of dates, and formatting one costs a
    # translation lookup. ``language`` is part of the key so a cached text never crosses languages.
    return _(
        "Time for the regular check-in. The briefing below lists what is new at the spa and this "
        "practice's referrals since %(since)s."
    ) % {"since": date_format(since_on, "M j, Y")}


def _task_of(spa, item, *, today, news, referrals):
    # The fields task_create would write, built here so a chunk is inserted in a few statements. The values
    # are ours (an assignee from the team, a known practice), so the per-row full_clean() lookups are skipped.
    since = spa_day_start(spa, item.since_on)
    return Task(
        spa=spa,
        title=(_("Check in with %(practice)s") % {"practice": item.practice.name})[:200],
        kind=TaskKind.CHECK_IN,
        source=TaskSource.CHECK_IN,
        due_on=item.due,
        assignee=item.assignee,
        practice=item.practice,
        notes=_notes_for(item.since_on, get_language()),
        briefing={
            "version": BRIEFING_VERSION,
            "kind": "check_in",
            "written_on": today.isoformat(),
            "since": item.since_on.isoformat(),
            "since_reason": item.since_reason,
            "new_at_spa": news.since(since),
            "referrals": referrals.since(item.practice.pk, since),
        },
        dedupe_key=item.dedupe_key,
    )


def _created_event(task):
    # What task_create's audit_record writes for a task the system made (no actor; the source names it).
    return AuditEvent(
        spa=task.spa,
        actor=None,
        actor_label=str(TaskSource.CHECK_IN),
        action="task.created",
        object_type=Task._meta.label_lower,
        object_id=str(task.public_id),
        detail={"source": str(TaskSource.CHECK_IN)},
    )


class CatalogNews:
    """``spa_news_since`` for many moments at once: each catalog kind is read once (from the earliest moment),
    then cut per moment in Python. The answer depends only on the moment, which many practices share."""

    def __init__(self, spa, *, earliest):
        self._items = {
            key: list(
                model.objects.filter(spa=spa, created_at__gte=earliest, archived_at__isnull=True).order_by(
                    "created_at", "id"
                )
            )
            for key, model, _name_of in CATALOG_KINDS
        }
        self._created = {key: [item.created_at for item in items] for key, items in self._items.items()}
        self._memo = {}

    def since(self, since):
        if since not in self._memo:
            news = {}
            for key, _model, name_of in CATALOG_KINDS:
                # Sorted by created_at: everything from the first item at or after ``since`` is new.
                fresh = self._items[key][bisect.bisect_left(self._created[key], since) :]
                news[key] = {
                    "names": [name_of(item) for item in fresh[:BRIEFING_NAMES_PER_KIND]],
                    "more": max(len(fresh) - BRIEFING_NAMES_PER_KIND, 0),
                }
            self._memo[since] = news
        return self._memo[since]


class ReferralFigures:
    """The briefing's "referrals" for a chunk of practices (how many received, completed and still open, and the
    latest, on the spa's calendar): one query for all their referrals received since the earliest of their
    moments, then counted per practice, from its own moment, in Python."""

    def __init__(self, spa, items):
        self._spa = spa
        self._by_practice = defaultdict(list)
        earliest = min(spa_day_start(spa, item.since_on) for item in items)
        rows = Referral.objects.filter(
            spa=spa, practice_id__in=[item.practice.pk for item in items], received_at__gte=earliest
        ).values_list("practice_id", "received_at", "status")
        for practice_id, received_at, status in rows:
            self._by_practice[practice_id].append((received_at, status))

    def since(self, practice_id, since):
        received = [(at, status) for at, status in self._by_practice.get(practice_id, ()) if at >= since]
        last = max((at for at, _status in received), default=None)
        return {
            "received": len(received),
            "completed": sum(1 for _at, status in received if status == Status.COMPLETED),
            "open": sum(1 for _at, status in received if status in OPEN_STATUSES),
            "last_received_on": local_date(self._spa, last).isoformat() if last else None,
        }


def _email_assignees(spa, items):
    """One email per assignee, listing the check-ins created for them (soonest due first)."""
    by_assignee = defaultdict(list)
    for item in items:
        if item.assignee is not None and item.assignee.email:
            by_assignee[item.assignee.pk].append(item)
    for mine in by_assignee.values():
        _email_assignee(spa, mine[0].assignee, sorted(mine, key=lambda item: (item.due, item.practice.name)))


def _email_assignee(spa, assignee, items):
    # No health information: practice names, dates and links into the app.
    listed = [
        {
            "practice": item.practice,
            "due": item.due,
            "url": settings.SITE_URL
            + reverse("partners:detail", args=[spa.slug, item.practice.public_id])
            + "#check-ins",
        }
        for item in items[:EMAIL_LISTED]
    ]
    email_enqueue(
        spa=spa,
        to=assignee.email,
        template_name="check-in-due",
        context={
            "spa": spa,
            "assignee": assignee,
            "check_ins": listed,
            "count": len(items),
            "more": len(items) - len(listed),
            "my_day_url": settings.SITE_URL + reverse("outreach:my_day", args=[spa.slug]),
        },
    )
