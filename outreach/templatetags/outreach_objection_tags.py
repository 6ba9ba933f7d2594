"""The practice page's objections card: the latest objections raised there and the form to log one."""

from django import template

from ..objections.views import practice_panel_context

register = template.Library()


@register.inclusion_tag("outreach/objections/practice_panel.html", takes_context=True)
def practice_objections(context, practice):
    panel = practice_panel_context(context["request"], practice)
    panel["csrf_token"] = context.get("csrf_token")
    return panel
