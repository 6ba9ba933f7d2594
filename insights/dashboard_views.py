"""The dashboard at /s/<spa_slug>/, the workspace's front page (insights/urls.py)."""

from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from infra import charts
from spas import selectors as spa_selectors

from .dashboard import dashboard_figures, format_duration


def _charts(spa, figures):
    weekly = figures["weekly"]
    referrals = figures["referrals"]
    slug = spa.slug
    return {
        "weekly": charts.stacked_columns(
            weekly["labels"], weekly["series"], title=_("Referrals per week by specialty"), chart_id="chart-weekly"
        ),
        # A phone's card is half as wide: the same chart drawn for it keeps its text legible.
        "weekly_narrow": charts.stacked_columns(
            weekly["labels"],
            weekly["series"],
            title=_("Referrals per week by specialty"),
            chart_id="chart-weekly-narrow",
            width=340,
        ),
        "funnel": charts.funnel(
            [
                (_("Received"), referrals["received"]),
                (_("Contacted"), referrals["contacted"]),
                (_("Scheduled"), referrals["scheduled"]),
                (_("Completed"), referrals["completed"]),
            ],
            title=_("Referral funnel, last 90 days"),
            chart_id="chart-funnel",
            width=320,
        ),
        "top_practices": charts.horizontal_bars(
            [
                charts.Bar(
                    row["practice__name"],
                    row["count"],
                    href=reverse("partners:detail", args=[slug, row["practice__public_id"]]),
                )
                for row in figures["top_practices"]
            ],
            title=_("Top referring practices, last 3 months"),
            chart_id="chart-top",
            # Practice names are long ("Somerville Acupuncture Collective"): a roomy column, wrapping onto two lines.
            width=330,
            label_width=170,
        ),
        "pipeline": charts.horizontal_bars(
            [
                charts.Bar(label, count, href=reverse("partners:list", args=[slug]) + f"?stage={value}")
                for value, label, count in figures["pipeline"]
            ],
            title=_("Practices by pipeline stage"),
            chart_id="chart-pipeline",
            colour=charts.PALETTE[2],
            width=320,
            label_width=124,
        ),
    }


def dashboard(request, spa_slug):
    spa = request.spa
    figures = dashboard_figures(spa=spa, user=request.user, fresh=request.GET.get("fresh") == "1")
    members = list(spa_selectors.team_members(spa=spa))
    checklist = spa_selectors.getting_started(spa, members)
    context = {
        "figures": figures,
        "charts": _charts(spa, figures),
        "median_first_contact": format_duration(figures["first_contact"]["median"]),
        # "Nov 1–5" kept on one line in a narrow tile.
        "same_days": format_html('<span class="text-nowrap">{}</span>', figures["referrals"]["same_days_label"]),
        "checklist": checklist if not all(item["done"] for item in checklist) else [],
    }
    return render(request, "dashboard/dashboard.html", context)
