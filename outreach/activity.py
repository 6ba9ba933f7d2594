"""Touchpoints and tasks: the writes every outreach capability builds on, and the reads of My day.

Logging a touchpoint closes the practice's open task of the same kind (a logged call closes the "Call"
task); marking such a task done logs the touchpoint. Other parts of outreach react through hooks they
register here at import (``on_touchpoints_changed``, ``on_task_done``, ``on_task_reopened``) — campaigns
advance, check-in cadences move — so this module knows none of them.

Scheduled jobs create tasks with a ``dedupe_key``: the unique constraint makes a second run, or a
second beat process, create nothing (``task_create`` then returns the existing task, created=False).
"""

import datetime
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Clinician, OfficeContact
from spas.models import Membership
from spas.services import audit_record

from .models import (
    Task,
    TaskKind,
    TaskSource,
    Touchpoint,
    TouchpointKind,
    TouchpointParticipant,
    outreach_settings_for,
)

# Task kinds that a touchpoint of the same value completes (and that log one when marked done).
TOUCHPOINT_KIND_OF_TASK = {kind: kind for kind in TaskKind.values if kind in TouchpointKind.values}

_touchpoint_hooks = []
_task_done_hooks = []
_task_reopened_hooks = []


def on_touchpoints_changed(hook):
    """Register ``hook(practice, kind)``, called inside the transaction that logged or removed a touchpoint
    of that kind at that practice (derive state from the touchpoints that remain)."""
    _touchpoint_hooks.append(hook)
    return hook


def on_task_done(hook):
    """Register ``hook(task)``, called inside the transaction that marked it done."""
    _task_done_hooks.append(hook)
    return hook


def on_task_reopened(hook):
    """Register ``hook(task)``, called inside the transaction that undid it."""
    _task_reopened_hooks.append(hook)
    return hook


def spa_today(spa, now=None):
    """Today's date on the spa's wall clock."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(spa.timezone)).date()


def spa_day_start(spa, day):
    """The moment ``day`` begins on the spa's wall clock, as an aware datetime."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zoneinfo.ZoneInfo(spa.timezone))


# --- touchpoints -----------------------------------------------------------------------------------


def _check_people(practice, clinicians, contacts):
    for person in [*clinicians, *contacts]:
        if person.practice_id != practice.pk:
            raise ValidationError({"participants": _("Choose people who work at this practice.")})


@transaction.atomic
def touchpoint_log(
    *,
    spa,
    practice,
    kind,
    occurred_on,
    actor,
    outcome="",
    notes="",
    next_step="",
    clinicians=(),
    contacts=(),
    campaign=None,
    event=None,
    close_task=True,
    request=None,
):
    """Record one contact with a practice. Returns the touchpoint.

    With ``close_task`` the practice's oldest open task of the same kind is marked done by it.
    """
    if practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Unknown practice.")})
    if occurred_on > spa_today(spa) + datetime.timedelta(days=1):
        raise ValidationError({"occurred_on": _("A touchpoint is logged once it has happened.")})
    _check_people(practice, clinicians, contacts)
    touchpoint = Touchpoint(
        spa=spa,
        practice=practice,
        kind=kind,
        occurred_on=occurred_on,
        outcome=outcome,
        notes=notes,
        next_step=next_step,
        campaign=campaign,
        event=event,
        logged_by=actor if actor is not None and actor.is_authenticated else None,
    )
    touchpoint.full_clean()
    touchpoint.save()
    TouchpointParticipant.objects.bulk_create(
        [TouchpointParticipant(spa=spa, touchpoint=touchpoint, clinician=person) for person in clinicians]
        + [TouchpointParticipant(spa=spa, touchpoint=touchpoint, contact=person) for person in contacts]
    )
    audit_record(
        spa=spa, action="touchpoint.logged", actor=actor, obj=touchpoint, request=request, detail={"kind": kind}
    )
    if close_task and kind in TOUCHPOINT_KIND_OF_TASK.values():
        task = (
            Task.objects.select_for_update()
            .filter(spa=spa, practice=practice, kind=kind, done_at=None)
            .order_by("due_on", "id")
            .first()
        )
        if task is not None:
            _mark_done(task, actor=actor, touchpoint=touchpoint, logged_by_task=False, request=request)
    _touchpoints_changed(practice, kind)
    return touchpoint


def _touchpoints_changed(practice, kind):
    for hook in _touchpoint_hooks:
        hook(practice, kind)


@transaction.atomic
def touchpoint_delete(*, touchpoint, actor, request=None):
    """Remove a touchpoint logged by mistake; a task it closed opens again."""
    for task in Task.objects.select_for_update().filter(
        spa=touchpoint.spa, touchpoint=touchpoint, done_at__isnull=False
    ):
        _reopen(task, actor=actor, request=request, delete_touchpoint=False)
    audit_record(spa=touchpoint.spa, action="touchpoint.deleted", actor=actor, obj=touchpoint, request=request)
    practice, kind = touchpoint.practice, touchpoint.kind
    touchpoint.delete()
    _touchpoints_changed(practice, kind)


def practice_timeline(*, spa, practice, limit=50):
    """The practice's touchpoints, newest first, with the people involved and who logged them."""
    return (
        Touchpoint.objects.filter(spa=spa, practice=practice)
        .select_related("logged_by", "campaign")
        .prefetch_related(
            Prefetch(
                "participants",
                queryset=TouchpointParticipant.objects.select_related("clinician", "contact"),
            )
        )[:limit]
    )


# --- tasks -----------------------------------------------------------------------------------------


def _check_assignee(spa, assignee):
    if assignee is not None and not Membership.objects.filter(spa=spa, user=assignee).exists():
        raise ValidationError({"assignee": _("Assign the task to a member of the team.")})


def task_create(
    *,
    spa,
    title,
    due_on,
    kind=TaskKind.FOLLOW_UP,
    assignee=None,
    practice=None,
    notes="",
    briefing=None,
    source=TaskSource.MANUAL,
    dedupe_key=None,
    created_by=None,
    campaign_enrollment=None,
    campaign_step=None,
    event=None,
    request=None,
):
    """Create a task. Returns (task, created); with a ``dedupe_key`` already used, the existing task."""
    if practice is not None and practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Unknown practice.")})
    _check_assignee(spa, assignee)
    task = Task(
        spa=spa,
        title=title[:200],
        kind=kind,
        due_on=due_on,
        assignee=assignee,
        practice=practice,
        notes=notes,
        briefing=briefing or {},
        source=source,
        dedupe_key=dedupe_key,
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
        campaign_enrollment=campaign_enrollment,
        campaign_step=campaign_step,
        event=event,
    )
    task.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            task.save()
            audit_record(
                spa=spa,
                action="task.created",
                actor=task.created_by,
                actor_label="" if task.created_by else source,
                obj=task,
                request=request,
                detail={"source": source},
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return Task.objects.get(spa=spa, dedupe_key=dedupe_key), False
    return task, True


def _mark_done(task, *, actor, touchpoint, logged_by_task, request):
    task.done_at = timezone.now()
    task.done_by = actor if actor is not None and actor.is_authenticated else None
    task.touchpoint = touchpoint
    task.touchpoint_logged_by_task = logged_by_task
    task.save(update_fields=["done_at", "done_by", "touchpoint", "touchpoint_logged_by_task"])
    audit_record(spa=task.spa, action="task.done", actor=actor, obj=task, request=request)
    for hook in _task_done_hooks:
        hook(task)


@transaction.atomic
def task_complete(*, task, actor, request=None):
    """Mark a task done. A task of a touchpoint kind at a practice logs that touchpoint (today)."""
    task = Task.objects.select_for_update(of=("self",)).select_related("spa", "practice").filter(pk=task.pk).first()
    if task is None:  # removed meanwhile (a campaign stopped at that instant)
        raise Task.DoesNotExist("The task was removed.")
    if task.done_at is not None:
        return task
    touchpoint = None
    if task.practice_id and task.kind in TOUCHPOINT_KIND_OF_TASK:
        touchpoint = touchpoint_log(
            spa=task.spa,
            practice=task.practice,
            kind=TOUCHPOINT_KIND_OF_TASK[task.kind],
            occurred_on=spa_today(task.spa),
            actor=actor,
            notes=_("Logged by completing the task “%(title)s”.") % {"title": task.title},
            campaign=task.campaign_enrollment.campaign if task.campaign_enrollment_id else None,
            close_task=False,
            request=request,
        )
    _mark_done(task, actor=actor, touchpoint=touchpoint, logged_by_task=touchpoint is not None, request=request)
    return task


def _reopen(task, *, actor, request, delete_touchpoint=True):
    touchpoint = task.touchpoint if delete_touchpoint and task.touchpoint_logged_by_task else None
    task.done_at = None
    task.done_by = None
    task.touchpoint = None
    task.touchpoint_logged_by_task = False
    task.save(update_fields=["done_at", "done_by", "touchpoint", "touchpoint_logged_by_task"])
    audit_record(spa=task.spa, action="task.reopened", actor=actor, obj=task, request=request)
    if touchpoint is not None:
        practice, kind = touchpoint.practice, touchpoint.kind
        touchpoint.delete()
        _touchpoints_changed(practice, kind)
    for hook in _task_reopened_hooks:
        hook(task)


@transaction.atomic
def task_reopen(*, task, actor, request=None):
    """Undo "done": the task is open again and a touchpoint that marking it done logged is removed."""
    task = (
        Task.objects.select_for_update(of=("self",))
        .select_related("spa", "practice", "touchpoint")
        .filter(pk=task.pk)
        .first()
    )
    if task is None:
        raise Task.DoesNotExist("The task was removed.")
    if task.done_at is None:
        return task
    _reopen(task, actor=actor, request=request)
    return task


@transaction.atomic
def task_update(*, task, actor, request=None, **fields):
    """Edit a task's title, kind, due date, assignee, practice or notes."""
    allowed = {"title", "kind", "due_on", "assignee", "practice", "notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "assignee" in fields:
        _check_assignee(task.spa, fields["assignee"])
    if fields.get("practice") is not None and fields["practice"].spa_id != task.spa_id:
        raise ValidationError({"practice": _("Unknown practice.")})
    for name, value in fields.items():
        setattr(task, name, value)
    task.full_clean(validate_constraints=False)
    task.save(update_fields=sorted(fields))
    audit_record(spa=task.spa, action="task.updated", actor=actor, obj=task, request=request)
    return task


def _task_queryset(spa):
    return Task.objects.filter(spa=spa).select_related("practice", "assignee", "campaign_enrollment__campaign")


def my_day(*, spa, user, today=None):
    """The user's open tasks: overdue, due today and upcoming (next 14 days), plus what they finished today."""
    today = today or spa_today(spa)
    mine = _task_queryset(spa).filter(assignee=user)
    open_tasks = mine.filter(done_at=None)
    return {
        "today": today,
        "overdue": list(open_tasks.filter(due_on__lt=today).order_by("due_on", "id")),
        "due_today": list(open_tasks.filter(due_on=today).order_by("id")),
        "upcoming": list(
            open_tasks.filter(due_on__gt=today, due_on__lte=today + datetime.timedelta(days=14)).order_by(
                "due_on", "id"
            )
        ),
        "done_today": list(mine.filter(done_at__gte=spa_day_start(spa, today)).order_by("-done_at")[:20]),
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


@transaction.atomic
def outreach_settings_update(*, spa, actor, fields, request=None):
    """Change the spa's outreach rhythm (cadence, fresh-approach period, digest hour); audited."""
    settings_row = outreach_settings_for(spa)
    changed = sorted(name for name, value in fields.items() if getattr(settings_row, name) != value)
    if not changed:
        return settings_row
    for name in changed:
        setattr(settings_row, name, fields[name])
    settings_row.full_clean()
    settings_row.save(update_fields=changed)
    audit_record(
        spa=spa,
        action="outreach_settings.updated",
        actor=actor,
        obj=settings_row,
        request=request,
        detail={name: fields[name] for name in changed},
    )
    return settings_row
