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
``checkin:<practice pk>:<due date>``: the unique constraint makes a second run, or a second beat process
racing this one, create nothing, and the email to the assignee is queued only by the run whose insert won
(in the same transaction). A practice that already has an open check-in task gets no second one.

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

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from partners.models import Practice, Stage
from referrals.models import OPEN_STATUSES, Referral, Status
from spas.models import Credential, Equipment, Membership, Offer, ProductLine, Role, Service
from spas.outbox import email_enqueue
from spas.services import audit_record

from .activity import on_touchpoints_changed, spa_day_start, spa_today, task_create
from .models import CheckInCadence, Task, TaskKind, TaskSource, Touchpoint, TouchpointKind, outreach_settings_for

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


def local_date(spa, moment):
    """The date of ``moment`` on the spa's wall clock."""
    return spa_today(spa, moment)


def became_active_on(practice):
    """The spa-local date the practice became an active partner, or None when it is not active."""
    if practice.stage != Stage.ACTIVE:
        return None
    return local_date(practice.spa, practice.stage_changed_at)


def cadence_override(practice):
    """The practice's own cadence in days, or None (the spa's default applies)."""
    try:
        return practice.check_in_cadence.cadence_days
    except CheckInCadence.DoesNotExist:
        return None


def check_in_due_on(*, practice, last_check_in_on, cadence_days):
    """When the next check-in is due: (the later of the last check-in and becoming active) + the cadence.

    None for practices that are not active partners."""
    active_since = became_active_on(practice)
    if active_since is None:
        return None
    start = max(active_since, last_check_in_on) if last_check_in_on else active_since
    return start + datetime.timedelta(days=cadence_days)


def last_check_in_subquery():
    """Annotation for a Practice queryset: the date of its latest "check_in" touchpoint."""
    return Subquery(
        Touchpoint.objects.filter(practice=OuterRef("pk"), kind=TouchpointKind.CHECK_IN)
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )


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
def check_in_cadence_set(*, practice, cadence_days, actor, request=None):
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
        request=request,
        detail={"from": previous, "to": cadence_days},
    )
    return check_in_schedule_refresh(practice=practice)


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


def referral_figures_since(*, spa, practice, since):
    """The practice's referrals received since the aware datetime ``since``: how many, how many of them were
    completed, how many are still being worked, and the date of the latest (spa's calendar)."""
    figures = Referral.objects.filter(spa=spa, practice=practice, received_at__gte=since).aggregate(
        received=Count("pk"),
        completed=Count("pk", filter=Q(status=Status.COMPLETED)),
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        last=Max("received_at"),
    )
    return {
        "received": figures["received"],
        "completed": figures["completed"],
        "open": figures["open"],
        "last_received_on": local_date(spa, figures["last"]).isoformat() if figures["last"] else None,
    }


def check_in_briefing(*, spa, practice, since_on, since_reason, today):
    """The briefing a check-in task arrives with (shape documented at the top of this module)."""
    since = spa_day_start(spa, since_on)
    return {
        "version": BRIEFING_VERSION,
        "kind": "check_in",
        "written_on": today.isoformat(),
        "since": since_on.isoformat(),
        "since_reason": since_reason,
        "new_at_spa": spa_news_since(spa=spa, since=since),
        "referrals": referral_figures_since(spa=spa, practice=practice, since=since),
    }


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


def check_ins_create_due(*, spa, now=None, notify=True):
    """Create the check-in task (and email its assignee) for each active partner of ``spa`` that is due one.

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
    with_open_check_in = set(
        Task.objects.filter(spa=spa, kind=TaskKind.CHECK_IN, done_at=None, practice__isnull=False).values_list(
            "practice_id", flat=True
        )
    )
    team = None
    created = 0
    for practice in practices:
        last = practice.latest_check_in_on
        due = check_in_due_on(
            practice=practice, last_check_in_on=last, cadence_days=cadence_override(practice) or default_days
        )
        _save_schedule(practice, last_check_in_on=last, next_due_on=due)
        if due > today or practice.pk in with_open_check_in:
            continue
        team = team or team_of(spa)
        created += _create_check_in(practice, due=due, last=last, today=today, team=team, notify=notify)
    return created


def _create_check_in(practice, *, due, last, today, team, notify):
    spa = practice.spa
    active_since = became_active_on(practice)
    if last and last >= active_since:
        since_on, since_reason = last, "last_check_in"
    else:
        since_on, since_reason = active_since, "became_active"
    assignee = assignee_for(practice, team)
    with transaction.atomic():
        task, created = task_create(
            spa=spa,
            title=_("Check in with %(practice)s") % {"practice": practice.name},
            kind=TaskKind.CHECK_IN,
            source=TaskSource.CHECK_IN,
            due_on=due,
            assignee=assignee,
            practice=practice,
            notes=_(
                "Time for the regular check-in. The briefing below lists what is new at the spa and this "
                "practice's referrals since %(since)s."
            )
            % {"since": date_format(since_on, "M j, Y")},
            briefing=check_in_briefing(
                spa=spa, practice=practice, since_on=since_on, since_reason=since_reason, today=today
            ),
            dedupe_key=f"checkin:{practice.pk}:{due.isoformat()}",
        )
        if created and notify and assignee is not None and assignee.email:
            _email_assignee(task, assignee)
    return int(created)


def _email_assignee(task, assignee):
    # No health information: the practice's name, the date and a link into the app.
    spa = task.spa
    url = settings.SITE_URL + reverse("partners:detail", args=[spa.slug, task.practice.public_id]) + "#check-ins"
    email_enqueue(
        spa=spa,
        to=assignee.email,
        template_name="check-in-due",
        context={"spa": spa, "practice": task.practice, "due": task.due_on, "assignee": assignee, "url": url},
    )
