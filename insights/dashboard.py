"""The spa's dashboard: how the partnership programme is doing and what needs attention today.

It reads every app (referrals, partners, outreach, the catalog), which is why it lives in the project
package. "This month" and "today" are the spa's calendar (month boundaries at local midnight). The referral
figures are read from the maintained counts (referrals/figures.py: a row per day and specialty, a row per
practice and month), so a cache miss reads rows by the days and months shown, never the spa's referral
history; every figure is one query whatever the data size. Partner health likewise is read from the row kept per
trial or active partner (outreach/health/snapshots.py): the counts per status are one GROUP BY over those rows,
the at-risk items the first ``ATTENTION_PER_KIND`` at-risk rows in the partner health list's order, and only
those few practices are then assessed afresh, for their reasons in words — never every partner. The rows are
kept by the writes and assessed again shortly after each spa's midnight; when a spa's are not all today's yet
(or not one per partner), the computation refreshes them first, so a status assessed for an earlier day is
never shown as today's. The spa-wide figures are cached per spa: they are fresh for a minute
(``FRESH_SECONDS``); after that the first viewer recomputes them while everyone else is shown the previous set
(kept up to ``KEEP_SECONDS``), so a team opening the dashboard at nine does not recompute it eight times over.
Only "your tasks today" is per person (one small query). ``fresh=True`` recomputes.

Definitions (shown on the page as well):
- referrals this month: received in the spa's calendar month so far. It is compared with the same stretch of
  last month — the same days, up to the same time of day (on December 5 at 9:00, December 1–5 against
  November 1–5 until 9:00) — never with the whole of last month, which had more days to fill. When last
  month was shorter (March 30 against February), the comparison is with all of last month. The whole of
  last month is shown beside it for context. (No "on pace for N": early in a month a projection of a few
  referrals swings wildly.) Counted as last month's whole days 1 … d−1 from the daily counts plus one
  indexed count of day d's referrals until now's time of day (all of day d when last month was shorter);
- conversion: of the referrals received in the last 90 days — today and the 89 days before, whole days on
  the spa's calendar — the share completed;
- median time to first contact: received → first contact attempt, over referrals received in the last
  30 days that have had one; with fewer than ``MIN_MEDIAN_SAMPLE`` of them there is no median, only the count
  (a median needs the cases themselves: one query over those 30 days' referrals, not the history);
- tasks due: open tasks due today or earlier, split into due today and overdue (the parts add up to it);
- the funnel (the same 90 days): received → contacted (the spa reached the patient) → scheduled (an
  appointment was booked) → completed;
- top referring practices: by referrals received in the last 3 months — this calendar month so far and the
  two before (the practice figures are kept per month) — with how many of those were completed;
- referrals per week by specialty: the last twelve weeks (Monday to Sunday), by the referring practice's
  specialty.
"""

import datetime
import statistics
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from infra import soft_cache
from infra.templatetags.dates import day, moment
from outreach.gifts.selectors import gift_limit_for
from outreach.health.selectors import HEALTH_STAGES
from outreach.health.snapshots import current_counts, most_at_risk
from outreach.models import GIFT_WARNING_SHARE, Gift, Task, TaskKind
from partners.models import Practice, Stage
from referrals.figures import month_start
from referrals.models import PracticeMonthFigures, Referral, ReferralDayFigures
from referrals.selectors import overdue_condition
from spas.models import Credential, Specialty

FRESH_SECONDS = 60
KEEP_SECONDS = 15 * 60
RECOMPUTE_LOCK_SECONDS = 30
RECENT_DAYS = 90
# Top practices: this month and the two before (practice figures are kept per month).
TOP_PRACTICE_MONTHS = 3
MEDIAN_DAYS = 30
# Below this many referrals a median says more about one patient than about the team: show the count instead.
MIN_MEDIAN_SAMPLE = 5
WEEKS = 12
TOP_PRACTICES = 8
ATTENTION_PER_KIND = 5
CREDENTIAL_WARNING_DAYS = 60


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5) over an interval: the median duration."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass
class Attention:
    kind: str
    icon: str
    label: str
    detail: str
    url: str
    severity: str  # "danger" or "warning"


def spa_zone(spa):
    return zoneinfo.ZoneInfo(spa.timezone)


def local_midnight(spa, day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=spa_zone(spa))


def month_starts(day):
    """(first day of last month, first day of this month, first day of next month)."""
    this_month = day.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    next_month = (this_month + datetime.timedelta(days=32)).replace(day=1)
    return last_month, this_month, next_month


def same_point_last_month(spa, now):
    """(last day, end) of last month's stretch that matches this month so far: the same day of the month at
    the same time on the spa's clock, or all of last month when it had no such day (March 30 → February)."""
    local_now = timezone.localtime(now, spa_zone(spa))
    last_month, this_month, _next_month = month_starts(local_now.date())
    last_day_of_last_month = this_month - datetime.timedelta(days=1)
    if local_now.day > last_day_of_last_month.day:
        return last_day_of_last_month, local_midnight(spa, this_month)
    day = last_month.replace(day=local_now.day)
    end = datetime.datetime.combine(day, local_now.time().replace(tzinfo=None), tzinfo=spa_zone(spa))
    return day, end


def day_span(first, last, today):
    """ "Nov 1–5" (or "Nov 1"; "Dec 1–5, 2025" outside the current year), as the dates filters write days."""
    if first == last:
        text = date_format(first, "M j")
    else:
        text = _("%(month)s %(first)s–%(last)s") % {
            "month": date_format(first, "M"),
            "first": first.day,
            "last": last.day,
        }
    return text if first.year == today.year else f"{text}, {first.year}"


def _day_sum(column, **days):
    return Coalesce(Sum(column, filter=Q(**days)), 0)


def _referral_figures(spa, now, today):
    last_month, this_month, next_month = month_starts(today)
    same_day, same_point = same_point_last_month(spa, now)
    recent_first_day = today - datetime.timedelta(days=RECENT_DAYS - 1)
    figures = ReferralDayFigures.objects.filter(spa=spa, day__gte=min(last_month, recent_first_day)).aggregate(
        this_month=_day_sum("received", day__gte=this_month, day__lt=next_month),
        last_month=_day_sum("received", day__gte=last_month, day__lt=this_month),
        before_same_day=_day_sum("received", day__gte=last_month, day__lt=same_day),
        received=_day_sum("received", day__gte=recent_first_day),
        contacted=_day_sum("contacted", day__gte=recent_first_day),
        scheduled=_day_sum("scheduled", day__gte=recent_first_day),
        completed=_day_sum("completed", day__gte=recent_first_day),
    )
    # The same day of last month up to now's time of day: the days are counted whole, so this one day is read
    # from the referrals themselves (referral_window_idx).
    figures["last_month_to_date"] = figures.pop("before_same_day") + _received_between(
        spa, local_midnight(spa, same_day), same_point
    )
    figures["month_label"] = date_format(this_month, "F")
    figures["last_month_label"] = date_format(last_month, "F")
    # What the comparison is with, written on the tile: "vs Nov 1–5".
    figures["same_days_label"] = day_span(last_month, same_day, today)
    figures["change"] = (
        round(100 * (figures["this_month"] - figures["last_month_to_date"]) / figures["last_month_to_date"])
        if figures["last_month_to_date"]
        else None
    )
    figures["conversion"] = round(100 * figures["completed"] / figures["received"]) if figures["received"] else None
    return figures


def _received_between(spa, start, end):
    return Referral.objects.filter(spa=spa, received_at__gte=start, received_at__lt=end).count()


def _first_contact(spa, now):
    """The median time from receipt to the first contact attempt over the last 30 days' referrals that have had
    one, and how many those are. The median is None when there are fewer than ``MIN_MEDIAN_SAMPLE``."""
    referrals = Referral.objects.filter(
        spa=spa, received_at__gte=now - datetime.timedelta(days=MEDIAN_DAYS), first_contact_attempt_at__isnull=False
    )
    waited = ExpressionWrapper(F("first_contact_attempt_at") - F("received_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        result = referrals.aggregate(median=Median(waited), sample=Count("pk"))
        median, sample = result["median"], result["sample"]
    else:
        # SQLite (the embedded default) has no percentile function; its spas are small.
        durations = [
            attempt - received for received, attempt in referrals.values_list("received_at", "first_contact_attempt_at")
        ]
        median, sample = (statistics.median(durations) if durations else None), len(durations)
    return {"median": median if sample >= MIN_MEDIAN_SAMPLE else None, "sample": sample}


def _weekly_by_specialty(spa, today):
    week_start = today - datetime.timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    days = ReferralDayFigures.objects.filter(spa=spa, day__gte=week_start, received__gt=0)
    weeks = [week_start + datetime.timedelta(days=7 * index) for index in range(WEEKS)]
    counts = {}
    # At most 84 days × the specialties: summed into weeks here rather than by database-specific SQL.
    for received_on, specialty, received in days.values_list("day", "specialty", "received"):
        week = received_on - datetime.timedelta(days=received_on.weekday())
        counts[(week, specialty)] = counts.get((week, specialty), 0) + received
    series = [(str(label), [counts.get((week, value), 0) for week in weeks]) for value, label in Specialty.choices]
    return {
        "weeks": weeks,
        "labels": [date_format(week, "M j") for week in weeks],
        "series": [(name, values) for name, values in series if any(values)],
    }


def _top_practices(spa, today):
    since = month_start(today, TOP_PRACTICE_MONTHS - 1)
    rows = (
        PracticeMonthFigures.objects.filter(spa=spa, month__gte=since)
        .values("practice__public_id", "practice__name")
        .annotate(count=Sum("received"), completed=Sum("completed"))
        .filter(count__gt=0)
        .order_by("-count", "practice__name")[:TOP_PRACTICES]
    )
    return list(rows), since


def _pipeline(spa):
    counts = dict(Practice.objects.filter(spa=spa).values_list("stage").annotate(count=Count("pk")).order_by())
    return [(value, str(label), counts.get(value, 0)) for value, label in Stage.choices]


def _tasks(spa, today):
    """Open tasks due today or earlier ("due"), in two parts that add up to it: due today and overdue."""
    return Task.objects.filter(spa=spa, done_at=None, due_on__lte=today).aggregate(
        due=Count("pk"),
        due_today=Count("pk", filter=Q(due_on=today)),
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        check_ins_due=Count("pk", filter=Q(kind=TaskKind.CHECK_IN)),
    )


def _my_tasks_due(spa, user, today):
    """``user``'s share of the tasks due (today or earlier)."""
    return Task.objects.filter(spa=spa, done_at=None, due_on__lte=today, assignee=user).count()


def _overdue_referrals(spa, now):
    overdue = Referral.objects.filter(overdue_condition(now), spa=spa)
    listed = list(overdue.select_related("practice").order_by("first_contact_due_at")[:ATTENTION_PER_KIND])
    return overdue.count(), listed


def _gifts_near_limit(spa, today):
    limit = gift_limit_for(spa=spa, year=today.year).amount
    threshold = (limit * GIFT_WARNING_SHARE).quantize(Decimal("0.01"))
    rows = (
        Gift.objects.filter(spa=spa, given_on__year=today.year)
        .values(
            "recipient_clinician__first_name",
            "recipient_clinician__last_name",
            "recipient_contact__name",
            "practice__name",
            "practice__public_id",
        )
        .annotate(total=Sum("fair_market_value"))
        .filter(total__gte=threshold)
        .order_by("-total")[:ATTENTION_PER_KIND]
    )
    return limit, list(rows)


def _attention(spa, now, today, overdue_list, overdue_count, at_risk, gifts, limit):
    """The dashboard's "needs attention" list, kind by kind in this order: overdue referrals, partners at risk,
    credentials expiring, gift totals near the yearly limit."""
    return [
        *_overdue_referral_items(spa, overdue_list, overdue_count),
        *_at_risk_partner_items(spa, at_risk),
        *_credential_items(spa, today),
        *_gift_limit_items(spa, gifts, limit),
    ]


def _overdue_referral_items(spa, overdue_list, overdue_count):
    """One item per listed overdue referral, then one line for the rest (it links to the inbox's overdue tab)."""
    items = [
        Attention(
            "referral",
            "alarm",
            _("Referral from %(practice)s") % {"practice": referral.practice.name},
            _("First contact was due %(when)s")
            % {"when": moment(timezone.localtime(referral.first_contact_due_at, spa_zone(spa)).replace(tzinfo=None))},
            reverse("referrals:detail", args=[spa.slug, referral.public_id]),
            "danger",
        )
        for referral in overdue_list
    ]
    if overdue_count > len(overdue_list):
        items.append(
            Attention(
                "referral",
                "alarm",
                ngettext(
                    "%(count)s more overdue referral",
                    "%(count)s more overdue referrals",
                    overdue_count - len(overdue_list),
                )
                % {"count": overdue_count - len(overdue_list)},
                "",
                reverse("referrals:inbox", args=[spa.slug]) + "?overdue=1",
                "danger",
            )
        )
    return items


def _at_risk_partner_items(spa, at_risk):
    return [
        Attention(
            "partner",
            "heart-pulse",
            _("%(practice)s is at risk") % {"practice": health.practice.name},
            "; ".join(str(reason) for reason in health.at_risk_reasons[:2]),
            reverse("partners:detail", args=[spa.slug, health.practice.public_id]),
            "danger",
        )
        for health in at_risk[:ATTENTION_PER_KIND]
    ]


def _credential_items(spa, today):
    """Credentials expired or expiring within CREDENTIAL_WARNING_DAYS, soonest first."""
    credentials = Credential.objects.filter(
        spa=spa,
        archived_at=None,
        expires_on__isnull=False,
        expires_on__lte=today + datetime.timedelta(days=CREDENTIAL_WARNING_DAYS),
    ).order_by("expires_on")[:ATTENTION_PER_KIND]
    items = []
    for credential in credentials:
        expired = credential.expires_on < today
        items.append(
            Attention(
                "credential",
                "patch-exclamation",
                str(credential),
                (_("Expired %(when)s") if expired else _("Expires %(when)s")) % {"when": day(credential.expires_on)},
                reverse("catalog:index", args=[spa.slug]) + "?kind=credentials",
                "danger" if expired else "warning",
            )
        )
    return items


def _gift_limit_items(spa, gifts, limit):
    """Recipients near (warning) or over (danger) the yearly gift limit, from _gifts_near_limit's rows."""
    items = []
    for row in gifts:
        name = row["recipient_contact__name"] or (
            f"{row['recipient_clinician__first_name']} {row['recipient_clinician__last_name']}".strip()
        )
        over = row["total"] > limit
        items.append(
            Attention(
                "gift",
                "gift",
                _("Gifts to %(name)s (%(practice)s)") % {"name": name, "practice": row["practice__name"]},
                _("$%(total)s of the $%(limit)s yearly limit")
                % {"total": f"{row['total']:,.2f}", "limit": f"{limit:,.2f}"},
                reverse("outreach:gift_ledger", args=[spa.slug]) + f"?practice={row['practice__public_id']}",
                "danger" if over else "warning",
            )
        )
    return items


def _compute(spa, now):
    today = timezone.localtime(now, spa_zone(spa)).date()
    referrals = _referral_figures(spa, now, today)
    overdue_count, overdue_list = _overdue_referrals(spa, now)
    pipeline = _pipeline(spa)
    partners = sum(count for value, _label, count in pipeline if value in HEALTH_STAGES)
    health_counts = current_counts(spa, partners=partners, now=now)
    at_risk = most_at_risk(spa=spa, limit=ATTENTION_PER_KIND, now=now)
    limit, gifts = _gifts_near_limit(spa, today)
    top_practices, top_practices_since = _top_practices(spa, today)
    return {
        "computed_at": now,
        "today": today,
        "referrals": referrals,
        "first_contact": _first_contact(spa, now),
        "overdue_count": overdue_count,
        "weekly": _weekly_by_specialty(spa, today),
        "top_practices": top_practices,
        "top_practices_since": top_practices_since,
        "pipeline": pipeline,
        "active_partners": next(count for value, _label, count in pipeline if value == Stage.ACTIVE),
        "health_counts": health_counts,
        "tasks": _tasks(spa, today),
        "attention": _attention(spa, now, today, overdue_list, overdue_count, at_risk, gifts, limit),
    }


def _spa_figures(spa, now, fresh):
    key = f"dashboard:v4:{spa.pk}"
    cached = None if fresh else soft_cache.get(key)
    if cached is not None:
        age = (now - cached["computed_at"]).total_seconds()
        # Stale: one viewer (whoever takes the lock) recomputes; the others see the previous figures.
        if age < FRESH_SECONDS or not soft_cache.add(f"{key}:recomputing", 1, RECOMPUTE_LOCK_SECONDS):
            return cached
    figures = _compute(spa, now)
    soft_cache.set(key, figures, KEEP_SECONDS)
    return figures


def dashboard_figures(*, spa, user, now=None, fresh=False):
    """Everything the dashboard shows for ``spa``, and ``user``'s own tasks due (today or earlier)."""
    now = now or timezone.now()
    figures = dict(_spa_figures(spa, now, fresh))
    figures["tasks"] = {**figures["tasks"], "mine": _my_tasks_due(spa, user, figures["today"])}
    return figures


def format_duration(duration):
    """A waiting time as people say it: "45 min", "5 h", "1.5 days"."""
    if duration is None:
        return "—"
    minutes = duration.total_seconds() / 60
    if minutes < 90:
        return _("%(minutes)s min") % {"minutes": round(minutes)}
    hours = minutes / 60
    if hours < 36:
        return _("%(hours)s h") % {"hours": f"{round(hours, 1) if hours < 10 else round(hours):g}"}
    return _("%(days)s days") % {"days": f"{round(hours / 24, 1):g}"}
