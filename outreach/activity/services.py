"""Touchpoints and tasks: the writes every outreach capability builds on (the reads of My day are in selectors.py).

Logging a touchpoint closes the practice's open task of the same kind (a logged call closes the "Call"
task); marking such a task done logs the touchpoint. Other parts of outreach react through hooks they
register here at import (``on_touchpoints_changed``, ``on_task_done``, ``on_task_reopened``,
``on_outreach_settings_changed``) — campaigns advance, check-in cadences move, partner health is assessed
again — so this module knows none of them.

Scheduled jobs create tasks with a ``dedupe_key``: the unique constraint makes a second run, or a
second beat process, create nothing (``task_create`` then returns the existing task, created=False).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from partners.models import Clinician, OfficeContact, Practice
from spas.models import Membership

from ..models import (
    Campaign,
    Event,
    Task,
    TaskKind,
    TaskPractice,
    TaskSource,
    Touchpoint,
    TouchpointKind,
    TouchpointParticipant,
    outreach_settings_for,
)
from .selectors import spa_today

# Task kinds that a touchpoint of the same value completes (and that log one when marked done).
TOUCHPOINT_KIND_OF_TASK = {kind: kind for kind in TaskKind.values if kind in TouchpointKind.values}

_touchpoint_hooks = []
_task_done_hooks = []
_task_reopened_hooks = []
_settings_hooks = []


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


def on_outreach_settings_changed(hook):
    """Register ``hook(spa, changed)``, called inside the transaction that changed these settings (field names)."""
    _settings_hooks.append(hook)
    return hook


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
    audit_record(spa=spa, action="touchpoint.logged", actor=actor, obj=touchpoint, detail={"kind": kind})
    if close_task and kind in TOUCHPOINT_KIND_OF_TASK.values():
        task = (
            Task.objects.select_for_update()
            .filter(spa=spa, practice=practice, kind=kind, done_at=None)
            .order_by("due_on", "id")
            .first()
        )
        if task is not None:
            _mark_done(task, actor=actor, touchpoint=touchpoint, logged_by_task=False)
    _touchpoints_changed(practice, kind)
    return touchpoint


def _touchpoints_changed(practice, kind):
    for hook in _touchpoint_hooks:
        hook(practice, kind)


# How long a removed touchpoint can be brought back with the toast's Undo.
RESTORE_WINDOW = datetime.timedelta(hours=1)


def _snapshot(touchpoint):
    """What ``touchpoint_restore`` needs to bring a removed touchpoint back (kept in the audit event)."""
    people = list(touchpoint.participants.values_list("clinician_id", "contact_id"))
    return {
        "practice": touchpoint.practice_id,
        "kind": touchpoint.kind,
        "occurred_on": touchpoint.occurred_on.isoformat(),
        "outcome": touchpoint.outcome,
        "notes": touchpoint.notes,
        "next_step": touchpoint.next_step,
        "campaign": touchpoint.campaign_id,
        "event": touchpoint.event_id,
        "logged_by": touchpoint.logged_by_id,
        "created_at": touchpoint.created_at.isoformat(),
        "clinicians": [clinician for clinician, _contact in people if clinician],
        "contacts": [contact for _clinician, contact in people if contact],
    }


@transaction.atomic
def touchpoint_delete(*, touchpoint, actor):
    """Remove a touchpoint logged by mistake; a task it closed opens again. The audit event keeps what was
    removed, so ``touchpoint_restore`` can undo it."""
    snapshot = _snapshot(touchpoint)
    reopened = []
    for task in Task.objects.select_for_update().filter(
        spa=touchpoint.spa, touchpoint=touchpoint, done_at__isnull=False
    ):
        reopened.append([str(task.public_id), task.touchpoint_logged_by_task])
        _reopen(task, actor=actor, delete_touchpoint=False)
    audit_record(
        spa=touchpoint.spa,
        action="touchpoint.deleted",
        actor=actor,
        obj=touchpoint,
        detail={"touchpoint": snapshot, "reopened_tasks": reopened},
    )
    practice, kind = touchpoint.practice, touchpoint.kind
    touchpoint.delete()
    _touchpoints_changed(practice, kind)


@transaction.atomic
def touchpoint_restore(*, spa, removal, actor):
    """Bring back a touchpoint removed within ``RESTORE_WINDOW`` (the toast's Undo), with its people, and close
    again the tasks its removal reopened (those still open). Returns the touchpoint."""
    snapshot = (removal.detail or {}).get("touchpoint")
    if not snapshot:
        raise ValidationError(_("This touchpoint cannot be brought back."))
    if removal.created_at < timezone.now() - RESTORE_WINDOW:
        raise ValidationError(_("This touchpoint was removed too long ago to undo."))
    if Touchpoint.objects.filter(spa=spa, public_id=removal.object_id).exists():
        raise ValidationError(_("This touchpoint is already back."))
    practice = Practice.objects.filter(spa=spa, pk=snapshot["practice"]).first()
    if practice is None:
        raise ValidationError(_("The practice of this touchpoint was removed."))
    touchpoint = Touchpoint(
        spa=spa,
        public_id=removal.object_id,
        practice=practice,
        kind=snapshot["kind"],
        occurred_on=datetime.date.fromisoformat(snapshot["occurred_on"]),
        outcome=snapshot["outcome"],
        notes=snapshot["notes"],
        next_step=snapshot["next_step"],
        campaign_id=_existing(Campaign, spa, snapshot.get("campaign")),
        event_id=_existing(Event, spa, snapshot.get("event")),
        logged_by_id=Membership.objects.filter(spa=spa, user_id=snapshot.get("logged_by"))
        .values_list("user_id", flat=True)
        .first(),
        created_at=datetime.datetime.fromisoformat(snapshot["created_at"]),
    )
    touchpoint.full_clean(validate_unique=False)
    touchpoint.save()
    clinicians = Clinician.objects.filter(spa=spa, practice=practice, pk__in=snapshot.get("clinicians", []))
    contacts = OfficeContact.objects.filter(spa=spa, practice=practice, pk__in=snapshot.get("contacts", []))
    TouchpointParticipant.objects.bulk_create(
        [TouchpointParticipant(spa=spa, touchpoint=touchpoint, clinician=person) for person in clinicians]
        + [TouchpointParticipant(spa=spa, touchpoint=touchpoint, contact=person) for person in contacts]
    )
    audit_record(spa=spa, action="touchpoint.restored", actor=actor, obj=touchpoint)
    logged_by_task = dict(removal.detail.get("reopened_tasks") or [])
    for task in Task.objects.select_for_update().filter(spa=spa, public_id__in=list(logged_by_task), done_at=None):
        _mark_done(
            task,
            actor=actor,
            touchpoint=touchpoint,
            logged_by_task=bool(logged_by_task.get(str(task.public_id))),
        )
    _touchpoints_changed(practice, touchpoint.kind)
    return touchpoint


def _existing(model, spa, pk):
    return model.objects.filter(spa=spa, pk=pk).values_list("pk", flat=True).first() if pk else None


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
                detail={"source": source},
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return Task.objects.get(spa=spa, dedupe_key=dedupe_key), False
    return task, True


def _mark_done(task, *, actor, touchpoint, logged_by_task):
    task.done_at = timezone.now()
    task.done_by = actor if actor is not None and actor.is_authenticated else None
    task.touchpoint = touchpoint
    task.touchpoint_logged_by_task = logged_by_task
    task.save(update_fields=["done_at", "done_by", "touchpoint", "touchpoint_logged_by_task"])
    audit_record(spa=task.spa, action="task.done", actor=actor, obj=task)
    for hook in _task_done_hooks:
        hook(task)


@transaction.atomic
def task_complete(*, task, actor):
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
        )
    _mark_done(task, actor=actor, touchpoint=touchpoint, logged_by_task=touchpoint is not None)
    if task.kind in TOUCHPOINT_KIND_OF_TASK:
        _log_covered_touchpoints(task, actor=actor)
    return task


def _log_covered_touchpoints(task, *, actor):
    # A rolled-up task (the week's thank-you notes) logs its touchpoint at each practice it covers, unless one
    # of that kind was logged there by hand since the practice was put on the task.
    lines = list(TaskPractice.objects.filter(spa=task.spa, task=task).select_related("practice").order_by("id"))
    if not lines:
        return
    kind = TOUCHPOINT_KIND_OF_TASK[task.kind]
    logged_by_hand = {}
    for touchpoint in Touchpoint.objects.filter(
        spa=task.spa,
        kind=kind,
        practice_id__in=[line.practice_id for line in lines],
        created_at__gte=min(line.added_at for line in lines),
    ).order_by("created_at", "id"):
        logged_by_hand.setdefault(touchpoint.practice_id, []).append(touchpoint)
    for line in lines:
        earlier = [tp for tp in logged_by_hand.get(line.practice_id, []) if tp.created_at >= line.added_at]
        if earlier:
            line.touchpoint, line.touchpoint_logged_by_task = earlier[-1], False
        else:
            line.touchpoint = touchpoint_log(
                spa=task.spa,
                practice=line.practice,
                kind=kind,
                occurred_on=spa_today(task.spa),
                actor=actor,
                notes=_("Logged by completing the task “%(title)s”.") % {"title": task.title},
                close_task=False,
            )
            line.touchpoint_logged_by_task = True
        line.save(update_fields=["touchpoint", "touchpoint_logged_by_task"])


def _reopen(task, *, actor, delete_touchpoint=True):
    touchpoint = task.touchpoint if delete_touchpoint and task.touchpoint_logged_by_task else None
    covered = list(
        TaskPractice.objects.filter(spa=task.spa, task=task, touchpoint__isnull=False).select_related(
            "touchpoint__practice"
        )
    )
    task.done_at = None
    task.done_by = None
    task.touchpoint = None
    task.touchpoint_logged_by_task = False
    task.save(update_fields=["done_at", "done_by", "touchpoint", "touchpoint_logged_by_task"])
    audit_record(spa=task.spa, action="task.reopened", actor=actor, obj=task)
    if touchpoint is not None:
        practice, kind = touchpoint.practice, touchpoint.kind
        touchpoint.delete()
        _touchpoints_changed(practice, kind)
    for line in covered:
        logged = line.touchpoint if delete_touchpoint and line.touchpoint_logged_by_task else None
        line.touchpoint, line.touchpoint_logged_by_task = None, False
        line.save(update_fields=["touchpoint", "touchpoint_logged_by_task"])
        if logged is not None:
            practice, kind = logged.practice, logged.kind
            logged.delete()
            _touchpoints_changed(practice, kind)
    for hook in _task_reopened_hooks:
        hook(task)


@transaction.atomic
def task_reopen(*, task, actor):
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
    _reopen(task, actor=actor)
    return task


@transaction.atomic
def task_update(*, task, actor, **fields):
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
    audit_record(spa=task.spa, action="task.updated", actor=actor, obj=task)
    return task


# Most tasks one bulk action takes (a page of the task list is 50).
BULK_LIMIT = 200


@transaction.atomic
def tasks_complete(*, spa, task_ids, actor):
    """Mark several open tasks done at once, each as ``task_complete`` does. Returns the tasks this call marked
    done (those already done or unknown are left out)."""
    tasks = list(
        Task.objects.select_for_update(of=("self",))
        .filter(spa=spa, public_id__in=list(task_ids)[:BULK_LIMIT], done_at=None)
        .order_by("due_on", "id")
    )
    return [task_complete(task=task, actor=actor) for task in tasks]


@transaction.atomic
def tasks_reopen(*, spa, task_ids, actor):
    """Undo "done" for several tasks at once (a bulk action's Undo). Returns the tasks opened again."""
    tasks = list(
        Task.objects.select_for_update(of=("self",))
        .filter(spa=spa, public_id__in=list(task_ids)[:BULK_LIMIT], done_at__isnull=False)
        .order_by("due_on", "id")
    )
    return [task_reopen(task=task, actor=actor) for task in tasks]


@transaction.atomic
def task_snooze(*, task, until, actor):
    """Put an open task off to ``until``, a later day than it is due. Returns (task, the due date it had)."""
    task = Task.objects.select_for_update(of=("self",)).select_related("spa").filter(pk=task.pk).first()
    if task is None:
        raise Task.DoesNotExist("The task was removed.")
    if task.done_at is not None:
        raise ValidationError(_("This task is done already."))
    if until <= spa_today(task.spa) or until <= task.due_on:
        raise ValidationError({"until": _("Snooze a task to a later day than it is due.")})
    previous = task.due_on
    task.due_on = until
    task.save(update_fields=["due_on"])
    audit_record(
        spa=task.spa,
        action="task.snoozed",
        actor=actor,
        obj=task,
        detail={"from": previous.isoformat(), "to": until.isoformat()},
    )
    return task, previous


@transaction.atomic
def outreach_settings_update(*, spa, actor, fields):
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
        detail={name: fields[name] for name in changed},
    )
    for hook in _settings_hooks:
        hook(spa, changed)
    return settings_row
