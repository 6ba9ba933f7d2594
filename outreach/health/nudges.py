"""Gentle nudges: a thank-you note when a practice's referral arrives, and a fresh approach to practices that
declined or went quiet, once enough time has passed.

Thank-you notes. Referrals are a lower app's event and outreach uses no signals, so the job reads new
referrals itself. A practice is due a thank-you NOTE (never anything else: gifts are never suggested because
a referral arrived) when

- a referral from it was received after its last thank-you (the latest thank-you-note task at the
  practice, suggested or added by hand, its line on a rolled-up thank-you task, or a logged thank-you-note
  touchpoint), and within the last ``THANK_YOU_LOOKBACK_DAYS`` (so switching the feature on does not thank
  for last year's referrals); and
- it had no thank-you in the last ``THANK_YOU_EVERY_DAYS`` days (at most one a week). A referral that
  arrives inside the week is acknowledged by the next suggestion once the week is over.

Practices due a note roll up into one task per person ("Send thank-you notes: Glow Dermatology, Back Bay PT,
…"), not one task each. The task has no ``practice``; its ``TaskPractice`` rows name the practices. A
practice due a note goes on its assignee's open thank-you task if there is one (the title and notes are
written again to include it); otherwise on a new task for the week, at most one new task per person per
spa-calendar week (Monday to Sunday; dedupe key ``thanks:<assignee pk>:<Monday>``). When that week's task
is already done, the practices wait for next week's. Marking the task done logs a thank-you-note touchpoint
at each practice (activity.task_complete).

Each run for a spa holds the spa's OutreachSettings row (``select_for_update``, as the check-in job does)
while it re-reads what is due and writes, so two runs at once take turns and the second adds nothing; the
dedupe key and the (task, practice) unique constraint back that up.

Fresh approaches. Declined and dormant practices resurface ``resurface_after_months`` (the spa's setting,
6 by default) after the day they moved to that stage (``stage_changed_at``, on the spa's calendar): one
FRESH_APPROACH task per decline/dormancy period (dedupe ``resurface:<practice pk>:<date of the change>``), with
a briefing (see checkins.py) of what is new at the spa since they said no and why they did.
"""

import datetime
from collections import defaultdict

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from infra.audit import audit_record
from partners.models import Practice, Stage, StageChange
from referrals.models import Referral

from ..activity.selectors import spa_today
from ..activity.services import task_create
from ..models import (
    OutreachSettings,
    Task,
    TaskKind,
    TaskPractice,
    TaskSource,
    Touchpoint,
    TouchpointKind,
    outreach_settings_for,
)
from .checkins import BRIEFING_VERSION, assignee_for, spa_news_since, team_of
from .selectors import local_date

THANK_YOU_EVERY_DAYS = 7
THANK_YOU_LOOKBACK_DAYS = 30
# Practices named in a rolled-up task's notes; the task's page lists them all.
THANK_YOU_NOTES_LISTED = 20


# --- thank-you notes -------------------------------------------------------------------------------


def _last_thanks(spa, practice_ids):
    """practice id → the latest moment it was thanked or a thank-you was suggested."""
    latest = {}
    rows = [
        *Task.objects.filter(spa=spa, practice_id__in=practice_ids, kind=TaskKind.THANK_YOU_NOTE)
        .values("practice_id")
        .annotate(at=Max("created_at"))
        .values_list("practice_id", "at"),
        *TaskPractice.objects.filter(spa=spa, practice_id__in=practice_ids, task__kind=TaskKind.THANK_YOU_NOTE)
        .values("practice_id")
        .annotate(at=Max("added_at"))
        .values_list("practice_id", "at"),
        *Touchpoint.objects.filter(spa=spa, practice_id__in=practice_ids, kind=TouchpointKind.THANK_YOU_NOTE)
        .values("practice_id")
        .annotate(at=Max("created_at"))
        .values_list("practice_id", "at"),
    ]
    for practice_id, at in rows:
        if practice_id not in latest or at > latest[practice_id]:
            latest[practice_id] = at
    return latest


def _wants_thanks(latest_referral_at, last_thanks_at, now):
    if last_thanks_at is None:
        return True
    return latest_referral_at > last_thanks_at and last_thanks_at <= now - datetime.timedelta(days=THANK_YOU_EVERY_DAYS)


def _practices_due_thanks(spa, now):
    """practice id → its last thank-you (or None), for each practice of ``spa`` due a thank-you note now."""
    window_start = now - datetime.timedelta(days=THANK_YOU_LOOKBACK_DAYS)
    latest_referrals = dict(
        Referral.objects.filter(spa=spa, received_at__gte=window_start, received_at__lte=now)
        .values("practice_id")
        .annotate(latest=Max("received_at"))
        .values_list("practice_id", "latest")
    )
    if not latest_referrals:
        return {}
    last_thanks = _last_thanks(spa, list(latest_referrals))
    return {
        practice_id: last_thanks.get(practice_id)
        for practice_id, latest in latest_referrals.items()
        if _wants_thanks(latest, last_thanks.get(practice_id), now)
    }


def thank_you_suggestions_create(*, spa, now=None):
    """Put each practice of ``spa`` whose referral arrived since its last thank-you (at most once per practice
    per week) on its assignee's rolled-up thank-you task. Returns how many practices this run put on one."""
    now = now or timezone.now()
    if not _practices_due_thanks(spa, now):  # the usual answer, found without taking the lock
        return 0
    return _roll_up_thanks(spa, now)


@transaction.atomic
def _roll_up_thanks(spa, now):
    # The lock makes the check and the writes one step: a concurrent run waits here, then finds nothing due.
    settings_pk = outreach_settings_for(spa).pk
    list(OutreachSettings.objects.select_for_update().filter(pk=settings_pk).values_list("pk", flat=True))
    due = _practices_due_thanks(spa, now)
    if not due:
        return 0
    window_start = now - datetime.timedelta(days=THANK_YOU_LOOKBACK_DAYS)
    new_referrals = defaultdict(list)
    for referral in (
        Referral.objects.filter(spa=spa, practice_id__in=list(due), received_at__gt=window_start, received_at__lte=now)
        .select_related("assignee")
        .order_by("-received_at", "-id")
    ):
        last_thanks_at = due[referral.practice_id]
        if last_thanks_at is None or referral.received_at > last_thanks_at:
            new_referrals[referral.practice_id].append(referral)
    team = team_of(spa)
    by_assignee = defaultdict(list)
    for practice in (
        Practice.objects.filter(spa=spa, pk__in=list(new_referrals)).select_related("owner").order_by("name", "pk")
    ):
        referrals = new_referrals[practice.pk]
        assignee = assignee_for(practice, team, *(referral.assignee for referral in referrals))
        by_assignee[assignee].append((practice, len(referrals), due[practice.pk] is not None))
    added = 0
    for assignee, practices in by_assignee.items():
        task = _thanks_task_for(spa, assignee, now=now)
        if task is None:
            continue  # this week's thank-you task is done already: these wait for next week's
        for practice, count, thanked_before in practices:
            line, created = TaskPractice.objects.get_or_create(
                spa=spa,
                task=task,
                practice=practice,
                defaults={"referral_count": count, "thanked_before": thanked_before, "added_at": now},
            )
            if not created:  # still on the open task from more than a week ago: it now covers these too
                line.referral_count += count
                line.thanked_before = line.thanked_before or thanked_before
                line.added_at = now
                line.save(update_fields=["referral_count", "thanked_before", "added_at"])
        added += len(practices)
        _thanks_task_rewrite(task, added=[practice for practice, _count, _before in practices])
    return added


def _thanks_task_for(spa, assignee, *, now):
    """The assignee's open rolled-up thank-you task, else this week's new one; None when this week's is done."""
    task = (
        Task.objects.select_for_update()
        .filter(
            spa=spa,
            kind=TaskKind.THANK_YOU_NOTE,
            source=TaskSource.THANK_YOU,
            practice=None,
            assignee=assignee,
            done_at=None,
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if task is not None:
        return task
    today = spa_today(spa, now)
    monday = today - datetime.timedelta(days=today.weekday())
    task, _created = task_create(
        spa=spa,
        # Written again below, once the task knows its practices.
        title=_("Send thank-you notes"),
        kind=TaskKind.THANK_YOU_NOTE,
        source=TaskSource.THANK_YOU,
        due_on=today,
        assignee=assignee,
        dedupe_key=f"thanks:{assignee.pk if assignee else 'nobody'}:{monday.isoformat()}",
    )
    return None if task.done_at else task


def _thanks_title(names):
    if len(names) == 1:
        return _("Send a thank-you note to %(practice)s") % {"practice": names[0]}
    prefix = _("Send thank-you notes: ")
    for shown in range(len(names), 0, -1):
        listed = ", ".join(names[:shown])
        if shown < len(names):
            more = len(names) - shown
            listed += " " + ngettext("and %(count)d more", "and %(count)d more", more) % {"count": more}
        if len(prefix) + len(listed) <= Task._meta.get_field("title").max_length:
            return prefix + listed
    return prefix.rstrip(": ")


def _thanks_sentence(line):
    if line.thanked_before:
        sentence = ngettext(
            "%(count)d referral from %(practice)s arrived since the last thank-you note.",
            "%(count)d referrals from %(practice)s arrived since the last thank-you note.",
            line.referral_count,
        )
    else:
        sentence = ngettext(
            "%(count)d referral from %(practice)s arrived in the last %(days)d days.",
            "%(count)d referrals from %(practice)s arrived in the last %(days)d days.",
            line.referral_count,
        )
    return sentence % {"count": line.referral_count, "practice": line.practice.name, "days": THANK_YOU_LOOKBACK_DAYS}


def _thanks_task_rewrite(task, *, added):
    """Write the rolled-up task's title and notes from the practices it covers; audit who was added."""
    lines = list(
        TaskPractice.objects.filter(spa=task.spa, task=task).select_related("practice").order_by("added_at", "id")
    )
    sentences = [_thanks_sentence(line) for line in lines[:THANK_YOU_NOTES_LISTED]]
    if len(lines) > THANK_YOU_NOTES_LISTED:
        more = len(lines) - THANK_YOU_NOTES_LISTED
        sentences.append(
            ngettext(
                "And %(count)d more practice, listed on the task.",
                "And %(count)d more practices, listed on the task.",
                more,
            )
            % {"count": more}
        )
    advice = ngettext(
        "A short handwritten note to the office says you noticed and that their patients are in good hands.",
        "A short handwritten note to each office says you noticed and that their patients are in good hands.",
        len(lines),
    )
    sentences.append(advice + " " + _("Keep patient names and details out of it."))
    task.title = _thanks_title([line.practice.name for line in lines])
    task.notes = "\n".join(sentences)
    task.full_clean(validate_constraints=False)
    task.save(update_fields=["title", "notes"])
    audit_record(
        spa=task.spa,
        action="task.practices_added",
        actor_label=TaskSource.THANK_YOU,
        obj=task,
        detail={"practices": [str(practice.public_id) for practice in added]},
    )


# --- fresh approaches ------------------------------------------------------------------------------


def resurfaces_on(spa, practice, months):
    """The spa-local date a declined or dormant practice comes back for a fresh approach."""
    return local_date(spa, practice.stage_changed_at) + relativedelta(months=months)


def _reason_for(spa, practice):
    if practice.stage == Stage.DECLINED and practice.declined_reason:
        return practice.declined_reason
    change = (
        StageChange.objects.filter(spa=spa, practice=practice, to_stage=practice.stage).order_by("-changed_at").first()
    )
    return change.reason if change else ""


def fresh_approach_briefing(*, spa, practice, reason, today):
    """What has changed at the spa since the practice said no (shape documented in checkins.py)."""
    return {
        "version": BRIEFING_VERSION,
        "kind": "fresh_approach",
        "written_on": today.isoformat(),
        "since": local_date(spa, practice.stage_changed_at).isoformat(),
        "since_reason": practice.stage,
        "new_at_spa": spa_news_since(spa=spa, since=practice.stage_changed_at),
        "reason": reason,
    }


def fresh_approaches_create(*, spa, now=None):
    """Create a fresh-approach task for each declined or dormant practice of ``spa`` whose quiet period is over,
    once per period. Returns how many tasks this run created."""
    now = now or timezone.now()
    today = spa_today(spa, now)
    months = outreach_settings_for(spa).resurface_after_months
    # A coarse cut in SQL (a day of slack for time zones), the exact spa-local date in Python.
    latest_change = now - relativedelta(months=months) + datetime.timedelta(days=1)
    practices = [
        practice
        for practice in Practice.objects.filter(
            spa=spa, stage__in=[Stage.DECLINED, Stage.DORMANT], stage_changed_at__lte=latest_change
        )
        .select_related("owner")
        .order_by("pk")
        if resurfaces_on(spa, practice, months) <= today
    ]
    if not practices:
        return 0
    with_open = set(
        Task.objects.filter(spa=spa, kind=TaskKind.FRESH_APPROACH, done_at=None, practice__in=practices).values_list(
            "practice_id", flat=True
        )
    )
    team = team_of(spa)
    created = 0
    for practice in practices:
        if practice.pk in with_open:
            continue
        created += _create_fresh_approach(spa, practice, months=months, today=today, team=team)
    return created


@transaction.atomic
def _create_fresh_approach(spa, practice, *, months, today, team):
    changed_on = local_date(spa, practice.stage_changed_at)
    reason = _reason_for(spa, practice)
    if practice.stage == Stage.DECLINED:
        headline = _("%(practice)s declined on %(date)s.")
    else:
        headline = _("%(practice)s went quiet on %(date)s.")
    parts = [headline % {"practice": practice.name, "date": date_format(changed_on, "M j, Y")}]
    if reason:
        parts.append(_("Reason given: “%(reason)s”.") % {"reason": reason})
    parts.append(
        ngettext(
            "It has been %(months)d month: time for a fresh, low-pressure approach with what is new at the spa.",
            "It has been %(months)d months: time for a fresh, low-pressure approach with what is new at the spa.",
            months,
        )
        % {"months": months}
    )
    _task, was_created = task_create(
        spa=spa,
        title=_("Fresh approach: %(practice)s") % {"practice": practice.name},
        kind=TaskKind.FRESH_APPROACH,
        source=TaskSource.RESURFACE,
        due_on=today,
        assignee=assignee_for(practice, team),
        practice=practice,
        notes=" ".join(parts),
        briefing=fresh_approach_briefing(spa=spa, practice=practice, reason=reason, today=today),
        dedupe_key=f"resurface:{practice.pk}:{changed_on.isoformat()}",
    )
    return int(was_created)
