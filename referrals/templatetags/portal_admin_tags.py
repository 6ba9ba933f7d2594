"""The "Partner portal" panel on a practice's page. partners (a lower app) must not import referrals, so the
practice page includes a template that calls this tag; it reads the panel's data in two queries."""

from django import template

from spas.models import Role

from ..portal.forms import PortalInvitationForm
from ..portal.selectors import practice_pending_portal_invitations, practice_portal_accesses

register = template.Library()


@register.inclusion_tag("portal_admin/panel.html", takes_context=True)
def portal_panel(context, practice):
    request = context["request"]
    membership = getattr(request, "membership", None)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "current_spa": request.spa,
        "practice": practice,
        "accesses": list(practice_portal_accesses(spa=request.spa, practice=practice)),
        "invitations": practice_pending_portal_invitations(spa=request.spa, practice=practice),
        "can_manage": membership is not None and membership.has_role(Role.MANAGER),
        "invite_form": PortalInvitationForm(),
    }
