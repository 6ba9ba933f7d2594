"""The playbook: for each pipeline stage, the next steps that win and keep a medical partner, each one click
away from being a task. The specialty's talking points (spas.SpecialtyTalkingPoints) are shown beside it on
the practice page.

A step added from the playbook carries the dedupe key "playbook:<practice>:<step>:<date the practice
entered its stage>", so a double click, or the same suggestion seen twice in one stage, adds it once.
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import Stage

from ..models import Task, TaskKind, TaskSource
from .selectors import spa_today
from .services import task_create


@dataclass(frozen=True)
class PlaybookStep:
    key: str
    kind: str
    title: str
    why: str
    due_in_days: int


PLAYBOOK = {
    Stage.PROSPECT: [
        PlaybookStep(
            "research",
            TaskKind.FOLLOW_UP,
            gettext_lazy("Research the practice"),
            gettext_lazy("Its philosophy, published articles, community work — and which clients know its doctors."),
            3,
        ),
    ],
    Stage.RESEARCHED: [
        PlaybookStep(
            "letter",
            TaskKind.LETTER,
            gettext_lazy("Send a personalized introduction letter"),
            gettext_lazy("Name what you learned about them and the services that fit their patients."),
            0,
        ),
        PlaybookStep(
            "introduction",
            TaskKind.FOLLOW_UP,
            gettext_lazy("Ask a mutual client for an introduction"),
            gettext_lazy("A warm introduction opens more doors than any letter."),
            7,
        ),
    ],
    Stage.CONTACTED: [
        PlaybookStep(
            "follow_up_call",
            TaskKind.PHONE_CALL,
            gettext_lazy("Follow-up call within 5 days"),
            gettext_lazy("Ask for ten minutes with the office manager or a clinician."),
            5,
        ),
    ],
    Stage.MEETING: [
        PlaybookStep(
            "staff_service",
            TaskKind.STAFF_SERVICE,
            gettext_lazy("Offer a complimentary service to the office staff"),
            gettext_lazy("Staff who have felt your work recommend it. Log its value in the gift ledger."),
            7,
        ),
        PlaybookStep(
            "lunch_presentation",
            TaskKind.LUNCH_PRESENTATION,
            gettext_lazy("Offer a 15-minute lunch presentation"),
            gettext_lazy("Bring the leave-behind and referral pads; keep it to fifteen minutes."),
            14,
        ),
    ],
    Stage.TRIAL: [
        PlaybookStep(
            "pads",
            TaskKind.FOLLOW_UP,
            gettext_lazy("Drop off referral pads and the leave-behind"),
            gettext_lazy("Make referring take less than a minute: pads at the front desk, a portal login."),
            3,
        ),
        PlaybookStep(
            "first_review",
            TaskKind.MEETING,
            gettext_lazy("Review the first referrals together"),
            gettext_lazy("Share outcomes (with patients' permission) and ask what would make referring easier."),
            30,
        ),
    ],
    Stage.ACTIVE: [
        PlaybookStep(
            "check_in",
            TaskKind.CHECK_IN,
            gettext_lazy("Schedule the quarterly check-in"),
            gettext_lazy("Bring what is new at the spa and their referral figures; the cadence is on this page."),
            14,
        ),
        PlaybookStep(
            "thank_you",
            TaskKind.THANK_YOU_NOTE,
            gettext_lazy("Send a thank-you note"),
            gettext_lazy("A handwritten note, never a gift tied to referrals."),
            2,
        ),
    ],
    Stage.DORMANT: [
        PlaybookStep(
            "reconnect",
            TaskKind.PHONE_CALL,
            gettext_lazy("Reconnect with what is new"),
            gettext_lazy("New services, equipment or credentials are a reason to call without pressure."),
            7,
        ),
    ],
    Stage.DECLINED: [],
}


def playbook_for(practice):
    """The steps for the practice's current stage."""
    return PLAYBOOK.get(practice.stage, [])


def _dedupe_key(spa, practice, step):
    stage_day = timezone.localtime(practice.stage_changed_at, zoneinfo.ZoneInfo(spa.timezone)).date().isoformat()
    return f"playbook:{practice.pk}:{step.key}:{stage_day}"


def playbook_progress(*, spa, practice):
    """[(step, task or None)] for the current stage: which suggestions are already on the task list."""
    steps = playbook_for(practice)
    keys = {_dedupe_key(spa, practice, step): step for step in steps}
    added = {task.dedupe_key: task for task in Task.objects.filter(spa=spa, dedupe_key__in=list(keys))}
    return [(step, added.get(key)) for key, step in keys.items()]


def playbook_task_add(*, spa, practice, step_key, actor):
    """Add one playbook step as a task for the practice's owner (or the person who clicked). Returns (task, created)."""
    step = next((step for step in playbook_for(practice) if step.key == step_key), None)
    if step is None:
        raise ValidationError(_("That step is not in the playbook for this stage."))
    assignee = practice.owner if practice.owner_id else actor
    return task_create(
        spa=spa,
        title=f"{step.title} — {practice.name}",
        kind=step.kind,
        due_on=spa_today(spa) + datetime.timedelta(days=step.due_in_days),
        assignee=assignee,
        practice=practice,
        notes=str(step.why),
        source=TaskSource.PLAYBOOK,
        dedupe_key=_dedupe_key(spa, practice, step),
        created_by=actor,
    )
