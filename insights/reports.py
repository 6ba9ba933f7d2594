"""Reports for a chosen period of whole calendar months: referrals by practice, clinician, specialty and
channel; leakage by practice; revenue attributed by practice; campaign results. Each report is rows of plain
values, one query whatever the number of rows (two for clinicians: their names), shared by the page
(table + chart) and its CSV export.

The referral reports read the maintained figures (referrals/figures.py) — rows per practice, clinician or
channel and month, per specialty and day — not the referrals: their cost grows with the months and the
practices in the period, never with the number of referrals. That is why a period is whole months (from the
first of one month to the end of another, on the spa's calendar; until issue 15 any two days): the practice,
clinician and channel figures are kept per month. The campaign report still counts the referrals of each
campaign's practices since its launch (a moment, not a month).

Definitions (the page repeats them):
- A referral belongs to the month it was **received** in (spa's calendar), except for revenue, which counts
  referrals **completed** in the period's months.
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

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from outreach.activity.selectors import spa_today
from outreach.models import Campaign, CampaignEnrollment, Touchpoint
from partners.models import Clinician, Stage, StageChange
from referrals.figures import month_start
from referrals.followup.selectors import ratings_by_practice
from referrals.models import (
    Channel,
    ChannelMonthFigures,
    ClinicianMonthFigures,
    PracticeMonthFigures,
    Referral,
    ReferralDayFigures,
)
from spas.models import Specialty

MAX_PERIOD_MONTHS = 36
MEETING_KINDS = ["meeting", "lunch_presentation"]


def month_end(day):
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class Period:
    start: datetime.date  # inclusive: the first day of a month
    end: datetime.date  # inclusive: the last day of a month
    zone: zoneinfo.ZoneInfo

    @classmethod
    def of_months(cls, first, last, zone):
        """From the first day of ``first``'s month to the last day of ``last``'s."""
        return cls(month_start(first), month_end(last), zone)

    @property
    def months(self):
        """The keys of the monthly figures in the period: ``month__gte=start, month__lte=end``."""
        return {"month__gte": self.start, "month__lte": self.end}

    @property
    def start_at(self):
        return datetime.datetime.combine(self.start, datetime.time.min, tzinfo=self.zone)

    @property
    def end_before(self):
        """The first moment after the period (midnight after ``end``)."""
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=self.zone)


def preset_periods(spa):
    """The period chooser's presets: (key, label, first day, last day) on the spa's calendar, whole months (the
    current one included, so far)."""
    today = spa_today(spa)
    this_month = month_start(today)
    return [
        ("this_month", _("This month"), this_month, month_end(today)),
        ("last_month", _("Last month"), month_start(today, 1), this_month - datetime.timedelta(days=1)),
        ("last_3_months", _("Last 3 months"), month_start(today, 2), month_end(today)),
        ("this_year", _("This year"), today.replace(month=1, day=1), month_end(today)),
        ("last_12_months", _("Last 12 months"), month_start(today, 11), month_end(today)),
    ]


def percent(part, whole):
    """``part`` as a whole percentage of ``whole``; None (shown "—") when there is no whole."""
    return round(100 * part / whole) if whole else None


def with_completed_share(row):
    """Adds "conversion": the share of the referrals completed. Applied to report rows and to their totals."""
    row["conversion"] = percent(row["completed"], row["referrals"])
    return row


# Summed from the maintained rows: received (in the period), of those completed, of those not closed yet.
COUNTS = {"referrals": Sum("received"), "completed": Sum("completed"), "open": Sum("open")}


def _practice_months(spa, period):
    return PracticeMonthFigures.objects.filter(spa=spa, **period.months)


def referrals_by_practice(*, spa, period):
    rows = (
        _practice_months(spa, period)
        .values(key=F("practice__public_id"), name=F("practice__name"), specialty=F("practice__specialty"))
        .annotate(**COUNTS)
        .filter(referrals__gt=0)  # a practice's month may count only completions of older referrals
        .order_by("-referrals", "name")
    )
    specialties = dict(Specialty.choices)
    return [
        with_completed_share({**row, "specialty": specialties.get(row["specialty"], row["specialty"])}) for row in rows
    ]


def referrals_by_clinician(*, spa, period):
    rows = (
        ClinicianMonthFigures.objects.filter(spa=spa, **period.months)
        .values("clinician_key", practice_name=F("practice__name"))
        .annotate(**COUNTS)
        .filter(referrals__gt=0)
        .order_by()
    )
    # clinician_key is the clinician's id (0: nobody named), not a foreign key: the names are one more query.
    rows = list(rows)
    keys = [row["clinician_key"] for row in rows if row["clinician_key"]]
    clinicians = {clinician.pk: clinician for clinician in Clinician.objects.filter(spa=spa, pk__in=keys)}

    def order(row):
        # Most referrals first, then by practice, its clinicians by last name and "nobody named" after them.
        clinician = clinicians.get(row["clinician_key"])
        return (-row["referrals"], row["practice_name"], clinician is None, clinician.last_name if clinician else "")

    result = []
    for row in sorted(rows, key=order):
        clinician = clinicians.get(row["clinician_key"])
        result.append(
            with_completed_share(
                {
                    "key": clinician.public_id if clinician else None,
                    "name": _clinician_name(clinician),
                    "practice": row["practice_name"],
                    **_counts(row),
                }
            )
        )
    return result


def _clinician_name(clinician):
    if clinician is None:
        return str(_("No clinician named"))
    credentials = f", {clinician.credentials}" if clinician.credentials else ""
    return f"{clinician.first_name} {clinician.last_name}{credentials}"


def _counts(row):
    return {name: row[name] for name in COUNTS}


def referrals_by_specialty(*, spa, period):
    days = ReferralDayFigures.objects.filter(spa=spa, day__gte=period.start, day__lte=period.end)
    rows = days.values(value=F("specialty")).annotate(**COUNTS).filter(referrals__gt=0).order_by("-referrals", "value")
    labels = dict(Specialty.choices)
    return [
        with_completed_share({"key": row["value"], "name": str(labels.get(row["value"], row["value"])), **_counts(row)})
        for row in rows
    ]


def referrals_by_channel(*, spa, period):
    months = ChannelMonthFigures.objects.filter(spa=spa, **period.months)
    rows = months.values(value=F("channel")).annotate(**COUNTS).filter(referrals__gt=0).order_by("-referrals", "value")
    labels = dict(Channel.choices)
    return [
        with_completed_share({"key": row["value"], "name": str(labels.get(row["value"], row["value"])), **_counts(row)})
        for row in rows
    ]


def with_leakage(row):
    """Adds "leaked" (never contacted + never booked + no-shows) and "leaked_share", the leaked share of the
    referrals the spa did not decline. Applied to report rows and to their totals."""
    row["leaked"] = row["never_contacted"] + row["never_booked"] + row["no_shows"]
    row["leaked_share"] = percent(row["leaked"], row["referrals"] - row["declined"])
    return row


def leakage_by_practice(*, spa, period):
    # The columns' definitions are the figures' (referrals/figures.py, PracticeMonthFigures).
    rows = (
        _practice_months(spa, period)
        .values(key=F("practice__public_id"), name=F("practice__name"))
        .annotate(
            referrals=Sum("received"),
            declined=Sum("declined"),
            never_contacted=Sum("never_contacted"),
            never_booked=Sum("never_booked"),
            no_shows=Sum("no_shows"),
        )
        .filter(referrals__gt=0)
        .order_by("name")
    )
    return sorted((with_leakage(row) for row in rows), key=lambda row: (-row["leaked"], row["name"]))


def revenue_by_practice(*, spa, period):
    rows = (
        _practice_months(spa, period)
        .values(key=F("practice__public_id"), name=F("practice__name"))
        .annotate(completed=Sum("completions"), priced=Sum("priced_completions"), revenue=Sum("revenue"))
        .filter(completed__gt=0)
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


def satisfaction_by_practice(*, spa, period):
    """What patients said in the follow-up's question (referrals/followup), by referring practice, for answers
    given in the period."""
    return ratings_by_practice(spa=spa, since=period.start_at, before=period.end_before)
