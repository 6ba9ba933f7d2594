"""Audit events: append-only, complete (who, what, which object, where from), one per team change."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.audit import AuditOrigin, audit_origin, audit_record
from infra.models import AuditEvent
from spas.models import Invitation, Membership, Role

from ..factories import InvitationFactory, MembershipFactory, UserFactory

CLIENT_IP = "203.0.113.7"


def _events(spa):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(spa=spa).order_by("id"))


def _membership(spa, user):
    with scopes_disabled():
        return Membership.objects.get(spa=spa, user=user)


@pytest.fixture
def event(spa, owner):
    with scope(spa=spa):
        return audit_record(spa=spa, action="test.happened", actor=owner)


# --- append-only --------------------------------------------------------------------------------


def test_an_audit_event_cannot_be_changed(event):
    event.action = "test.rewritten"

    with pytest.raises(ValidationError):
        event.save()

    with scopes_disabled():
        assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_an_audit_event_cannot_be_deleted(event):
    with pytest.raises(ValidationError):
        event.delete()

    with scopes_disabled():
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_reloaded_audit_event_cannot_be_changed_either(spa, event):
    with scope(spa=spa):
        reloaded = AuditEvent.objects.get(pk=event.pk)
        reloaded.detail = {"tampered": True}

        with pytest.raises(ValidationError):
            reloaded.save(update_fields=["detail"])

        assert AuditEvent.objects.get(pk=event.pk).detail == {}


def test_audit_events_are_scoped_to_their_spa(spa, other_spa, event):
    with scope(spa=other_spa):
        assert not AuditEvent.objects.filter(pk=event.pk).exists()
    with scope(spa=spa):
        assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- what a record holds ------------------------------------------------------------------------


def test_audit_record_stores_actor_spa_action_object_and_ip(spa, owner, staff_user):
    request = RequestFactory().post("/somewhere", REMOTE_ADDR=CLIENT_IP)
    request.user = owner
    membership = _membership(spa, staff_user)

    with audit_origin(AuditOrigin(request)), scope(spa=spa):
        audit_record(spa=spa, action="membership.poked", obj=membership, detail={"why": "test"})

    [stored] = _events(spa)
    assert stored.spa == spa
    assert stored.actor == owner
    assert stored.action == "membership.poked"
    assert stored.object_type == "spas.membership"
    assert stored.object_id == str(membership.public_id)
    assert stored.ip_address == CLIENT_IP
    assert stored.detail == {"why": "test"}
    assert stored.created_at is not None


def test_audit_record_takes_an_explicit_object_type_and_id(spa):
    with scope(spa=spa):
        audit_record(spa=spa, action="referral.viewed", object_type="referrals.referral", object_id=42)

    [stored] = _events(spa)
    assert (stored.object_type, stored.object_id) == ("referrals.referral", "42")


def test_audit_record_of_a_non_user_keeps_a_label_and_no_actor(spa):
    request = RequestFactory().post("/r/abc", REMOTE_ADDR="198.51.100.9")
    request.user = AnonymousUser()

    with audit_origin(AuditOrigin(request)), scope(spa=spa):
        audit_record(spa=spa, action="referral.self_submitted", actor_label="patient via landing page")

    [stored] = _events(spa)
    assert stored.actor is None
    assert stored.actor_label == "patient via landing page"
    assert stored.ip_address == "198.51.100.9"


def test_audit_record_without_a_request_has_no_ip(spa, owner):
    with scope(spa=spa):
        audit_record(spa=spa, action="system.job", actor=owner)

    [stored] = _events(spa)
    assert stored.ip_address is None
    assert stored.actor == owner


def test_a_view_records_the_callers_ip(owner_client, spa, owner):
    owner_client.post(
        reverse("spas:team_invite", args=[spa.slug]),
        {"email": "newhire@example.com", "role": Role.STAFF},
        REMOTE_ADDR=CLIENT_IP,
    )

    [stored] = _events(spa)
    assert stored.ip_address == CLIENT_IP
    assert stored.actor == owner


# --- one event per team change ------------------------------------------------------------------


def test_an_invitation_writes_exactly_one_event(owner_client, spa, owner):
    owner_client.post(reverse("spas:team_invite", args=[spa.slug]), {"email": "newhire@example.com", "role": "manager"})

    [stored] = _events(spa)
    with scopes_disabled():
        invitation = Invitation.objects.get()
    assert stored.action == "invitation.created"
    assert stored.actor == owner
    assert stored.object_type == "spas.invitation"
    assert stored.object_id == str(invitation.public_id)
    assert stored.detail == {"email": "newhire@example.com", "role": "manager"}


def test_revoking_an_invitation_writes_exactly_one_event(owner_client, spa, owner):
    invitation = InvitationFactory(spa=spa, invited_by=owner)

    owner_client.post(reverse("spas:invitation_revoke", args=[spa.slug, invitation.public_id]))

    [stored] = _events(spa)
    assert stored.action == "invitation.revoked"
    assert stored.actor == owner
    assert stored.object_id == str(invitation.public_id)


def test_accepting_an_invitation_writes_exactly_one_event(client_for, spa, owner):
    invitation = InvitationFactory(spa=spa, email="newhire@example.com", invited_by=owner)
    newhire = UserFactory(email="newhire@example.com")

    client_for(newhire).post(reverse("invitation_accept", args=[invitation.token]), REMOTE_ADDR=CLIENT_IP)

    [stored] = _events(spa)
    assert stored.action == "invitation.accepted"
    assert stored.actor == newhire
    assert stored.object_id == str(invitation.public_id)
    assert stored.ip_address == CLIENT_IP


def test_a_role_change_writes_exactly_one_event(owner_client, spa, owner, staff_user):
    membership = _membership(spa, staff_user)

    owner_client.post(reverse("spas:member_role", args=[spa.slug, membership.public_id]), {"role": "manager"})

    [stored] = _events(spa)
    assert stored.action == "membership.role_changed"
    assert stored.actor == owner
    assert stored.object_id == str(membership.public_id)
    assert stored.detail == {"from": "staff", "to": "manager", "user": "staff@serene.example"}


def test_removing_a_member_writes_exactly_one_event_that_outlives_the_membership(owner_client, spa, owner, staff_user):
    membership = _membership(spa, staff_user)

    owner_client.post(reverse("spas:member_remove", args=[spa.slug, membership.public_id]))

    [stored] = _events(spa)
    assert stored.action == "membership.removed"
    assert stored.actor == owner
    assert stored.object_id == str(membership.public_id)
    assert stored.detail == {"user": "staff@serene.example", "role": "staff"}
    with scopes_disabled():
        assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_refused_team_change_writes_no_event(owner_client, spa, owner):
    membership = _membership(spa, owner)

    owner_client.post(reverse("spas:member_role", args=[spa.slug, membership.public_id]), {"role": "staff"})
    owner_client.post(reverse("spas:member_remove", args=[spa.slug, membership.public_id]))
    owner_client.post(reverse("spas:team_invite", args=[spa.slug]), {"email": "bad", "role": "staff"})

    assert _events(spa) == []


def test_a_forbidden_team_change_writes_no_event(staff_client, spa, owner):
    membership = _membership(spa, owner)

    staff_client.post(reverse("spas:member_role", args=[spa.slug, membership.public_id]), {"role": "staff"})
    staff_client.post(reverse("spas:team_invite", args=[spa.slug]), {"email": "x@example.com", "role": "owner"})

    assert _events(spa) == []


def test_team_events_land_in_their_own_spa_only(owner_client, spa, other_spa, outsider):
    staff = MembershipFactory(spa=spa, role=Role.STAFF)

    owner_client.post(reverse("spas:member_role", args=[spa.slug, staff.public_id]), {"role": "manager"})

    assert [e.action for e in _events(spa)] == ["membership.role_changed"]
    assert _events(other_spa) == []
