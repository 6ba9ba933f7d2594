"""The practice page's objections card: the latest objections raised there and the form to log one."""

from django import template

register = template.Library()


@register.inclusion_tag("outreach/objections/practice_panel.html", takes_context=True)
def practice_objections(context, practice):
    from ..objection_views import practice_panel_context

    panel = practice_panel_context(context["request"], practice)
    panel["csrf_token"] = context.get("csrf_token")
    return panel
