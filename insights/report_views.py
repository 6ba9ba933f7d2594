"""The reports page (/s/<spa_slug>/reports/): one report at a time for a chosen period of whole months, as a
chart, a table and a formula-safe CSV download. Managers and owners (revenue is on it)."""

import datetime
import zoneinfo
from dataclasses import dataclass

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra import charts
from infra.audit import audit_record
from infra.csv_export import csv_response
from outreach.activity.selectors import spa_today
from spas.models import Role
from spas.tenancy import requires_role

from . import reports


@dataclass(frozen=True)
class Column:
    field: str
    label: str
    numeric: bool = False
    money: bool = False
    percent: bool = False


@dataclass(frozen=True)
class ReportKind:
    key: str
    label: str
    rows: object
    columns: tuple
    chart_value: str
    chart_label: str
    explanation: str = ""
    # Computes a row's percentages from its counts (reports.with_*); the totals row goes through it too.
    derive: object = None


COUNT_COLUMNS = (
    Column("referrals", gettext_lazy("Referrals"), numeric=True),
    Column("completed", gettext_lazy("Completed"), numeric=True),
    Column("conversion", gettext_lazy("Completed %"), numeric=True, percent=True),
    Column("open", gettext_lazy("Still open"), numeric=True),
)
REPORTS = {
    kind.key: kind
    for kind in [
        ReportKind(
            "practices",
            gettext_lazy("By practice"),
            reports.referrals_by_practice,
            (Column("name", gettext_lazy("Practice")), Column("specialty", gettext_lazy("Specialty")), *COUNT_COLUMNS),
            "referrals",
            gettext_lazy("Referrals received by practice"),
            derive=reports.with_completed_share,
        ),
        ReportKind(
            "clinicians",
            gettext_lazy("By clinician"),
            reports.referrals_by_clinician,
            (Column("name", gettext_lazy("Clinician")), Column("practice", gettext_lazy("Practice")), *COUNT_COLUMNS),
            "referrals",
            gettext_lazy("Referrals received by clinician"),
            derive=reports.with_completed_share,
        ),
        ReportKind(
            "specialties",
            gettext_lazy("By specialty"),
            reports.referrals_by_specialty,
            (Column("name", gettext_lazy("Specialty")), *COUNT_COLUMNS),
            "referrals",
            gettext_lazy("Referrals received by specialty"),
            derive=reports.with_completed_share,
        ),
        ReportKind(
            "channels",
            gettext_lazy("By channel"),
            reports.referrals_by_channel,
            (Column("name", gettext_lazy("Channel")), *COUNT_COLUMNS),
            "referrals",
            gettext_lazy("Referrals received by channel"),
            derive=reports.with_completed_share,
        ),
        ReportKind(
            "leakage",
            gettext_lazy("Leakage"),
            reports.leakage_by_practice,
            (
                Column("name", gettext_lazy("Practice")),
                Column("referrals", gettext_lazy("Referrals"), numeric=True),
                Column("declined", gettext_lazy("Declined by the spa"), numeric=True),
                Column("never_contacted", gettext_lazy("Never contacted"), numeric=True),
                Column("never_booked", gettext_lazy("Never booked"), numeric=True),
                Column("no_shows", gettext_lazy("No-shows"), numeric=True),
                Column("leaked", gettext_lazy("Leaked"), numeric=True),
                Column("leaked_share", gettext_lazy("Leaked %"), numeric=True, percent=True),
            ),
            "leaked",
            gettext_lazy("Referrals lost by practice"),
            gettext_lazy(
                "Of the referrals received in the period: never contacted (cancelled or unreachable before the "
                "spa reached the patient), never booked (reached, then cancelled without an appointment) and "
                "no-shows are leaked. Referrals the spa declined are not leakage: Leaked % is of the referrals "
                "the spa did not decline."
            ),
            derive=reports.with_leakage,
        ),
        ReportKind(
            "revenue",
            gettext_lazy("Revenue"),
            reports.revenue_by_practice,
            (
                Column("name", gettext_lazy("Practice")),
                Column("completed", gettext_lazy("Completed referrals"), numeric=True),
                Column("priced", gettext_lazy("With a booked service"), numeric=True),
                Column("revenue", gettext_lazy("Revenue attributed"), numeric=True, money=True),
            ),
            "revenue",
            gettext_lazy("Revenue attributed by practice"),
            gettext_lazy(
                "Referrals completed in the period, each at the catalog price of the service it was booked for."
            ),
        ),
        ReportKind(
            "satisfaction",
            gettext_lazy("Patient ratings"),
            reports.satisfaction_by_practice,
            (
                Column("name", gettext_lazy("Referring practice")),
                Column("answers", gettext_lazy("Answers"), numeric=True),
                # Not summed in the totals row: an average of averages would mislead.
                Column("average", gettext_lazy("Average rating (1–5)")),
            ),
            "average",
            gettext_lazy("Average rating by referring practice"),
            gettext_lazy(
                "Answers to the satisfaction question in the thank-you email sent after a completed referral, "
                "given in the period, by the practice that referred the patient."
            ),
        ),
        ReportKind(
            "campaigns",
            gettext_lazy("Campaigns"),
            reports.campaign_results,
            (
                Column("name", gettext_lazy("Campaign")),
                Column("status", gettext_lazy("Status")),
                Column("practices", gettext_lazy("Practices"), numeric=True),
                Column("touchpoints", gettext_lazy("Touchpoints"), numeric=True),
                Column("meetings", gettext_lazy("Meetings"), numeric=True),
                Column("partners_won", gettext_lazy("Partners won"), numeric=True),
                Column("referrals", gettext_lazy("Referrals received"), numeric=True),
            ),
            "referrals",
            gettext_lazy("Referrals from each campaign's practices since launch"),
            gettext_lazy("Campaigns running during the period; what happened at their practices from launch."),
        ),
    ]
}
CHART_ROWS = 15
DEFAULT_PRESET = "last_3_months"


class MonthField(forms.DateField):
    """A calendar month, as the first day of it. Takes "2026-11" (what a month input sends) and, for links
    written before reports were by month, a day ("2026-11-15": its month)."""

    input_formats = ["%Y-%m", "%Y-%m-%d"]
    default_error_messages = {"invalid": gettext_lazy("Enter a valid month, such as 2026-11.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
        super().__init__(**kwargs)

    def to_python(self, value):
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class PeriodForm(forms.Form):
    preset = forms.CharField(required=False)
    start = MonthField(label=gettext_lazy("From"), required=False)
    end = MonthField(label=gettext_lazy("To"), required=False)

    def __init__(self, *args, presets, **kwargs):
        super().__init__(*args, **kwargs)
        self.presets = {key: (start, end) for key, _label, start, end in presets}

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset")
        if preset in self.presets and not (self.data.get("start") or self.data.get("end")):
            cleaned["start"], cleaned["end"] = self.presets[preset]
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            if end < start.replace(day=1):
                self.add_error("end", _("The end comes before the start."))
            elif months > reports.MAX_PERIOD_MONTHS:
                self.add_error("end", _("Choose a period of at most three years."))
        elif not self.errors:
            cleaned["start"], cleaned["end"] = self.presets[DEFAULT_PRESET]
        return cleaned


def _cell(row, column):
    value = row.get(column.field)
    if value is None:
        return "—" if column.percent else ""
    if column.money:
        return f"${value:,.2f}"
    if column.percent:
        return f"{value}%"
    return value


@requires_role(Role.MANAGER)
def report_page(request, spa_slug):
    spa = request.spa
    presets = reports.preset_periods(spa)
    form = PeriodForm(request.GET or {"preset": DEFAULT_PRESET}, presets=presets)
    kind = REPORTS.get(request.GET.get("report") or "practices", REPORTS["practices"])
    if not form.is_valid():
        context = {"form": form, "kind": kind, "reports": REPORTS.values(), "presets": presets, "rows": None}
        return render(request, "reports/report.html", context, status=400)
    period = reports.Period.of_months(
        form.cleaned_data["start"], form.cleaned_data["end"], zoneinfo.ZoneInfo(spa.timezone)
    )
    # Show the dates a preset stands for in the date fields (and carry them to the other reports' tabs).
    form = PeriodForm({"start": period.start, "end": period.end}, presets=presets)
    form.is_valid()
    rows = kind.rows(spa=spa, period=period)
    if request.GET.get("format") == "csv":
        audit_record(
            spa=spa,
            action="report.exported",
            actor=request.user,
            object_type="report",
            object_id=kind.key,
            detail={"start": period.start.isoformat(), "end": period.end.isoformat(), "rows": len(rows)},
        )
        return csv_response(
            f"{kind.key}-{period.start.isoformat()}-{period.end.isoformat()}.csv",
            [str(column.label) for column in kind.columns],
            ([row.get(column.field, "") for column in kind.columns] for row in rows),
        )
    chart_rows = sorted(rows, key=lambda row: -(row.get(kind.chart_value) or 0))[:CHART_ROWS]
    chart = charts.horizontal_bars(
        [
            charts.Bar(row["name"], float(row[kind.chart_value]), display=_chart_value(row, kind))
            for row in chart_rows
            if row.get(kind.chart_value)
        ],
        title=str(kind.chart_label),
        chart_id="report-chart",
    )
    query = request.GET.copy()
    query.pop("format", None)
    context = {
        "form": form,
        "kind": kind,
        "reports": REPORTS.values(),
        "presets": presets,
        "period": period,
        # (text, numeric) per cell, so the template right-aligns numbers.
        "rows": [[(_cell(row, column), column.numeric) for column in kind.columns] for row in rows],
        "totals": _totals(rows, kind),
        "chart": chart,
        "query": query.urlencode(),
        "today": spa_today(spa),
        "one_day": datetime.timedelta(days=1),
    }
    return render(request, "reports/report.html", context)


def _chart_value(row, kind):
    column = next((column for column in kind.columns if column.field == kind.chart_value), Column(kind.chart_value, ""))
    return str(_cell(row, column))


def _totals(rows, kind):
    """The totals row: counts and money summed; every percentage recomputed from those sums by the report's own
    ``derive`` (a share of the totals, never a sum or an average of the rows' percentages)."""
    summed = {
        column.field: sum(row.get(column.field) or 0 for row in rows)
        for column in kind.columns
        if column.numeric and not column.percent
    }
    if kind.derive is not None:
        summed = kind.derive(summed)
    totals = []
    for index, column in enumerate(kind.columns):
        if column.numeric:
            totals.append((_cell(summed, column), True))
        else:
            totals.append((_("Total") if index == 0 else "", False))
    return totals
