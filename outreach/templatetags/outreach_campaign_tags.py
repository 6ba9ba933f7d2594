"""The "Campaigns" card on a practice's page: the campaigns the practice is in and how far it has come.

partners must not import outreach, so the practice page includes a template that calls this tag.
"""

from django import template

from ..activity.selectors import spa_today
from ..campaigns.selectors import practice_campaigns, progress_percent

register = template.Library()


@register.inclusion_tag("outreach/campaigns/_practice_card.html", takes_context=True)
def practice_campaigns_card(context, practice):
    request = context["request"]
    rows = [
        {
            "enrollment": enrollment,
            "campaign": enrollment.campaign,
            "task": enrollment.open_tasks[0] if enrollment.open_tasks else None,
            "percent": progress_percent(enrollment.steps_done, enrollment.step_count),
        }
        for enrollment in practice_campaigns(practice=practice)
    ]
    return {
        "request": request,
        "current_spa": request.spa,
        "practice": practice,
        "rows": rows,
        "today": spa_today(request.spa),
    }
