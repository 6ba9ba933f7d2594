"""Workspace views for the "Partner portal" panel on a practice's page (owners and managers act; staff look).

The objects to revoke travel in the POST body, not the address: the panel's buttons are small forms.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error
from partners.models import Practice
from spas.models import Role
from spas.tenancy import requires_role

from ..models import PortalAccess, PortalInvitation
from . import services
from .forms import PortalInvitationForm


def _practice_or_404(request, practice_id):
    practice = Practice.objects.filter(spa=request.spa, public_id=practice_id).first()
    if practice is None:
        raise Http404("No such practice.")
    return practice


def _back_to_practice(spa_slug, practice):
    return redirect(reverse("partners:detail", args=[spa_slug, practice.public_id]) + "#partner-portal")


def _object_or_404(model, request, practice, field):
    """The access or invitation named in the POST body, if it belongs to this practice of this spa."""
    public_id = request.POST.get(field, "")
    try:
        found = model.objects.filter(spa=request.spa, practice=practice, public_id=public_id).first()
    except ValidationError:  # not a UUID
        found = None
    if found is None:
        raise Http404("Not found.")
    return found


@require_POST
@requires_role(Role.MANAGER)
def portal_invite(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    form = PortalInvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.portal_invitation_create(
                spa=request.spa,
                practice=practice,
                email=form.cleaned_data["email"],
                invited_by=request.user,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Portal invitation sent to %(email)s.") % {"email": invitation.email})
            return _back_to_practice(spa_slug, practice)
    return render(request, "portal_admin/invite.html", {"practice": practice, "form": form}, status=400)


@require_POST
@requires_role(Role.MANAGER)
def portal_access_revoke(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    access = _object_or_404(PortalAccess, request, practice, "access")
    try:
        access = services.portal_access_revoke(access=access, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(email)s can no longer use the portal.") % {"email": access.user.email})
    return _back_to_practice(spa_slug, practice)


@require_POST
@requires_role(Role.MANAGER)
def portal_invitation_revoke(request, spa_slug, practice_id):
    practice = _practice_or_404(request, practice_id)
    invitation = _object_or_404(PortalInvitation, request, practice, "invitation")
    try:
        services.portal_invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return _back_to_practice(spa_slug, practice)
