"""The "Referrals" card on a practice's page (partners must not import referrals: its template calls this)."""

from django import template

from ..practice_referrals import practice_referrals

register = template.Library()


@register.inclusion_tag("referrals/partials/practice_referrals.html", takes_context=True)
def practice_referrals_card(context, practice):
    request = context["request"]
    return {
        "request": request,
        "current_spa": request.spa,
        "practice": practice,
        "referrals": practice_referrals(spa=request.spa, practice=practice),
    }
