"""The "Referral pad" panel on a practice's page. partners must not import referrals, so the practice page
includes a template that calls this tag."""

from django import template

from ..pads.forms import ReferralPadForm

register = template.Library()


@register.inclusion_tag("pads/panel.html", takes_context=True)
def pad_panel(context, practice):
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "current_spa": request.spa,
        "practice": practice,
        "form": ReferralPadForm(practice=practice, auto_id="pad_%s"),
    }
