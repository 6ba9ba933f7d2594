"""Gentle nudges: a thank-you note when a practice's referral arrives, and a fresh approach to practices that
declined or went quiet, once enough time has passed.

Thank-you notes. Referrals are a lower app's event and outreach uses no signals, so the job reads new
referrals itself. A practice gets a suggested thank-you NOTE task (never anything else: gifts are never
suggested because a referral arrived) when

- a referral from it was received after its last thank-you (the latest thank-you-note task at the
  practice, suggested or added by hand, or a logged thank-you-note touchpoint), and within the last
  ``THANK_YOU_LOOKBACK_DAYS`` (so switching the feature on does not thank for last year's referrals); and
- it had no thank-you in the last ``THANK_YOU_EVERY_DAYS`` days (at most one a week). A referral that
  arrives inside the week is acknowledged by the next suggestion once the week is over.

The practice row is locked (``select_for_update``) while the decision is re-checked and the task written, so
two runs at once cannot both create one; the dedupe key ``thanks:<practice pk>:<spa-local date>`` backs that up.

Fresh approaches. Declined and dormant practices resurface ``resurface_after_months`` (the spa's setting,
6 by default) after the day they moved to that stage (``stage_changed_at``, on the spa's calendar): one
FRESH_APPROACH task per decline/dormancy period (dedupe ``resurface:<practice pk>:<date of the change>``), with
a briefing (see checkins.py) of what is new at the spa since they said no and why they did.
"""

import datetime

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partners.models import Practice, Stage, StageChange
from referrals.models import Referral

from .activity import spa_today, task_create
from .checkins import BRIEFING_VERSION, assignee_for, local_date, spa_news_since, team_of
from .models import Task, TaskKind, TaskSource, Touchpoint, TouchpointKind, outreach_settings_for

THANK_YOU_EVERY_DAYS = 7
THANK_YOU_LOOKBACK_DAYS = 30


# --- thank-you notes -------------------------------------------------------------------------------


def _last_thanks(spa, practice_ids):
    """practice id → the latest moment it was thanked or a thank-you was suggested."""
    latest = {}
    rows = [
        *Task.objects.filter(spa=spa, practice_id__in=practice_ids, kind=TaskKind.THANK_YOU_NOTE)
        .values("practice_id")
        .annotate(at=Max("created_at"))
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


def thank_you_suggestions_create(*, spa, now=None):
    """Suggest a thank-you note task for each practice of ``spa`` whose referral arrived since its last
    thank-you, at most one per practice per week. Returns how many tasks this run created."""
    now = now or timezone.now()
    window_start = now - datetime.timedelta(days=THANK_YOU_LOOKBACK_DAYS)
    latest_referrals = dict(
        Referral.objects.filter(spa=spa, received_at__gte=window_start, received_at__lte=now)
        .values("practice_id")
        .annotate(latest=Max("received_at"))
        .values_list("practice_id", "latest")
    )
    if not latest_referrals:
        return 0
    last_thanks = _last_thanks(spa, list(latest_referrals))
    candidates = [
        practice_id
        for practice_id, latest in latest_referrals.items()
        if _wants_thanks(latest, last_thanks.get(practice_id), now)
    ]
    team = team_of(spa) if candidates else None
    created = 0
    for practice_id in sorted(candidates):
        created += _suggest_thanks(spa, practice_id, now=now, team=team)
    return created


@transaction.atomic
def _suggest_thanks(spa, practice_id, *, now, team):
    # The lock makes the check and the insert one step: a concurrent run waits here, then sees our task.
    practice = (
        Practice.objects.select_for_update(of=("self",)).select_related("owner").filter(spa=spa, pk=practice_id).first()
    )
    if practice is None:
        return 0
    window_start = now - datetime.timedelta(days=THANK_YOU_LOOKBACK_DAYS)
    last_thanks_at = _last_thanks(spa, [practice.pk]).get(practice.pk)
    since = max(last_thanks_at, window_start) if last_thanks_at else window_start
    new_referrals = list(
        Referral.objects.filter(spa=spa, practice=practice, received_at__gt=since, received_at__lte=now)
        .select_related("assignee")
        .order_by("-received_at", "-id")
    )
    if not new_referrals or not _wants_thanks(new_referrals[0].received_at, last_thanks_at, now):
        return 0
    count = len(new_referrals)
    if last_thanks_at:
        summary = ngettext(
            "%(count)d referral from %(practice)s arrived since the last thank-you note.",
            "%(count)d referrals from %(practice)s arrived since the last thank-you note.",
            count,
        )
    else:
        summary = ngettext(
            "%(count)d referral from %(practice)s arrived in the last %(days)d days.",
            "%(count)d referrals from %(practice)s arrived in the last %(days)d days.",
            count,
        )
    notes = " ".join(
        [
            summary % {"count": count, "practice": practice.name, "days": THANK_YOU_LOOKBACK_DAYS},
            _(
                "A short handwritten note to the office says you noticed and that their patients are in good "
                "hands. Keep patient names and details out of it."
            ),
        ]
    )
    today = spa_today(spa, now)
    _task, was_created = task_create(
        spa=spa,
        title=_("Send a thank-you note to %(practice)s") % {"practice": practice.name},
        kind=TaskKind.THANK_YOU_NOTE,
        source=TaskSource.THANK_YOU,
        due_on=today,
        assignee=assignee_for(practice, team, *(referral.assignee for referral in new_referrals)),
        practice=practice,
        notes=notes,
        dedupe_key=f"thanks:{practice.pk}:{today.isoformat()}",
    )
    return int(was_created)


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
