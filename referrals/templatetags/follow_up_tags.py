"""The patients' rating of the spa on a referring practice's page (partners must not import referrals)."""

from django import template

from ..followup.selectors import practice_rating

register = template.Library()


@register.inclusion_tag("followup/practice_rating.html", takes_context=True)
def practice_rating_card(context, practice):
    request = context["request"]
    return {"practice": practice, "rating": practice_rating(spa=request.spa, practice=practice)}
