"""Partner health: is each trial or active partner healthy, cooling or at risk, and why.

Signals, for every practice in stage TRIAL or ACTIVE (dates on the spa's calendar):

- referrals received in the last 90 days and in the 90 days before (the trend);
- conversion: completed / referrals received in the last 180 days (shown when there are any);
- days since the last touchpoint of any kind (none logged: counted from the day it entered its stage);
- an overdue check-in (active partners only): the next check-in date (checkins.py) is before today.

Thresholds. A practice is AT RISK when any of these holds:

- no referrals in the last 90 days while the 90 days before had some ("No referrals in 90 days (4 the
  quarter before)");
- its check-in is overdue by more than ``CHECK_IN_AT_RISK_DAYS`` (30) days;
- no contact for more than ``CONTACT_AT_RISK_DAYS`` (120) days.

It is COOLING (when not at risk) when any of these holds:

- no referrals in 180 days, once it has been in its stage for ``NEW_PARTNER_GRACE_DAYS`` (90) days — a new
  partner is not cooling for not having referred yet;
- referrals halved: at least 2 the quarter before and at most half as many in the last 90 days;
- conversion under ``LOW_CONVERSION_SHARE`` (25 %) with at least ``LOW_CONVERSION_MIN_REFERRALS`` (4) referrals
  in 180 days — their patients are not reaching the spa, which the practice will notice;
- its check-in is overdue (by 1 to 30 days);
- no contact for more than ``CONTACT_COOLING_DAYS`` (60) days.

Otherwise it is HEALTHY. Every reason is a sentence the page shows.

Order ("sorted by risk"): at risk, then cooling, then healthy; within a status the practice with more
at-risk reasons comes first, then more cooling reasons, then the longer silence (days since the last contact
plus days the check-in is overdue), then the larger drop in referrals, then the name.

Queries: one for all the practices with their figures (Count(filter=…) over referrals, Subquery for the
touchpoints), whatever their number; the status, reasons and order are worked out in Python.
"""

import datetime
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from partners.models import Practice, Stage
from referrals.models import Referral, Status

from .activity import spa_day_start, spa_today
from .checkins import cadence_override, check_in_due_on, last_check_in_subquery, local_date
from .models import Touchpoint, outreach_settings_for

WINDOW_DAYS = 90
CONVERSION_DAYS = 180
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
    received_180: int = 0
    completed_180: int = 0
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
        if not self.received_180:
            return None
        return round(100 * self.completed_180 / self.received_180)

    @property
    def trend(self):
        """ "up", "down" or "flat": the last 90 days against the 90 before."""
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


def health_queryset(*, spa, now=None, owner=None, practice=None, practice_ids=None):
    """Trial and active practices of ``spa`` (only ``owner``'s, only ``practice`` or ``practice_ids``, when
    given) with the figures health needs, in two queries.

    The referral figures come from one aggregate over the spa's referrals of the last 180 days grouped by
    practice (an index-only scan of referral_window_idx), merged into the practices here: joining every
    referral to every practice instead cost over a second at 100,000 referrals.
    """
    now = now or timezone.now()
    today = spa_today(spa, now)
    recent_start = spa_day_start(spa, today - datetime.timedelta(days=WINDOW_DAYS - 1))
    before_start = spa_day_start(spa, today - datetime.timedelta(days=WINDOW_DAYS + WINDOW_DAYS - 1))
    conversion_start = spa_day_start(spa, today - datetime.timedelta(days=CONVERSION_DAYS - 1))
    in_recent = Q(received_at__gte=recent_start)
    in_before = Q(received_at__lt=recent_start)
    in_conversion = Q(received_at__gte=conversion_start)
    practices = Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES)
    referrals = Referral.objects.filter(
        spa=spa, received_at__gte=min(before_start, conversion_start), received_at__lte=now
    )
    if owner is not None:
        practices = practices.filter(owner=owner)
        referrals = referrals.filter(practice__owner=owner)
    if practice is not None:
        practices = practices.filter(pk=practice.pk)
        referrals = referrals.filter(practice=practice)
    if practice_ids is not None:
        practices = practices.filter(pk__in=practice_ids)
        referrals = referrals.filter(practice__in=practice_ids)
    figures = {
        row["practice_id"]: row
        for row in referrals.values("practice_id")
        .annotate(
            referrals_recent=Count("pk", filter=in_recent),
            referrals_before=Count("pk", filter=in_before & Q(received_at__gte=before_start)),
            received_180=Count("pk", filter=in_conversion),
            completed_180=Count("pk", filter=in_conversion & Q(status=Status.COMPLETED)),
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
    empty = {"referrals_recent": 0, "referrals_before": 0, "received_180": 0, "completed_180": 0}
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
        received_180=practice.received_180,
        completed_180=practice.completed_180,
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
            _("No referrals in %(days)d days (%(before)d the quarter before)") % {"days": WINDOW_DAYS, "before": before}
        )
    elif recent == 0 and days_in_stage >= NEW_PARTNER_GRACE_DAYS:
        health.cooling_reasons.append(_("No referrals in %(days)d days") % {"days": CONVERSION_DAYS})
    elif before >= REFERRAL_DROP_MIN_BEFORE and recent * 2 <= before:
        health.cooling_reasons.append(
            _("Referrals down: %(recent)d in %(days)d days (%(before)d the quarter before)")
            % {"recent": recent, "days": WINDOW_DAYS, "before": before}
        )

    # Conversion to completed.
    share = health.completed_180 / health.received_180 if health.received_180 else None
    if share is not None and health.received_180 >= LOW_CONVERSION_MIN_REFERRALS and share < LOW_CONVERSION_SHARE:
        health.cooling_reasons.append(
            ngettext(
                "Only %(completed)d of %(received)d referral in %(days)d days completed",
                "Only %(completed)d of %(received)d referrals in %(days)d days completed",
                health.received_180,
            )
            % {"completed": health.completed_180, "received": health.received_180, "days": CONVERSION_DAYS}
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
