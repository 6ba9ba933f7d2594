"""Writes for the partner portal's people: inviting clinic staff, accepting, revoking. Keyword-only, atomic."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from infra.audit import audit_record
from infra.outbox import email_enqueue
from spas.models import Membership, Role

from .. import figures
from ..consent.services import authorization_create
from ..models import (
    WITHDRAWABLE_STATUSES,
    Authorization,
    Channel,
    ConsentMethod,
    PortalAccess,
    PortalInvitation,
    Referral,
    ReferralEvent,
    Status,
)
from ..services import referral_change_save, referral_create, referral_event_record, staff_recipients

PRACTICE_NOTE_MAX_LENGTH = 2000


def _check_can_manage(spa, actor):
    membership = Membership.objects.filter(spa=spa, user=actor).first() if actor.is_authenticated else None
    if membership is None or not membership.has_role(Role.MANAGER):
        raise ValidationError(_("Only the spa's owners and managers can manage portal access."))


def _invitee_account(email):
    """The account the invited person signs in with, created (without a password) if they have none.

    Clinic staff sign in with a one-time code emailed to the invited address; allauth only sends codes to
    addresses that have an account, so the account exists from the invitation on. Entering the code
    verifies the address. They may set a password later.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model.objects.create_user(email=email, password=None)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user


@transaction.atomic
def portal_invitation_create(*, spa, practice, email, invited_by):
    """Invite ``email`` to the spa's partner portal for ``practice`` and email them the link (through the outbox)."""
    _check_can_manage(spa, invited_by)
    if practice.spa_id != spa.pk:
        raise ValidationError(_("Unknown practice."))
    email = (email or "").strip().lower()
    if PortalAccess.objects.filter(spa=spa, practice=practice, user__email__iexact=email, revoked_at=None).exists():
        raise ValidationError({"email": _("This person can already use the portal for this practice.")})
    # A fresh invitation replaces any pending one for the same address in this spa.
    now = timezone.now()
    for replaced in PortalInvitation.objects.filter(spa=spa, email__iexact=email, accepted_at=None, revoked_at=None):
        replaced.revoked_at = now
        replaced.save(update_fields=["revoked_at"])
        audit_record(spa=spa, action="portal_invitation.replaced", actor=invited_by, obj=replaced)
    invitation = PortalInvitation(spa=spa, practice=practice, email=email, invited_by=invited_by)
    invitation.full_clean()
    invitation.save()
    _invitee_account(email)
    email_enqueue(
        spa=spa,
        to=email,
        template_name="portal-invitation",
        context={
            "spa": spa,
            "practice": practice,
            "inviter": invited_by,
            "accept_url": settings.SITE_URL + reverse("public:portal_invitation", args=[invitation.token]),
            "expires_at": invitation.expires_at,
        },
    )
    audit_record(
        spa=spa,
        action="portal_invitation.created",
        actor=invited_by,
        obj=invitation,
        detail={"email": email, "practice": str(practice.public_id)},
    )
    return invitation


def portal_invitation_by_token(token):
    """The invitation behind a link, whatever spa it belongs to (the token is the secret)."""
    with scopes_disabled():
        return (
            PortalInvitation.objects.select_related("spa", "practice", "invited_by").filter(token=token or "").first()
        )


@transaction.atomic
def portal_invitation_accept(*, invitation, user):
    """Give the signed-in user portal access for the invited practice. Their email must be the invited address.

    A person has one practice per spa: accepting an invitation for another practice of the same spa
    moves their access there (the spa chose to invite them), and a revoked access comes back.
    """
    with scopes_disabled():
        invitation = (
            PortalInvitation.objects.select_for_update().select_related("spa", "practice").get(pk=invitation.pk)
        )
    if invitation.state != "pending":
        raise ValidationError(_("This invitation is %(state)s.") % {"state": invitation.state})
    if not user.is_authenticated or user.email.lower() != invitation.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    spa = invitation.spa
    with scope(spa=spa):
        access = PortalAccess.objects.select_for_update().filter(spa=spa, user=user).first()
        previous_practice = None
        if access is None:
            access = PortalAccess(spa=spa, practice=invitation.practice, user=user)
            access.full_clean()
            access.save()
        else:
            if access.revoked_at is None and access.practice_id != invitation.practice_id:
                previous_practice = str(access.practice.public_id)
            access.practice = invitation.practice
            access.revoked_at = None
            access.save(update_fields=["practice", "revoked_at"])
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        detail = {"practice": str(invitation.practice.public_id)}
        if previous_practice:
            detail["moved_from_practice"] = previous_practice
        audit_record(spa=spa, action="portal_invitation.accepted", actor=user, obj=invitation, detail=detail)
    return access


@transaction.atomic
def portal_invitation_revoke(*, invitation, actor):
    """Withdraw a pending portal invitation; its link stops working."""
    _check_can_manage(invitation.spa, actor)
    if invitation.state != "pending":
        raise ValidationError(_("This invitation is no longer pending."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(spa=invitation.spa, action="portal_invitation.revoked", actor=actor, obj=invitation)
    return invitation


@transaction.atomic
def portal_access_revoke(*, access, actor):
    """End a person's portal access; their next portal request answers 404."""
    _check_can_manage(access.spa, actor)
    access = PortalAccess.objects.select_for_update().select_related("user").get(pk=access.pk)
    if access.revoked_at is not None:
        raise ValidationError(_("This access was already revoked."))
    access.revoked_at = timezone.now()
    access.save(update_fields=["revoked_at"])
    audit_record(
        spa=access.spa,
        action="portal_access.revoked",
        actor=actor,
        obj=access,
        detail={"user": access.user.email, "practice": str(access.practice.public_id)},
    )
    return access


@transaction.atomic
def portal_referral_create(
    *,
    access,
    patient,
    details,
    services=(),
    clinician=None,
    patient_agreed,
    sharing_authorization=None,
    request=None,
):
    """A referral sent by clinic staff through the portal, with their attestation that the patient agreed.

    The attestation names who made it and for which practice, so the spa can show where consent came from.
    ``sharing_authorization`` is (signer name, uploaded signed form) when the clinic attests that the patient
    also signed the authorization to share outcomes.
    """
    if not patient_agreed:
        raise ValidationError({"patient_agreed": _("Confirm that the patient agreed to be contacted before sending.")})
    user = access.user
    practice = access.practice
    staff_label = _staff_label(access)
    referral = referral_create(
        spa=access.spa,
        practice=practice,
        clinician=clinician,
        channel=Channel.PORTAL,
        patient=patient,
        details=details,
        services=services,
        consent_method=ConsentMethod.CLINIC_ATTESTATION,
        consent_captured_by=f"Attested in the partner portal by {staff_label}",
        created_by=user,
        created_by_label=staff_label,
    )
    if sharing_authorization is not None:
        signer_name, signed_form = sharing_authorization
        authorization_create(
            referral=referral,
            signature_method=Authorization.SignatureMethod.CLINIC_ATTESTATION,
            signer_name=signer_name,
            allows_outcome_sharing=True,
            signed_form=signed_form,
            recorded_by=user,
            recorded_by_label=f"Attested in the partner portal by {staff_label}",
            request=request,
        )
    if clinician is not None and access.last_clinician_id != clinician.pk:
        # The form starts with this clinician next time.
        access.last_clinician = clinician
        access.save(update_fields=["last_clinician"])
    return referral


def _staff_label(access):
    return f"{access.user.display_name} <{access.user.email}>, {access.practice.name}"


def _practice_referral_locked(*, access, referral):
    """Re-read the practice's own referral under a row lock (another practice's referral is not there)."""
    current = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("spa", "practice", "assignee")
        .filter(pk=referral.pk, spa=access.spa, practice=access.practice)
        .first()
    )
    if current is None:
        raise ValidationError(_("Unknown referral."))
    return current


def _notify_practice_update(referral, *, access, withdrawn):
    """Tell the assignee (or the owners) through the outbox: who and which practice, nothing about the patient."""
    url = settings.SITE_URL + reverse("referrals:detail", args=[referral.spa.slug, referral.public_id])
    for address in staff_recipients(referral):
        email_enqueue(
            spa=referral.spa,
            to=address,
            template_name="referral-practice-update",
            context={
                "spa": referral.spa,
                "practice": referral.practice,
                "who": access.user.display_name,
                "withdrawn": withdrawn,
                "url": url,
            },
        )


@transaction.atomic
def portal_referral_add_information(*, access, referral, text):
    """Information the clinic adds to a referral it sent: appended to its timeline, where the spa and the
    practice see it. The spa is told by email."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write what you want to add first.")})
    if len(text) > PRACTICE_NOTE_MAX_LENGTH:
        raise ValidationError({"text": _("Keep it under %(limit)s characters.") % {"limit": PRACTICE_NOTE_MAX_LENGTH}})
    referral = _practice_referral_locked(access=access, referral=referral)
    if referral.health_fields_purged_at:
        raise ValidationError(_("This referral's details were erased; call the spa instead."))
    if referral.status == Status.WITHDRAWN:
        raise ValidationError(_("You withdrew this referral. Send a new one if the patient still wants to come."))
    event = referral_event_record(
        referral,
        access.user,
        kind=ReferralEvent.Kind.PRACTICE_NOTE,
        note=text,
        actor_label=_staff_label(access),
    )
    audit_record(
        spa=referral.spa,
        action="referral.practice_information_added",
        actor=access.user,
        actor_label=_staff_label(access),
        obj=referral,
        detail={"practice": str(referral.practice.public_id), "via": "portal"},
    )
    _notify_practice_update(referral, access=access, withdrawn=False)
    return event


@transaction.atomic
def portal_referral_withdraw(*, access, referral, reason=""):
    """The clinic takes back a referral the spa has not accepted yet: it closes as withdrawn (not declined,
    not lost by the spa), the timeline and the audit log say who did it, and the spa is told by email."""
    referral = _practice_referral_locked(access=access, referral=referral)
    if referral.status not in WITHDRAWABLE_STATUSES:
        raise ValidationError(
            _("%(spa)s has already accepted this referral; call them to stop it.") % {"spa": referral.spa.name}
        )
    reason = (reason or "").strip()[:255]
    before = figures.snapshot(referral)
    previous = referral.status
    referral.status = Status.WITHDRAWN
    referral.closed_at = timezone.now()
    referral_change_save(referral, ["status", "closed_at"], before=before)
    referral_event_record(
        referral,
        access.user,
        kind=ReferralEvent.Kind.STATUS,
        from_status=previous,
        to_status=Status.WITHDRAWN,
        note=reason,
        actor_label=_staff_label(access),
    )
    audit_record(
        spa=referral.spa,
        action="referral.withdrawn_by_practice",
        actor=access.user,
        actor_label=_staff_label(access),
        obj=referral,
        detail={"from": previous, "to": Status.WITHDRAWN, "practice": str(referral.practice.public_id)},
    )
    _notify_practice_update(referral, access=access, withdrawn=True)
    return referral
