"""Writes for spas, teams and audit. Every function is keyword-only and atomic."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from infra.audit import audit_record
from infra.outbox import email_enqueue

from . import dependents
from .models import Invitation, Membership, Role, Spa


@transaction.atomic
def spa_create(*, owner, name, slug, timezone_name, **details):
    """Create a spa and make ``owner`` its first owner."""
    spa = Spa(name=name, slug=slug, timezone=timezone_name, **details)
    spa.full_clean()
    spa.save()
    with scope(spa=spa):
        Membership.objects.create(spa=spa, user=owner, role=Role.OWNER)
        audit_record(spa=spa, action="spa.created", actor=owner, obj=spa)
    return spa


@transaction.atomic
def spa_update(*, spa, actor, **fields):
    new_timezone = "timezone" in fields and fields["timezone"] != spa.timezone
    for name, value in fields.items():
        setattr(spa, name, value)
    spa.full_clean()
    # Days and months are the spa's: a new time zone moves the referral figures' (spas/dependents.py).
    with dependents.changing(spa=spa, timezone=new_timezone):
        spa.save(update_fields=list(fields))
    # Partner health counts days on the spa's calendar too (spas/dependents.py).
    dependents.practices_changed(spa=spa, every_practice=new_timezone)
    audit_record(spa=spa, action="spa.updated", actor=actor, obj=spa, detail={"fields": sorted(fields)})
    return spa


@transaction.atomic
def invitation_create(*, spa, email, role, invited_by):
    """Invite ``email`` to the spa and email them a link (through the outbox)."""
    email = email.strip().lower()
    if Membership.objects.filter(spa=spa, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member of the team.")})
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    # A fresh invitation replaces any pending one for the same address.
    for replaced in Invitation.objects.filter(spa=spa, email__iexact=email, accepted_at=None, revoked_at=None):
        replaced.revoked_at = timezone.now()
        replaced.save(update_fields=["revoked_at"])
        audit_record(spa=spa, action="invitation.replaced", actor=invited_by, obj=replaced)
    invitation = Invitation(spa=spa, email=email, role=role, invited_by=invited_by)
    invitation.full_clean()
    invitation.save()
    email_enqueue(
        spa=spa,
        to=email,
        template_name="invitation",
        context={
            "spa": spa,
            "inviter": invited_by,
            "role": invitation.get_role_display(),
            "accept_url": settings.SITE_URL + reverse("invitation_accept", args=[invitation.token]),
            "expires_at": invitation.expires_at,
        },
    )
    audit_record(
        spa=spa,
        action="invitation.created",
        actor=invited_by,
        obj=invitation,
        detail={"email": email, "role": role},
    )
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation, actor):
    if not invitation.is_pending:
        raise ValidationError(_("This invitation is no longer pending."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(spa=invitation.spa, action="invitation.revoked", actor=actor, obj=invitation)
    return invitation


def invitation_by_token(token):
    """The invitation behind a link, whatever spa it belongs to (the token is the secret)."""
    with scopes_disabled():
        return Invitation.objects.select_related("spa", "invited_by").filter(token=token).first()


@transaction.atomic
def invitation_accept(*, invitation, user):
    """Join the spa. The signed-in user's email must be the invited address."""
    with scopes_disabled():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != "pending":
        raise ValidationError(_("This invitation is %(state)s.") % {"state": invitation.state})
    if user.email.lower() != invitation.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    spa = invitation.spa
    with scope(spa=spa):
        membership, created = Membership.objects.get_or_create(spa=spa, user=user, defaults={"role": invitation.role})
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(spa=spa, action="invitation.accepted", actor=user, obj=invitation)
    return membership


def _owner_count(spa):
    return Membership.objects.filter(spa=spa, role=Role.OWNER).count()


@transaction.atomic
def membership_change_role(*, membership, role, actor):
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a valid role.")})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    # Lock every owner row so two owners cannot demote each other at once.
    list(Membership.objects.select_for_update().filter(spa=membership.spa, role=Role.OWNER))
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.spa) <= 1:
        raise ValidationError(_("A spa needs at least one owner. Make someone else an owner first."))
    previous = membership.role
    if previous == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        spa=membership.spa,
        action="membership.role_changed",
        actor=actor,
        obj=membership,
        detail={"from": previous, "to": role, "user": membership.user.email},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership, actor):
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    list(Membership.objects.select_for_update().filter(spa=membership.spa, role=Role.OWNER))
    if membership.role == Role.OWNER and _owner_count(membership.spa) <= 1:
        raise ValidationError(_("The last owner cannot be removed."))
    audit_record(
        spa=membership.spa,
        action="membership.removed",
        actor=actor,
        obj=membership,
        detail={"user": membership.user.email, "role": membership.role},
    )
    membership.delete()
