"""Partner health on a practice's page (partners must not import outreach, so the page includes a template that
calls ``practice_health_panel``), and ``briefing_view``, which turns a task's briefing JSON into what
``outreach/partials/task_briefing.html`` draws."""

import datetime

from django import template
from django.utils.translation import gettext_lazy as _

from ..health.views import health_panel_context

register = template.Library()

BRIEFING_SECTIONS = [
    ("services", _("New services")),
    ("equipment", _("New equipment")),
    ("product_lines", _("New product lines")),
    ("offers", _("New offers for referred patients")),
    ("credentials", _("New credentials")),
]

HEALTH_BADGE_CLASSES = {
    "at_risk": "text-bg-danger",
    "cooling": "text-bg-warning",
    "healthy": "text-bg-success",
}
HEALTH_ICONS = {"at_risk": "exclamation-octagon", "cooling": "thermometer-low", "healthy": "heart-pulse"}


@register.inclusion_tag("outreach/health/panel.html", takes_context=True)
def practice_health_panel(context, practice):
    panel = health_panel_context(context["request"], practice)
    panel["csrf_token"] = context.get("csrf_token")
    return panel


@register.filter
def health_badge_class(status):
    return HEALTH_BADGE_CLASSES.get(status, "text-bg-secondary")


@register.filter
def health_icon(status):
    return HEALTH_ICONS.get(status, "heart-pulse")


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


@register.filter
def briefing_view(briefing):
    """A briefing (the JSON shape documented in outreach/health/checkins.py) as display rows; tolerant of missing
    keys."""
    if not isinstance(briefing, dict) or not briefing:
        return None
    news = briefing.get("new_at_spa") or {}
    sections = []
    for key, label in BRIEFING_SECTIONS:
        section = news.get(key) or {}
        names = [str(name) for name in section.get("names") or []]
        if names:
            sections.append({"key": key, "label": label, "names": names, "more": int(section.get("more") or 0)})
    referrals = briefing.get("referrals")
    return {
        "kind": briefing.get("kind", "check_in"),
        "since": _date(briefing.get("since")),
        "since_reason": briefing.get("since_reason", ""),
        "written_on": _date(briefing.get("written_on")),
        "sections": sections,
        "referrals": referrals if isinstance(referrals, dict) else None,
        "last_referral_on": _date(referrals.get("last_received_on")) if isinstance(referrals, dict) else None,
        "reason": briefing.get("reason", ""),
    }
