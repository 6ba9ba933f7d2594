"""Views of the workspace itself: choosing and creating a spa, its settings and its team."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infra.forms import apply_validation_error

from . import selectors, services
from .forms import InvitationForm, RoleForm, SpaForm, SpaSettingsForm
from .models import Invitation, Membership, Role, Spa
from .tenancy import requires_role


@login_required
def spa_choose(request):
    return render(request, "spas/choose.html", {"memberships": selectors.memberships_for_user(request.user)})


@login_required
def spa_create(request):
    form = SpaForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            spa = services.spa_create(
                owner=request.user,
                name=data.pop("name"),
                slug=data.pop("slug"),
                timezone_name=data.pop("timezone"),
                **data,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Welcome to %(spa)s. You are its owner.") % {"spa": spa.name})
            return redirect("insights:dashboard", spa_slug=spa.slug)
    return render(request, "spas/spa_form.html", {"form": form}, status=400 if form.errors else 200)


@requires_role(Role.OWNER)
def spa_settings(request, spa_slug):
    spa = request.spa
    form = SpaSettingsForm(request.POST or None, request.FILES or None, instance=spa)
    if request.method == "POST":
        if form.is_valid():
            changed = {name: form.cleaned_data[name] for name in form.changed_data}
            if changed.get("logo") is False:
                # "Clear" on a file input arrives as False; the model stores "no file" as "".
                changed["logo"] = ""
            try:
                if changed:
                    services.spa_update(spa=Spa.objects.get(pk=spa.pk), actor=request.user, **changed)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("spas:settings", spa_slug=spa.slug)
        # A failed ModelForm validation has already written the bad values onto the instance; reload it.
        request.spa.refresh_from_db()
    return render(request, "spas/settings.html", {"form": form}, status=400 if form.errors else 200)


def _sole_owner_id(members):
    owners = [member.pk for member in members if member.role == Role.OWNER]
    return owners[0] if len(owners) == 1 else None


def team(request, spa_slug, invite_form=None, status=200):
    spa = request.spa
    members = list(selectors.team_members(spa=spa))
    context = {
        "members": members,
        # The only owner cannot be removed (spas.services.membership_remove refuses it): say so on the page.
        "sole_owner_id": _sole_owner_id(members),
        "invitations": selectors.pending_invitations(spa=spa),
        "invite_form": invite_form or InvitationForm(),
        "role_choices": Role.choices,
        "is_owner": request.membership.role == Role.OWNER,
    }
    return render(request, "spas/team.html", context, status=status)


@require_POST
@requires_role(Role.OWNER)
def team_invite(request, spa_slug):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.invitation_create(
                spa=request.spa,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                invited_by=request.user,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("spas:team", spa_slug=spa_slug)
    return team(request, spa_slug, invite_form=form, status=400)


@require_POST
@requires_role(Role.OWNER)
def member_role(request, spa_slug, member_id):
    membership = get_object_or_404(Membership, spa=request.spa, public_id=member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("spas:team", spa_slug=spa_slug)
    try:
        # The service works on a freshly locked copy; report the role it saved, not the one we read.
        membership = services.membership_change_role(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(person)s is now %(role)s.")
            % {"person": membership.user.display_name, "role": membership.get_role_display()},
        )
    return redirect("spas:team", spa_slug=spa_slug)


@require_POST
@requires_role(Role.OWNER)
def member_remove(request, spa_slug, member_id):
    membership = get_object_or_404(Membership.objects.select_related("user"), spa=request.spa, public_id=member_id)
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("spas:team", spa_slug=spa_slug)
    messages.success(request, _("%(person)s was removed from the team.") % {"person": membership.user.display_name})
    if membership.user_id == request.user.pk:
        return redirect("home")
    return redirect("spas:team", spa_slug=spa_slug)


@require_POST
@requires_role(Role.OWNER)
def invitation_revoke(request, spa_slug, invitation_id):
    invitation = get_object_or_404(Invitation, spa=request.spa, public_id=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    return redirect("spas:team", spa_slug=spa_slug)


def invitation_accept(request, token):
    """The link in an invitation email. Anyone may look; only the invited address may accept."""
    invitation = services.invitation_by_token(token)
    if invitation is None:
        raise Http404("No such invitation.")
    error = None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as validation_error:
            error = " ".join(validation_error.messages)
        else:
            messages.success(request, _("You joined %(spa)s.") % {"spa": invitation.spa.name})
            return redirect("insights:dashboard", spa_slug=invitation.spa.slug)
    return render(
        request,
        "spas/invitation.html",
        {
            "invitation": invitation,
            "error": error,
            "email_matches": request.user.is_authenticated and request.user.email.lower() == invitation.email.lower(),
        },
        status=400 if error else 200,
    )


def spa_logo(request, public_id):
    """The spa's logo, public because landing pages and documents show it."""
    spa = get_object_or_404(Spa, public_id=public_id)
    if not spa.logo:
        raise Http404("No logo.")
    try:
        handle = spa.logo.open("rb")
    except FileNotFoundError as missing:
        raise Http404("No logo.") from missing
    response = FileResponse(handle)
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
