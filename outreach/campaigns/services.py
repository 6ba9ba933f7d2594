"""Campaign writes: saving a draft, launching, advancing step by step, stopping, removing a practice.

The reads (segments and their preview, the campaign list, progress and results) are in selectors.py.

How a campaign moves
- A draft holds a name, a goal, who gets the tasks, the segment (specialty, stage, city, tag) and its
  steps (kind, optional title, days after the previous step; a letter step names a letter template).
- Launching enrolls every practice matching the segment at that moment (one CampaignEnrollment each)
  and creates each practice's first-step task, due today on the spa's calendar. A letter step's task
  comes with the practice's personalized letter, requested from the documents capability.
- A step is done when its task is done: marked done on My day, or closed by logging a touchpoint of
  the same kind at the practice (outreach.activity does both and calls our hooks). The enrollment's
  ``steps_done`` then moves on and the next step's task is created, due on the day the step was done
  (the touchpoint's date when a touchpoint closed it) plus the next step's "days after". After the
  last step the enrollment is completed; when no practice is still in progress the campaign finishes.
- Undoing a step's task removes the next step's task if it is not done yet and counts the step undone.
- Stopping a campaign keeps every piece of work already done (done tasks, touchpoints, letters),
  deletes the campaign's open tasks so they leave everyone's My day, marks the practices still in
  progress as stopped and finishes the campaign. Removing one practice does the same for that practice.
- ``campaigns_advance`` (hourly) repairs: it creates any step task that should exist and does not
  (the dedupe key ``campaign:<enrollment>:<position>`` makes that idempotent), corrects progress
  counters and finishes campaigns nobody is working on any more.

A finished campaign whose remaining practices were stopped is told apart from one whose practices
all completed by its stopped enrollments: stopping marks them with ``completed_at`` equal to the
campaign's ``finished_at`` (the model has no separate "stopped" status for a campaign).
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.audit import audit_record
from spas.models import Membership

from ..activity import selectors as activity_selectors
from ..activity import services as activity_services
from ..letters.services import letter_request
from ..models import (
    Campaign,
    CampaignEnrollment,
    CampaignStep,
    Task,
    TaskKind,
    TaskSource,
)
from .selectors import MAX_PRACTICES, campaign_was_stopped, segment_clean, segment_practices

MAX_STEPS = 10
MAX_DAYS_AFTER = 365

# The sequence a new campaign starts with: letter → call after 5 days → lunch-presentation invitation after 14.
DEFAULT_STEPS = [
    {"kind": TaskKind.LETTER, "title": "", "days_after_previous": 0},
    {"kind": TaskKind.PHONE_CALL, "title": gettext_lazy("Follow-up call about the letter"), "days_after_previous": 5},
    {
        "kind": TaskKind.LUNCH_PRESENTATION,
        "title": gettext_lazy("Invite to a 15-minute lunch presentation"),
        "days_after_previous": 14,
    },
]


def _actor(user):
    return user if user is not None and user.is_authenticated else None


# --- segments --------------------------------------------------------------------------------------


# --- drafts ----------------------------------------------------------------------------------------


def _check_member(spa, user, field):
    if user is not None and not Membership.objects.filter(spa=spa, user=user).exists():
        raise ValidationError({field: _("Choose a member of the team.")})


def _clean_steps(spa, steps):
    """Validate the sequence; returns CampaignStep rows (unsaved) at positions 1…n."""
    if not steps:
        raise ValidationError({"steps": _("Add at least one step.")})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": _("A campaign has at most %(count)s steps.") % {"count": MAX_STEPS}})
    rows = []
    for index, step in enumerate(steps):
        kind = step.get("kind")
        template = step.get("letter_template")
        days = step.get("days_after_previous") or 0
        if kind not in TaskKind.values:
            raise ValidationError({"steps": _("Step %(number)s: choose what to do.") % {"number": index + 1}})
        if index == 0 and days != 0:
            raise ValidationError({"steps": _("The first step happens at launch: 0 days.")})
        if not 0 <= days <= MAX_DAYS_AFTER:
            raise ValidationError({"steps": _("Step %(number)s: between 0 and 365 days.") % {"number": index + 1}})
        if kind == TaskKind.LETTER:
            if template is None:
                raise ValidationError(
                    {"steps": _("Step %(number)s: choose the letter to send.") % {"number": index + 1}}
                )
            if template.spa_id != spa.pk:
                raise ValidationError({"steps": _("Unknown letter.")})
        else:
            template = None
        rows.append(
            CampaignStep(
                spa=spa,
                position=index + 1,
                kind=kind,
                title=(step.get("title") or "").strip()[:200],
                days_after_previous=days,
                letter_template=template,
            )
        )
    return rows


@transaction.atomic
def campaign_save(*, spa, actor, fields, steps, segment, campaign=None, launch=False):
    """Create or edit a draft campaign with its segment and steps; with ``launch`` also launch it.

    ``fields``: name, description, owner. ``steps``: [{"kind", "title", "days_after_previous",
    "letter_template"}] in order. Launched campaigns keep their steps and segment: use
    ``campaign_update`` for their name, goal and assignee.
    """
    creating = campaign is None
    if creating:
        campaign = Campaign(spa=spa, created_by=_actor(actor))
    else:
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, spa=spa)
        if campaign.status != Campaign.Status.DRAFT:
            raise ValidationError(_("A launched campaign keeps its steps and practices."))
    campaign.name = (fields.get("name") or "").strip()
    campaign.description = (fields.get("description") or "").strip()
    campaign.owner = fields.get("owner")
    campaign.segment = segment_clean(segment)
    _check_member(spa, campaign.owner, "owner")
    rows = _clean_steps(spa, steps)
    campaign.full_clean()
    campaign.save()
    if not creating:
        CampaignStep.objects.filter(spa=spa, campaign=campaign).delete()
    for row in rows:
        row.campaign = campaign
    CampaignStep.objects.bulk_create(rows)
    audit_record(
        spa=spa,
        action=f"campaign.{'created' if creating else 'updated'}",
        actor=actor,
        obj=campaign,
        detail={"segment": campaign.segment, "steps": [row.kind for row in rows]},
    )
    if launch:
        campaign_launch(campaign=campaign, actor=actor)
        campaign.refresh_from_db()
    return campaign


@transaction.atomic
def campaign_update(*, campaign, actor, fields):
    """Change a campaign's name, goal or who gets its tasks (new tasks only; existing ones keep theirs)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    changed = []
    for name in ("name", "description", "owner"):
        if name in fields:
            value = fields[name].strip() if isinstance(fields[name], str) else fields[name]
            if getattr(campaign, name) != value:
                setattr(campaign, name, value)
                changed.append(name)
    _check_member(campaign.spa, campaign.owner, "owner")
    campaign.full_clean()
    if changed:
        campaign.save(update_fields=changed)
    audit_record(
        spa=campaign.spa,
        action="campaign.updated",
        actor=actor,
        obj=campaign,
        detail={"fields": changed},
    )
    return campaign


@transaction.atomic
def campaign_delete(*, campaign, actor):
    """Delete a draft (a launched campaign is history: stop it instead)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft can be deleted; stop a running campaign instead."))
    audit_record(spa=campaign.spa, action="campaign.deleted", actor=actor, obj=campaign)
    campaign.delete()


# --- step tasks ------------------------------------------------------------------------------------


def _member_ids(spa):
    return set(Membership.objects.filter(spa=spa).values_list("user_id", flat=True))


def _assignee(campaign, practice, member_ids):
    """Who gets a practice's task: the campaign's assignee, else the practice's owner, else whoever created
    the campaign; someone who has left the team is skipped (the task is then unassigned)."""
    candidates = [
        (campaign.owner_id, lambda: campaign.owner),
        (practice.owner_id, lambda: practice.owner),
        (campaign.created_by_id, lambda: campaign.created_by),
    ]
    for user_id, user in candidates:
        if user_id is not None and user_id in member_ids:
            return user()
    return None


def step_task_title(step, practice):
    label = step.title or step.get_kind_display()
    return f"{label} · {practice.name}"


def _dedupe_key(enrollment, step):
    return f"campaign:{enrollment.pk}:{step.position}"


def _done_on(task):
    """The day a step was done: the touchpoint's date when one closed it, else the spa's date it was marked."""
    if task.touchpoint_id is not None and task.touchpoint is not None:
        return task.touchpoint.occurred_on
    return activity_selectors.spa_today(task.spa, task.done_at)


def _create_step_task(*, enrollment, step, steps, due_on, member_ids, actor=None):
    campaign, practice = enrollment.campaign, enrollment.practice
    assignee = _assignee(campaign, practice, member_ids)
    notes = _("Step %(number)s of %(total)s of the campaign “%(campaign)s”.") % {
        "number": step.position,
        "total": len(steps),
        "campaign": campaign.name,
    }
    if step.kind == TaskKind.LETTER:
        notes += " " + _("The personalized letter is on the campaign's page and in Documents.")
    task, created = activity_services.task_create(
        spa=campaign.spa,
        title=step_task_title(step, practice),
        due_on=due_on,
        kind=step.kind,
        assignee=assignee,
        practice=practice,
        notes=notes,
        source=TaskSource.CAMPAIGN,
        dedupe_key=_dedupe_key(enrollment, step),
        created_by=_actor(actor),
        campaign_enrollment=enrollment,
        campaign_step=step,
    )
    if created and step.kind == TaskKind.LETTER and step.letter_template_id is not None:
        letter_request(
            spa=campaign.spa,
            practice=practice,
            template=step.letter_template,
            requested_by=assignee or campaign.created_by,
        )
    return task, created


def _sync(enrollment, steps, tasks, *, member_ids, actor=None, now=None):
    """Bring an enrollment in line with its tasks: progress, status, and the current step's task.

    Returns the number of tasks created. ``tasks`` are the enrollment's tasks (touchpoint loaded).
    """
    now = now or timezone.now()
    by_step = {task.campaign_step_id: task for task in tasks}
    done = [step for step in steps if step.pk in by_step and by_step[step.pk].done_at is not None]
    current = next((step for step in steps if step not in done), None)
    steps_done = len(done)
    status = CampaignEnrollment.Status.COMPLETED if current is None else CampaignEnrollment.Status.ACTIVE
    if (steps_done, status) != (enrollment.steps_done, enrollment.status):
        was = enrollment.steps_done
        enrollment.steps_done = steps_done
        enrollment.status = status
        enrollment.completed_at = now if status == CampaignEnrollment.Status.COMPLETED else None
        enrollment.save(update_fields=["steps_done", "status", "completed_at"])
        audit_record(
            spa=enrollment.spa,
            action="campaign_enrollment.progressed",
            actor=actor,
            obj=enrollment.campaign,
            actor_label="" if actor else "campaign",
            detail={
                "practice": str(enrollment.practice.public_id),
                "steps_done": steps_done,
                "was": was,
                "status": status,
            },
        )
    if current is None or current.pk in by_step:
        return 0
    index = steps.index(current)
    if index == 0:
        base = activity_selectors.spa_today(enrollment.spa, enrollment.campaign.launched_at or enrollment.enrolled_at)
    else:
        base = _done_on(by_step[steps[index - 1].pk])
    _task, created = _create_step_task(
        enrollment=enrollment,
        step=current,
        steps=steps,
        due_on=base + datetime.timedelta(days=current.days_after_previous),
        member_ids=member_ids,
        actor=actor,
    )
    return int(created)


def _enrollment_tasks(enrollment):
    return list(
        Task.objects.filter(spa=enrollment.spa, campaign_enrollment=enrollment).select_related("touchpoint", "spa")
    )


def _campaign_steps(campaign):
    return list(CampaignStep.objects.filter(spa=campaign.spa, campaign=campaign).select_related("letter_template"))


def _finish_if_done(campaign, *, actor=None):
    """Finish a running campaign once no practice is still in progress."""
    if campaign.status != Campaign.Status.RUNNING:
        return False
    if CampaignEnrollment.objects.filter(
        spa=campaign.spa, campaign=campaign, status=CampaignEnrollment.Status.ACTIVE
    ).exists():
        return False
    campaign.status = Campaign.Status.FINISHED
    campaign.finished_at = timezone.now()
    campaign.save(update_fields=["status", "finished_at"])
    audit_record(
        spa=campaign.spa,
        action="campaign.finished",
        actor=actor,
        obj=campaign,
        actor_label="" if actor else "campaign",
    )
    return True


def _lock_campaign(pk):
    # ``of=("self",)``: PostgreSQL cannot lock the nullable side of the outer joins select_related makes.
    return (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("spa", "owner", "created_by")
        .filter(pk=pk)
        .first()
    )


def _lock(enrollment_id):
    """Lock an enrollment's campaign, then the enrollment: (campaign, enrollment), or (None, None).

    Every write here takes its locks in one order — the step tasks (the caller of a hook already holds
    the task it completed), then the campaign, then enrollments — so two of them never wait on each other.
    """
    campaign_id = CampaignEnrollment.objects.filter(pk=enrollment_id).values_list("campaign_id", flat=True).first()
    campaign = _lock_campaign(campaign_id) if campaign_id is not None else None
    if campaign is None:
        return None, None
    enrollment = (
        CampaignEnrollment.objects.select_for_update(of=("self",))
        .select_related("practice__owner", "spa")
        .get(pk=enrollment_id)
    )
    enrollment.campaign = campaign
    return campaign, enrollment


def _lock_open_tasks(enrollments_filter):
    """Lock the open step tasks first (see ``_lock``), so a concurrent "done" either finishes before or waits."""
    return list(Task.objects.select_for_update(of=("self",)).filter(done_at=None, **enrollments_filter).order_by("pk"))


@transaction.atomic
def campaign_launch(*, campaign, actor):
    """Enroll every practice matching the segment now and create each one's first-step task (due today)."""
    campaign = _lock_campaign(campaign.pk)
    spa = campaign.spa
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(_("This campaign has already been launched."))
    steps = _campaign_steps(campaign)
    _clean_steps(
        spa,
        [
            {
                "kind": step.kind,
                "title": step.title,
                "days_after_previous": step.days_after_previous,
                "letter_template": step.letter_template,
            }
            for step in steps
        ],
    )
    practices = list(segment_practices(spa=spa, segment=campaign.segment).select_related("owner")[: MAX_PRACTICES + 1])
    if not practices:
        raise ValidationError({"segment": _("No practice matches this segment yet: widen it before launching.")})
    if len(practices) > MAX_PRACTICES:
        raise ValidationError(
            {
                "segment": _(
                    "More than %(count)s practices match: narrow the segment (a campaign holds at most %(count)s)."
                )
                % {"count": MAX_PRACTICES}
            }
        )
    now = timezone.now()
    campaign.status = Campaign.Status.RUNNING
    campaign.launched_at = now
    campaign.save(update_fields=["status", "launched_at"])
    CampaignEnrollment.objects.bulk_create(
        [CampaignEnrollment(spa=spa, campaign=campaign, practice=practice, enrolled_at=now) for practice in practices],
        ignore_conflicts=True,
    )
    practices_by_pk = {practice.pk: practice for practice in practices}
    enrollments = list(CampaignEnrollment.objects.filter(spa=spa, campaign=campaign).order_by("pk"))
    member_ids = _member_ids(spa)
    today = activity_selectors.spa_today(spa, now)
    for enrollment in enrollments:
        enrollment.campaign = campaign
        enrollment.practice = practices_by_pk.get(enrollment.practice_id) or enrollment.practice
        _create_step_task(
            enrollment=enrollment,
            step=steps[0],
            steps=steps,
            due_on=today,
            member_ids=member_ids,
            actor=actor,
        )
    audit_record(
        spa=spa,
        action="campaign.launched",
        actor=actor,
        obj=campaign,
        detail={"practices": len(enrollments), "segment": campaign.segment},
    )
    return campaign


def _remove_open_tasks(spa, enrollments, *, actor, reason):
    """Delete the open (not done) campaign tasks of these enrollments; done work stays."""
    open_tasks = list(
        Task.objects.filter(campaign_enrollment__in=[enrollment.pk for enrollment in enrollments], done_at=None)
    )
    for task in open_tasks:
        audit_record(spa=spa, action="task.deleted", actor=actor, obj=task, detail={"reason": reason})
    Task.objects.filter(pk__in=[task.pk for task in open_tasks]).delete()
    return len(open_tasks)


@transaction.atomic
def campaign_stop(*, campaign, actor):
    """Stop a running campaign: done work stays, open campaign tasks are deleted, practices in progress stop."""
    _lock_open_tasks({"campaign_enrollment__campaign": campaign})
    campaign = _lock_campaign(campaign.pk)
    if campaign.status != Campaign.Status.RUNNING:
        raise ValidationError(_("Only a running campaign can be stopped."))
    now = timezone.now()
    active = list(
        CampaignEnrollment.objects.select_for_update().filter(
            spa=campaign.spa, campaign=campaign, status=CampaignEnrollment.Status.ACTIVE
        )
    )
    removed = _remove_open_tasks(campaign.spa, active, actor=actor, reason="campaign stopped") if active else 0
    CampaignEnrollment.objects.filter(pk__in=[enrollment.pk for enrollment in active]).update(
        status=CampaignEnrollment.Status.STOPPED, completed_at=now
    )
    campaign.status = Campaign.Status.FINISHED
    campaign.finished_at = now
    campaign.save(update_fields=["status", "finished_at"])
    audit_record(
        spa=campaign.spa,
        action="campaign.stopped",
        actor=actor,
        obj=campaign,
        detail={"practices_stopped": len(active), "tasks_removed": removed},
    )
    return campaign


@transaction.atomic
def campaign_enrollment_remove(*, enrollment, actor):
    """Take one practice out of a running campaign: its open campaign tasks go, its done work stays."""
    _lock_open_tasks({"campaign_enrollment": enrollment})
    campaign, enrollment = _lock(enrollment.pk)
    if campaign.status != Campaign.Status.RUNNING:
        raise ValidationError(_("Practices can only be removed from a running campaign."))
    if enrollment.status != CampaignEnrollment.Status.ACTIVE:
        raise ValidationError(_("This practice is no longer in progress in the campaign."))
    removed = _remove_open_tasks(enrollment.spa, [enrollment], actor=actor, reason="practice removed from the campaign")
    enrollment.status = CampaignEnrollment.Status.STOPPED
    enrollment.completed_at = timezone.now()
    enrollment.save(update_fields=["status", "completed_at"])
    audit_record(
        spa=enrollment.spa,
        action="campaign.practice_removed",
        actor=actor,
        obj=campaign,
        detail={"practice": str(enrollment.practice.public_id), "tasks_removed": removed},
    )
    _finish_if_done(campaign, actor=actor)
    return enrollment


# --- hooks from outreach.activity -------------------------------------------------------------------


@activity_services.on_task_done
def _step_done(task):
    if task.campaign_enrollment_id is None:
        return
    campaign, enrollment = _lock(task.campaign_enrollment_id)
    if enrollment is None or enrollment.status != CampaignEnrollment.Status.ACTIVE:
        return
    if campaign.status != Campaign.Status.RUNNING:
        return
    actor = task.done_by
    _sync(
        enrollment,
        _campaign_steps(campaign),
        _enrollment_tasks(enrollment),
        member_ids=_member_ids(task.spa),
        actor=actor,
    )
    if enrollment.status == CampaignEnrollment.Status.COMPLETED:
        _finish_if_done(campaign, actor=actor)


@activity_services.on_task_reopened
def _step_undone(task):
    if task.campaign_enrollment_id is None or task.campaign_step_id is None:
        return
    campaign, enrollment = _lock(task.campaign_enrollment_id)
    if enrollment is None or enrollment.status == CampaignEnrollment.Status.STOPPED:
        return
    if campaign.status == Campaign.Status.FINISHED:
        # Undoing the step that finished the campaign opens it again; a stopped campaign stays stopped.
        if enrollment.status != CampaignEnrollment.Status.COMPLETED or campaign_was_stopped(campaign):
            return
        campaign.status = Campaign.Status.RUNNING
        campaign.finished_at = None
        campaign.save(update_fields=["status", "finished_at"])
        audit_record(spa=campaign.spa, action="campaign.reopened", obj=campaign, actor_label="campaign")
    elif campaign.status != Campaign.Status.RUNNING:
        return
    steps = _campaign_steps(campaign)
    position = next((step.position for step in steps if step.pk == task.campaign_step_id), None)
    later_open = list(
        Task.objects.filter(
            spa=task.spa,
            campaign_enrollment=enrollment,
            campaign_step__position__gt=position or 0,
            done_at=None,
        )
    )
    for later in later_open:
        audit_record(
            spa=task.spa,
            action="task.deleted",
            obj=later,
            actor_label="campaign",
            detail={"reason": "previous campaign step undone"},
        )
    Task.objects.filter(pk__in=[later.pk for later in later_open]).delete()
    _sync(enrollment, steps, _enrollment_tasks(enrollment), member_ids=_member_ids(task.spa))


# --- the hourly job --------------------------------------------------------------------------------


def campaigns_advance(*, spa):
    """Create every missing step task of running campaigns, fix progress, finish campaigns that are done.

    Idempotent: a step's task carries the dedupe key ``campaign:<enrollment>:<position>``. Returns the
    number of tasks created.
    """
    created = 0
    campaign_ids = list(Campaign.objects.filter(spa=spa, status=Campaign.Status.RUNNING).values_list("pk", flat=True))
    for campaign_id in campaign_ids:
        with transaction.atomic():
            campaign = _lock_campaign(campaign_id)
            if campaign is None or campaign.status != Campaign.Status.RUNNING:
                continue
            steps = _campaign_steps(campaign)
            member_ids = _member_ids(spa)
            enrollments = list(
                CampaignEnrollment.objects.select_for_update(of=("self",))
                .filter(spa=spa, campaign=campaign, status=CampaignEnrollment.Status.ACTIVE)
                .select_related("practice__owner")
                .prefetch_related(
                    Prefetch("tasks", queryset=Task.objects.select_related("touchpoint", "spa"), to_attr="step_tasks")
                )
            )
            for enrollment in enrollments:
                enrollment.campaign = campaign
                created += _sync(enrollment, steps, enrollment.step_tasks, member_ids=member_ids)
            _finish_if_done(campaign)
    return created


# --- reads -----------------------------------------------------------------------------------------
