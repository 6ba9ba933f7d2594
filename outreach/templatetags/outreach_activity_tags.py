"""The practice page's activity card (quick-log + timeline) and playbook card, and icons for task and
touchpoint kinds. The partners app never imports outreach: its template includes outreach's partials."""

from django import template
from django_scopes import scope

from ..activity.playbook import playbook_progress
from ..activity.views import activity_card_context

register = template.Library()

KIND_ICONS = {
    "client_introduction": "person-heart",
    "networking_event": "diagram-3",
    "continuing_education": "mortarboard",
    "letter": "envelope",
    "phone_call": "telephone",
    "email": "at",
    "meeting": "people",
    "lunch_presentation": "easel",
    "staff_service": "stars",
    "open_house": "door-open",
    "check_in": "arrow-repeat",
    "thank_you_note": "heart",
    "gift": "gift",
    "fresh_approach": "arrow-clockwise",
    "follow_up": "flag",
}


@register.filter
def kind_icon(kind):
    """The bootstrap-icons name for a task or touchpoint kind."""
    return KIND_ICONS.get(kind, "check2-square")


@register.inclusion_tag("outreach/partials/activity_card.html", takes_context=True)
def practice_activity(context, practice):
    request = context["request"]
    with scope(spa=request.spa):
        return {**activity_card_context(request, practice), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("outreach/partials/playbook_card.html", takes_context=True)
def practice_playbook(context, practice):
    request = context["request"]
    return {
        "practice": practice,
        "steps": playbook_progress(spa=request.spa, practice=practice),
        "current_spa": request.spa,
        "csrf_token": context.get("csrf_token"),
    }
