"""Partner health: is each trial or active partner healthy, cooling or at risk, and why.

Signals, for every practice in stage TRIAL or ACTIVE (dates on the spa's calendar):

- referrals received in the last 3 months and in the 3 months before (the trend). Months are calendar
  months, the practice figures being kept per month (referrals/figures.py): "the last 3 months" is this month
  so far and the two before it (on June 30: April 1 – June 30; on July 2: May 1 – July 2), "the 3 months
  before" the three whole months before those (until issue 15: the last 90 days and the 90 before);
- conversion: completed / referrals received in the last 6 months, the same six (shown when there are any);
- days since the last touchpoint of any kind (none logged: counted from the day it entered its stage);
- an overdue check-in (active partners only): the next check-in date (``check_in_due_on`` below) is before today.

Thresholds. A practice is AT RISK when any of these holds:

- no referrals in the last 3 months while the 3 months before had some ("No referrals in 3 months (4 the
  3 months before)");
- its check-in is overdue by more than ``CHECK_IN_AT_RISK_DAYS`` (30) days;
- no contact for more than ``CONTACT_AT_RISK_DAYS`` (120) days.

It is COOLING (when not at risk) when any of these holds:

- no referrals in 6 months, once it has been in its stage for ``NEW_PARTNER_GRACE_DAYS`` (90) days — a new
  partner is not cooling for not having referred yet;
- referrals halved: at least 2 the 3 months before and at most half as many in the last 3 months;
- conversion under ``LOW_CONVERSION_SHARE`` (25 %) with at least ``LOW_CONVERSION_MIN_REFERRALS`` (4) referrals
  in 6 months — their patients are not reaching the spa, which the practice will notice;
- its check-in is overdue (by 1 to 30 days);
- no contact for more than ``CONTACT_COOLING_DAYS`` (60) days.

Otherwise it is HEALTHY. Every reason is a sentence the page shows.

Order ("sorted by risk"): at risk, then cooling, then healthy; within a status the practice with more
at-risk reasons comes first, then more cooling reasons, then the longer silence (days since the last contact
plus days the check-in is overdue), then the larger drop in referrals, then the name.

Queries: two whatever their number — the practices (with Subqueries for the touchpoints and check-ins), and
their referral figures: the practice-month rows of the last 6 months, summed per practice. The status,
reasons and order are worked out in Python.

Maintained (issue 15). The partner health page and the partners list assess live, here. The dashboard reads
instead a row per trial and active partner (``PartnerHealthSnapshot``, written by ``health_snapshots.py``):
the status ``assess`` gave it and the rest of its ``sort_key``, for the spa's date it was assessed for. Every
write that changes an input above — a touchpoint, a check-in cadence, referrals received or completed, a stage
move, a rename, a merge, an import, the spa's default cadence or time zone — assesses the practices it changed
again in its own transaction; since "today" moves without writes, ``partner_health_refresh_task`` assesses a
spa's partners again shortly after its midnight (and the dashboard refreshes a spa whose rows are not today's).
The rules live here only: change them, and the rows follow at the next refresh (``manage.py
rebuild_partner_health`` to apply them at once).
"""

import datetime
from dataclasses import dataclass, field

from django.db import models
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from partners.models import Practice, Stage
from referrals.figures import month_start
from referrals.models import PracticeMonthFigures

from ..activity.selectors import spa_today
from ..models import CheckInCadence, Touchpoint, TouchpointKind, outreach_settings_for

# Calendar months, this one included (see the docstring).
WINDOW_MONTHS = 3
CONVERSION_MONTHS = 2 * WINDOW_MONTHS
NEW_PARTNER_GRACE_DAYS = 90
CONTACT_COOLING_DAYS = 60
CONTACT_AT_RISK_DAYS = 120
CHECK_IN_AT_RISK_DAYS = 30
REFERRAL_DROP_MIN_BEFORE = 2
LOW_CONVERSION_SHARE = 0.25
LOW_CONVERSION_MIN_REFERRALS = 4

HEALTH_STAGES = [Stage.ACTIVE, Stage.TRIAL]


class HealthStatus(models.TextChoices):
    AT_RISK = "at_risk", gettext_lazy("At risk")
    COOLING = "cooling", gettext_lazy("Cooling")
    HEALTHY = "healthy", gettext_lazy("Healthy")


STATUS_RANK = {HealthStatus.AT_RISK: 0, HealthStatus.COOLING: 1, HealthStatus.HEALTHY: 2}


@dataclass
class PartnerHealth:
    practice: Practice
    status: str = HealthStatus.HEALTHY
    at_risk_reasons: list = field(default_factory=list)
    cooling_reasons: list = field(default_factory=list)
    referrals_recent: int = 0
    referrals_before: int = 0
    received_6_months: int = 0
    completed_6_months: int = 0
    last_contact_on: datetime.date | None = None
    days_since_contact: int = 0
    last_check_in_on: datetime.date | None = None
    next_check_in_on: datetime.date | None = None
    check_in_overdue_days: int = 0
    custom_cadence: int | None = None
    cadence_days: int | None = None

    @property
    def reasons(self):
        return [*self.at_risk_reasons, *self.cooling_reasons]

    @property
    def status_label(self):
        return HealthStatus(self.status).label

    @property
    def conversion_percent(self):
        if not self.received_6_months:
            return None
        return round(100 * self.completed_6_months / self.received_6_months)

    @property
    def trend(self):
        """ "up", "down" or "flat": the last 3 months against the 3 before."""
        if self.referrals_recent > self.referrals_before:
            return "up"
        if self.referrals_recent < self.referrals_before:
            return "down"
        return "flat"

    @property
    def sort_key(self):
        return (
            STATUS_RANK[self.status],
            -len(self.at_risk_reasons),
            -len(self.cooling_reasons),
            -(self.days_since_contact + self.check_in_overdue_days),
            -(self.referrals_before - self.referrals_recent),
            self.practice.name.lower(),
            self.practice.pk,
        )


def recent_months_start(today):
    """The first day of "the last 3 months": this month and the two before."""
    return month_start(today, WINDOW_MONTHS - 1)


def _sum(column, condition=None):
    return Coalesce(Sum(column, filter=condition), 0)


def health_queryset(*, spa, now=None, owner=None, practice=None, practice_ids=None):
    """Trial and active practices of ``spa`` (only ``owner``'s, only ``practice`` or ``practice_ids``, when
    given) with the figures health needs, in two queries.

    The referral figures are the practice-month rows of the last 6 months summed per practice (their number
    grows with practices and months, not with referrals), merged into the practices here.
    """
    now = now or timezone.now()
    today = spa_today(spa, now)
    recent_start = recent_months_start(today)
    window_start = month_start(today, CONVERSION_MONTHS - 1)
    in_recent = Q(month__gte=recent_start)
    practices = Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES)
    months = PracticeMonthFigures.objects.filter(spa=spa, month__gte=window_start, month__lte=today)
    if owner is not None:
        practices = practices.filter(owner=owner)
        months = months.filter(practice__owner=owner)
    if practice is not None:
        practices = practices.filter(pk=practice.pk)
        months = months.filter(practice=practice)
    if practice_ids is not None:
        practices = practices.filter(pk__in=practice_ids)
        months = months.filter(practice__in=practice_ids)
    figures = {
        row["practice_id"]: row
        for row in months.values("practice_id")
        .annotate(
            referrals_recent=_sum("received", in_recent),
            referrals_before=_sum("received", ~in_recent),
            received_6_months=_sum("received"),
            completed_6_months=_sum("completed"),
        )
        .order_by()
    }
    last_touchpoint = Subquery(
        Touchpoint.objects.filter(practice=OuterRef("pk"), occurred_on__lte=today)
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )
    practices = list(
        practices.select_related("owner", "check_in_cadence")
        .annotate(last_touchpoint_on=last_touchpoint, latest_check_in_on=last_check_in_subquery())
        .order_by("name", "pk")
    )
    empty = {"referrals_recent": 0, "referrals_before": 0, "received_6_months": 0, "completed_6_months": 0}
    for practice in practices:
        practice.spa = spa  # the same for every row: set, not joined and built 5,000 times over
        for name, value in figures.get(practice.pk, empty).items():
            if name != "practice_id":
                setattr(practice, name, value)
    return practices


def assess(practice, *, today, default_cadence_days):
    """The health of one practice from ``health_queryset``'s figures."""
    health = PartnerHealth(
        practice=practice,
        referrals_recent=practice.referrals_recent,
        referrals_before=practice.referrals_before,
        received_6_months=practice.received_6_months,
        completed_6_months=practice.completed_6_months,
        last_contact_on=practice.last_touchpoint_on,
    )
    in_stage_since = local_date(practice.spa, practice.stage_changed_at)
    days_in_stage = (today - in_stage_since).days
    contact_base = practice.last_touchpoint_on or in_stage_since
    health.days_since_contact = max((today - contact_base).days, 0)

    # Referrals and their trend.
    recent, before = health.referrals_recent, health.referrals_before
    if recent == 0 and before > 0:
        health.at_risk_reasons.append(
            _("No referrals in %(months)d months (%(before)d the %(months)d months before)")
            % {"months": WINDOW_MONTHS, "before": before}
        )
    elif recent == 0 and days_in_stage >= NEW_PARTNER_GRACE_DAYS:
        health.cooling_reasons.append(_("No referrals in %(months)d months") % {"months": CONVERSION_MONTHS})
    elif before >= REFERRAL_DROP_MIN_BEFORE and recent * 2 <= before:
        health.cooling_reasons.append(
            _("Referrals down: %(recent)d in %(months)d months (%(before)d the %(months)d months before)")
            % {"recent": recent, "months": WINDOW_MONTHS, "before": before}
        )

    # Conversion to completed.
    received, completed = health.received_6_months, health.completed_6_months
    share = completed / received if received else None
    if share is not None and received >= LOW_CONVERSION_MIN_REFERRALS and share < LOW_CONVERSION_SHARE:
        health.cooling_reasons.append(
            ngettext(
                "Only %(completed)d of %(received)d referral in %(months)d months completed",
                "Only %(completed)d of %(received)d referrals in %(months)d months completed",
                received,
            )
            % {"completed": completed, "received": received, "months": CONVERSION_MONTHS}
        )

    # The check-in rhythm (active partners only).
    if practice.stage == Stage.ACTIVE:
        health.last_check_in_on = practice.latest_check_in_on
        health.custom_cadence = cadence_override(practice)
        health.cadence_days = health.custom_cadence or default_cadence_days
        health.next_check_in_on = check_in_due_on(
            practice=practice, last_check_in_on=practice.latest_check_in_on, cadence_days=health.cadence_days
        )
        if health.next_check_in_on < today:
            overdue = (today - health.next_check_in_on).days
            health.check_in_overdue_days = overdue
            reason = ngettext("Check-in overdue by %(days)d day", "Check-in overdue by %(days)d days", overdue) % {
                "days": overdue
            }
            (health.at_risk_reasons if overdue > CHECK_IN_AT_RISK_DAYS else health.cooling_reasons).append(reason)

    # Contact.
    silence = health.days_since_contact
    if silence > CONTACT_COOLING_DAYS:
        if practice.last_touchpoint_on:
            reason = _("No contact for %(days)d days") % {"days": silence}
        else:
            reason = _("No contact logged in %(days)d days as a partner") % {"days": silence}
        (health.at_risk_reasons if silence > CONTACT_AT_RISK_DAYS else health.cooling_reasons).append(reason)

    if health.at_risk_reasons:
        health.status = HealthStatus.AT_RISK
    elif health.cooling_reasons:
        health.status = HealthStatus.COOLING
    return health


def partner_health_list(*, spa, status=None, owner=None, now=None):
    """(the practices' health sorted by risk, filtered by ``status`` / ``owner``; counts per status within the
    owner filter)."""
    now = now or timezone.now()
    today = spa_today(spa, now)
    default_days = outreach_settings_for(spa).check_in_cadence_days
    practices = health_queryset(spa=spa, now=now, owner=owner)
    everyone = sorted(
        (assess(practice, today=today, default_cadence_days=default_days) for practice in practices),
        key=lambda health: health.sort_key,
    )
    counts = dict.fromkeys(HealthStatus.values, 0)
    for health in everyone:
        counts[health.status] += 1
    counts["all"] = len(everyone)
    listed = [health for health in everyone if health.status == status] if status else everyone
    return listed, counts


def practice_health(*, spa, practice, now=None, default_cadence_days=None):
    """The health of one practice, or None when it is not a trial or active partner."""
    if practice.stage not in HEALTH_STAGES:
        return None
    now = now or timezone.now()
    found = next(iter(health_queryset(spa=spa, now=now, practice=practice)), None)
    if found is None:
        return None
    if default_cadence_days is None:
        default_cadence_days = outreach_settings_for(spa).check_in_cadence_days
    return assess(found, today=spa_today(spa, now), default_cadence_days=default_cadence_days)


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
