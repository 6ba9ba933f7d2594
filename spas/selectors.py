"""Reads for spas and teams."""

from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from .models import Invitation, Membership


def memberships_for_user(user):
    """Every spa the user belongs to, for the switcher. Crosses tenants on purpose: it is the user's own list."""
    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(Membership.objects.filter(user=user).select_related("spa").order_by("spa__name"))


def team_members(*, spa):
    return Membership.objects.filter(spa=spa).select_related("user").order_by("user__email")


def pending_invitations(*, spa):
    return [
        invitation
        for invitation in Invitation.objects.filter(spa=spa, accepted_at=None, revoked_at=None).select_related(
            "invited_by"
        )
        if invitation.is_pending
    ]


def getting_started(spa, members):
    """The first-run checklist the dashboard shows until done: logo and colour, a referral email or phone, a team."""
    return [
        {"done": bool(spa.logo), "label": _("Add your logo and brand colour"), "url": "spas:settings"},
        {
            "done": bool(spa.referral_email or spa.referral_phone),
            "label": _("Set a dedicated referral email or phone"),
            "url": "spas:settings",
        },
        {"done": len(members) > 1, "label": _("Invite your team"), "url": "spas:team"},
    ]
