"""Reports for a chosen period: referrals by practice, clinician, specialty and channel; leakage by practice;
revenue attributed by practice; campaign results. Each report is rows of plain values, one query whatever
the number of rows, shared by the page (table + chart) and its CSV export.

Definitions (the page repeats them):
- A referral belongs to the period it was **received** in (spa's calendar, both ends included), except for
  revenue, which counts referrals **completed** in the period.
- Leakage, of the referrals received in the period: **never contacted** — cancelled or unreachable without the
  spa ever reaching the patient; **never booked** — the patient was reached but the referral was cancelled
  without an appointment; **no-shows** — the appointment was missed (status No-show). A referral the spa
  itself **declined** is not leakage (the spa chose not to take it): it has its own column, and the leaked
  share is of the referrals the spa did not decline.
- Percentages are computed from counts by one function per report (``derive``), applied to each row and to
  the totals alike, so a totals row's percentage is the share of the totals, never a sum of percentages.
- Revenue attributed: for each completed referral, the catalog price of the service it was booked for
  (referrals completed without a booked service count as completed, at no revenue).
"""

import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from outreach.activity import spa_today
from outreach.models import Campaign, CampaignEnrollment, Touchpoint
from partners.models import Stage, StageChange
from referrals.models import CLOSED_STATUSES, Channel, Referral, Status
from spas.models import Specialty

MAX_PERIOD_DAYS = 3 * 366
MEETING_KINDS = ["meeting", "lunch_presentation"]


@dataclass(frozen=True)
class Period:
    start: datetime.date  # inclusive
    end: datetime.date  # inclusive
    zone: zoneinfo.ZoneInfo

    @property
    def start_at(self):
        return datetime.datetime.combine(self.start, datetime.time.min, tzinfo=self.zone)

    @property
    def end_before(self):
        """The first moment after the period (midnight after ``end``)."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=self.zone)


def preset_periods(spa):
    """The period chooser's presets: (key, label, start, end) on the spa's calendar."""
    today = spa_today(spa)
    this_month = today.replace(day=1)
    last_month_end = this_month - datetime.timedelta(days=1)
    return [
        ("this_month", _("This month"), this_month, today),
        ("last_month", _("Last month"), last_month_end.replace(day=1), last_month_end),
        ("last_90_days", _("Last 90 days"), today - datetime.timedelta(days=89), today),
        ("this_year", _("This year"), today.replace(month=1, day=1), today),
        ("last_12_months", _("Last 12 months"), today - datetime.timedelta(days=364), today),
    ]


def _received(spa, period):
    return Referral.objects.filter(spa=spa, received_at__gte=period.start_at, received_at__lt=period.end_before)


def percent(part, whole):
    """``part`` as a whole percentage of ``whole``; None (shown "—") when there is no whole."""
    return round(100 * part / whole) if whole else None


def with_completed_share(row):
    """Adds "conversion": the share of the referrals completed. Applied to report rows and to their totals."""
    row["conversion"] = percent(row["completed"], row["referrals"])
    return row


COUNTS = {
    "referrals": Count("pk"),
    "completed": Count("pk", filter=Q(status=Status.COMPLETED)),
    "open": Count("pk", filter=~Q(status__in=CLOSED_STATUSES)),
}


def referrals_by_practice(*, spa, period):
    rows = (
        _received(spa, period)
        .values(key=F("practice__public_id"), name=F("practice__name"), specialty=F("practice__specialty"))
        .annotate(**COUNTS)
        .order_by("-referrals", "name")
    )
    specialties = dict(Specialty.choices)
    return [
        with_completed_share({**row, "specialty": specialties.get(row["specialty"], row["specialty"])}) for row in rows
    ]


def referrals_by_clinician(*, spa, period):
    rows = (
        _received(spa, period)
        .values(
            key=F("clinician__public_id"),
            first=F("clinician__first_name"),
            last=F("clinician__last_name"),
            credentials=F("clinician__credentials"),
            practice_name=F("practice__name"),
        )
        .annotate(**COUNTS)
        .order_by("-referrals", "practice_name", "last")
    )
    result = []
    for row in rows:
        if row["key"] is None:
            name = str(_("No clinician named"))
        else:
            name = f"{row['first']} {row['last']}" + (f", {row['credentials']}" if row["credentials"] else "")
        result.append(
            with_completed_share({"key": row["key"], "name": name, "practice": row["practice_name"], **_counts(row)})
        )
    return result


def _counts(row):
    return {name: row[name] for name in COUNTS}


def referrals_by_specialty(*, spa, period):
    rows = _received(spa, period).values(value=F("practice__specialty")).annotate(**COUNTS).order_by("-referrals")
    labels = dict(Specialty.choices)
    return [
        with_completed_share({"key": row["value"], "name": str(labels.get(row["value"], row["value"])), **_counts(row)})
        for row in rows
    ]


def referrals_by_channel(*, spa, period):
    rows = _received(spa, period).values(value=F("channel")).annotate(**COUNTS).order_by("-referrals")
    labels = dict(Channel.choices)
    return [
        with_completed_share({"key": row["value"], "name": str(labels.get(row["value"], row["value"])), **_counts(row)})
        for row in rows
    ]


DECLINED_BY_SPA = Q(status=Status.DECLINED)
NEVER_CONTACTED = Q(contacted_at__isnull=True, status__in=[Status.CANCELLED, Status.UNREACHABLE])
NEVER_BOOKED = Q(contacted_at__isnull=False, scheduled_for__isnull=True, status=Status.CANCELLED)
NO_SHOW = Q(status=Status.NO_SHOW)


def with_leakage(row):
    """Adds "leaked" (never contacted + never booked + no-shows) and "leaked_share", the leaked share of the
    referrals the spa did not decline. Applied to report rows and to their totals."""
    row["leaked"] = row["never_contacted"] + row["never_booked"] + row["no_shows"]
    row["leaked_share"] = percent(row["leaked"], row["referrals"] - row["declined"])
    return row


def leakage_by_practice(*, spa, period):
    rows = (
        _received(spa, period)
        .values(key=F("practice__public_id"), name=F("practice__name"))
        .annotate(
            referrals=Count("pk"),
            declined=Count("pk", filter=DECLINED_BY_SPA),
            never_contacted=Count("pk", filter=NEVER_CONTACTED),
            never_booked=Count("pk", filter=NEVER_BOOKED),
            no_shows=Count("pk", filter=NO_SHOW),
        )
        .order_by("name")
    )
    return sorted((with_leakage(row) for row in rows), key=lambda row: (-row["leaked"], row["name"]))


def revenue_by_practice(*, spa, period):
    rows = (
        Referral.objects.filter(
            spa=spa, status=Status.COMPLETED, closed_at__gte=period.start_at, closed_at__lt=period.end_before
        )
        .values(key=F("practice__public_id"), name=F("practice__name"))
        .annotate(
            completed=Count("pk"),
            priced=Count("pk", filter=Q(scheduled_service__isnull=False)),
            revenue=Sum("scheduled_service__price"),
        )
        .order_by("name")
    )
    result = [{**row, "revenue": row["revenue"] or 0} for row in rows]
    return sorted(result, key=lambda row: (-row["revenue"], row["name"]))


def campaign_results(*, spa, period):
    """Campaigns launched by the end of the period and not finished before it began, with what happened at
    their practices from launch to the end of the period. One query (correlated subqueries)."""
    # Nested one level below the per-campaign subqueries, so the campaign is the outer query's outer query.
    enrolled = CampaignEnrollment.objects.filter(campaign=OuterRef(OuterRef("pk"))).values("practice_id")

    def count(queryset, field="pk"):
        return Subquery(
            queryset.order_by().values("spa").annotate(n=Count(field, distinct=field != "pk")).values("n")[:1]
        )

    touchpoints = Touchpoint.objects.filter(
        spa=spa,
        practice_id__in=enrolled,
        occurred_on__gte=OuterRef("launch_day"),
        occurred_on__lte=period.end,
    )
    won = StageChange.objects.filter(
        spa=spa,
        practice_id__in=enrolled,
        to_stage=Stage.ACTIVE,
        changed_at__gte=OuterRef("launched_at"),
        changed_at__lt=period.end_before,
    )
    referrals = Referral.objects.filter(
        spa=spa, practice_id__in=enrolled, received_at__gte=OuterRef("launched_at"), received_at__lt=period.end_before
    )
    campaigns = (
        Campaign.objects.filter(spa=spa, launched_at__isnull=False, launched_at__lt=period.end_before)
        .exclude(finished_at__lt=period.start_at)
        .annotate(launch_day=TruncDate("launched_at", tzinfo=period.zone))
        .annotate(
            # Prefixed: Campaign already has "touchpoints" and "enrollments" relations.
            n_practices=count(CampaignEnrollment.objects.filter(campaign=OuterRef("pk"))),
            n_touchpoints=count(touchpoints),
            n_meetings=count(touchpoints.filter(kind__in=MEETING_KINDS)),
            n_partners_won=count(won, "practice"),
            n_referrals=count(referrals),
        )
        .order_by("-launched_at", "-id")
    )
    return [
        {
            "key": campaign.public_id,
            "name": campaign.name,
            "launched_at": campaign.launched_at,
            "status": campaign.get_status_display(),
            "practices": campaign.n_practices or 0,
            "touchpoints": campaign.n_touchpoints or 0,
            "meetings": campaign.n_meetings or 0,
            "partners_won": campaign.n_partners_won or 0,
            "referrals": campaign.n_referrals or 0,
        }
        for campaign in campaigns
    ]
