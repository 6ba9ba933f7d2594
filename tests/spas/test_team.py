"""The team: invitations, accepting them, roles, removal, and moving between spas."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from spas.models import Invitation, Membership, Role
from tests.rendered_emails import rendered

from ..factories import InvitationFactory, MembershipFactory, UserFactory


def field_error(response, field):
    match = re.search(
        rf'<div class="invalid-feedback[^"]*" id="id_{field}_error"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    return html.unescape(match.group(1)) if match else None


def messages_on(response):
    return [
        html.unescape(m.strip())
        for m in re.findall(r'<div class="alert[^"]*" role="alert">\s*(.*?)\s*<button', response.content.decode(), re.S)
    ]


def _invite_url(spa):
    return reverse("spas:team_invite", args=[spa.slug])


def _role_url(spa, membership):
    return reverse("spas:member_role", args=[spa.slug, membership.public_id])


def _remove_url(spa, membership):
    return reverse("spas:member_remove", args=[spa.slug, membership.public_id])


def _membership(spa, user):
    with scopes_disabled():
        return Membership.objects.get(spa=spa, user=user)


def _invitations():
    with scopes_disabled():
        return list(Invitation.objects.all())


def _roles(spa):
    with scopes_disabled():
        return dict(Membership.objects.filter(spa=spa).values_list("user__email", "role"))


@pytest.fixture
def invitation(spa, owner):
    return InvitationFactory(spa=spa, email="newhire@example.com", role=Role.MANAGER, invited_by=owner)


# --- the team page ------------------------------------------------------------------------------


def test_the_team_page_lists_the_members(owner_client, spa, owner, staff_user):
    response = owner_client.get(reverse("spas:team", args=[spa.slug]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-member="owner@serene.example"' in page
    assert 'data-member="staff@serene.example"' in page
    assert "Send invitation" in page


def test_staff_see_the_team_but_not_the_owner_controls(staff_client, spa, owner):
    response = staff_client.get(reverse("spas:team", args=[spa.slug]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-member="owner@serene.example"' in page
    assert "Send invitation" not in page
    assert "Only owners can invite people or change roles." in page


def test_another_spas_owner_gets_404_on_our_team_page(outsider_client, spa):
    assert outsider_client.get(reverse("spas:team", args=[spa.slug])).status_code == 404


def test_the_team_page_does_not_show_other_spas_people(owner_client, spa, outsider):
    page = owner_client.get(reverse("spas:team", args=[spa.slug])).content.decode()

    assert "owner@outsider.example" not in page


# --- inviting -----------------------------------------------------------------------------------


def test_the_owner_invites_someone_by_email_and_role(owner_client, spa, owner, other_spa, outbox_rows):
    response = owner_client.post(_invite_url(spa), {"email": "NewHire@Example.com", "role": Role.MANAGER})

    assert response.status_code == 302
    assert response["Location"] == reverse("spas:team", args=[spa.slug])
    [invitation] = _invitations()
    assert invitation.spa == spa
    assert invitation.email == "newhire@example.com"
    assert invitation.role == Role.MANAGER
    assert invitation.invited_by == owner
    assert invitation.is_pending
    [email] = map(rendered, outbox_rows(to="newhire@example.com"))
    assert email.spa == spa
    assert email.template == "invitation"
    assert "Serene Test Spa" in email.subject
    accept_path = reverse("invitation_accept", args=[invitation.token])
    assert accept_path in email.body_text
    assert accept_path in email.body_html
    assert "Manager" in email.body_text
    for outsiders_data in (other_spa.name, other_spa.slug, "owner@outsider.example"):
        assert outsiders_data not in email.subject + email.body_text + email.body_html


def test_the_invitation_email_is_delivered_to_the_invited_address(owner_client, spa, deliver_outbox):
    owner_client.post(_invite_url(spa), {"email": "newhire@example.com", "role": Role.STAFF})

    [mail] = deliver_outbox()

    assert mail.to == ["newhire@example.com"]
    assert "/invitations/" in mail.body


def test_the_pending_invitation_is_listed_on_the_team_page(owner_client, spa, invitation):
    page = owner_client.get(reverse("spas:team", args=[spa.slug])).content.decode()

    assert "newhire@example.com" in page
    assert reverse("spas:invitation_revoke", args=[spa.slug, invitation.public_id]) in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email", "role": Role.STAFF}, "email", "Enter a valid email address."),
        ({"email": "", "role": Role.STAFF}, "email", "This field is required."),
        ({"email": "newhire@example.com"}, "role", "This field is required."),
        ({"email": "newhire@example.com", "role": "superuser"}, "role", "Select a valid choice."),
    ],
    ids=["bad-email", "missing-email", "missing-role", "unknown-role"],
)
def test_a_bad_invitation_shows_the_error_beside_the_field_and_sends_nothing(
    owner_client, spa, outbox_rows, data, field, message
):
    response = owner_client.post(_invite_url(spa), data)

    assert response.status_code == 400
    assert message in field_error(response, field)
    assert _invitations() == []
    assert outbox_rows() == []


def test_inviting_an_existing_member_is_refused_beside_the_email(owner_client, spa, staff_user, outbox_rows):
    response = owner_client.post(_invite_url(spa), {"email": "STAFF@serene.example", "role": Role.MANAGER})

    assert response.status_code == 400
    assert field_error(response, "email") == "This person is already a member of the team."
    assert _invitations() == []
    assert outbox_rows() == []


def test_someone_in_another_spa_can_be_invited(owner_client, spa, outsider):
    response = owner_client.post(_invite_url(spa), {"email": "owner@outsider.example", "role": Role.STAFF})

    assert response.status_code == 302
    assert [invitation.email for invitation in _invitations()] == ["owner@outsider.example"]


def test_a_fresh_invitation_replaces_the_pending_one_for_the_same_address(owner_client, spa, invitation):
    owner_client.post(_invite_url(spa), {"email": "newhire@example.com", "role": Role.STAFF})

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    with scopes_disabled():
        [pending] = [i for i in Invitation.objects.filter(spa=spa) if i.is_pending]
    assert pending.role == Role.STAFF


@pytest.mark.parametrize("member", ["staff_user", "manager_user"])
def test_only_owners_can_invite(request, client_for, spa, outbox_rows, member):
    client = client_for(request.getfixturevalue(member))

    response = client.post(_invite_url(spa), {"email": "newhire@example.com", "role": Role.OWNER})

    assert response.status_code == 403
    assert _invitations() == []
    assert outbox_rows() == []


def test_another_spas_owner_cannot_invite_into_our_spa(outsider_client, spa, outbox_rows):
    response = outsider_client.post(_invite_url(spa), {"email": "spy@example.com", "role": Role.OWNER})

    assert response.status_code == 404
    assert _invitations() == []
    assert outbox_rows() == []


def test_inviting_needs_a_post(owner_client, spa):
    assert owner_client.get(_invite_url(spa)).status_code == 405


# --- accepting ----------------------------------------------------------------------------------


def _accept_url(invitation):
    return reverse("invitation_accept", args=[invitation.token])


def test_an_anonymous_visitor_is_asked_to_sign_in_to_accept(client, invitation):
    response = client.get(_accept_url(invitation))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Join Serene Test Spa" in page
    assert "Sign in, or create an account with the invited address, to accept." in page
    assert f"{reverse('account_login')}?next={_accept_url(invitation)}" in page
    assert "Accept invitation" not in page


def test_an_anonymous_post_is_sent_to_sign_in_and_joins_nobody(client, spa, invitation):
    response = client.post(_accept_url(invitation))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_user_with_another_email_cannot_accept(client_for, spa, invitation):
    stranger = UserFactory(email="stranger@example.com")
    client = client_for(stranger)

    page = client.get(_accept_url(invitation)).content.decode()
    assert "Sign in as newhire@example.com to accept." in page
    response = client.post(_accept_url(invitation))

    assert response.status_code == 400
    assert "This invitation was sent to newhire@example.com." in html.unescape(response.content.decode())
    with scopes_disabled():
        assert not Membership.objects.filter(user=stranger).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_the_invited_user_accepts_and_joins_with_the_invited_role(client_for, spa, invitation):
    newhire = UserFactory(email="newhire@example.com")
    client = client_for(newhire)
    assert "Accept invitation" in client.get(_accept_url(invitation)).content.decode()

    response = client.post(_accept_url(invitation))

    assert response.status_code == 302
    assert response["Location"] == reverse("insights:dashboard", args=[spa.slug])
    assert _membership(spa, newhire).role == Role.MANAGER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_by == newhire
    assert client.get(reverse("insights:dashboard", args=[spa.slug])).status_code == 200


def test_the_invited_address_matches_whatever_its_case(client_for, spa, invitation):
    newhire = UserFactory(email="NewHire@example.com")

    response = client_for(newhire).post(_accept_url(invitation))

    assert response.status_code == 302
    assert _membership(spa, newhire).role == Role.MANAGER


def test_an_invitation_cannot_be_accepted_twice(client_for, spa, invitation):
    newhire = UserFactory(email="newhire@example.com")
    client = client_for(newhire)
    client.post(_accept_url(invitation))

    response = client.post(_accept_url(invitation))

    assert response.status_code == 400
    assert "This invitation is accepted." in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
        ({"revoked_at": timezone.now()}, "revoked"),
    ],
    ids=["expired", "revoked"],
)
def test_an_expired_or_revoked_invitation_cannot_be_accepted(client_for, spa, invitation, changes, state):
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(**changes)
    newhire = UserFactory(email="newhire@example.com")
    client = client_for(newhire)

    page = client.get(_accept_url(invitation)).content.decode()
    assert f"This invitation is {state}. Ask the spa's owner for a new one." in page
    assert "Accept invitation" not in page
    response = client.post(_accept_url(invitation))

    assert response.status_code == 400
    with scopes_disabled():
        assert not Membership.objects.filter(user=newhire).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_unknown_invitation_token_is_404(client_for, db):
    client = client_for(UserFactory())

    assert client.get(reverse("invitation_accept", args=["no-such-token"])).status_code == 404
    assert client.post(reverse("invitation_accept", args=["no-such-token"])).status_code == 404


# --- revoking -----------------------------------------------------------------------------------


def test_the_owner_revokes_an_invitation(owner_client, spa, invitation):
    response = owner_client.post(reverse("spas:invitation_revoke", args=[spa.slug, invitation.public_id]))

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert invitation.state == "revoked"


def test_an_accepted_invitation_cannot_be_revoked(owner_client, spa, invitation):
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())

    response = owner_client.post(reverse("spas:invitation_revoke", args=[spa.slug, invitation.public_id]), follow=True)

    assert "This invitation is no longer pending." in messages_on(response)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_staff_cannot_revoke_an_invitation(staff_client, spa, invitation):
    response = staff_client.post(reverse("spas:invitation_revoke", args=[spa.slug, invitation.public_id]))

    assert response.status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_an_owner_cannot_revoke_another_spas_invitation(owner_client, spa, other_spa):
    theirs = InvitationFactory(spa=other_spa)

    response = owner_client.post(reverse("spas:invitation_revoke", args=[spa.slug, theirs.public_id]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


# --- roles and removal --------------------------------------------------------------------------


def test_the_owner_changes_a_members_role(owner_client, spa, staff_user):
    membership = _membership(spa, staff_user)

    response = owner_client.post(_role_url(spa, membership), {"role": Role.MANAGER}, follow=True)

    assert "Stacy Staff is now Manager." in messages_on(response)
    assert _membership(spa, staff_user).role == Role.MANAGER


def test_an_invalid_role_changes_nothing(owner_client, spa, staff_user):
    membership = _membership(spa, staff_user)

    response = owner_client.post(_role_url(spa, membership), {"role": "emperor"}, follow=True)

    assert "Choose a valid role." in messages_on(response)
    assert _membership(spa, staff_user).role == Role.STAFF


def test_the_last_owner_cannot_be_demoted(owner_client, spa, owner, staff_user):
    before = _roles(spa)

    response = owner_client.post(_role_url(spa, _membership(spa, owner)), {"role": Role.STAFF}, follow=True)

    assert "A spa needs at least one owner. Make someone else an owner first." in messages_on(response)
    assert _roles(spa) == before


def test_the_last_owner_cannot_be_removed(owner_client, spa, owner, staff_user):
    before = _roles(spa)

    response = owner_client.post(_remove_url(spa, _membership(spa, owner)), follow=True)

    assert "The last owner cannot be removed." in messages_on(response)
    assert _roles(spa) == before


def test_one_of_two_owners_can_be_demoted(owner_client, spa, owner):
    co_owner = MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co@serene.example")).user

    owner_client.post(_role_url(spa, _membership(spa, co_owner)), {"role": Role.MANAGER})

    assert _roles(spa) == {"owner@serene.example": Role.OWNER, "co@serene.example": Role.MANAGER}


def test_an_owner_can_step_down_when_there_is_another_owner(owner_client, spa, owner):
    MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co@serene.example"))

    owner_client.post(_role_url(spa, _membership(spa, owner)), {"role": Role.STAFF})

    assert _roles(spa) == {"owner@serene.example": Role.STAFF, "co@serene.example": Role.OWNER}


def test_the_owner_removes_a_member(owner_client, spa, staff_user):
    response = owner_client.post(_remove_url(spa, _membership(spa, staff_user)), follow=True)

    assert "Stacy Staff was removed from the team." in messages_on(response)
    assert _roles(spa) == {"owner@serene.example": Role.OWNER}


def test_a_removed_member_loses_access(owner_client, client_for, spa, staff_user):
    staff_client = client_for(staff_user)
    owner_client.post(_remove_url(spa, _membership(spa, staff_user)))

    assert staff_client.get(reverse("insights:dashboard", args=[spa.slug])).status_code == 404


def test_an_owner_who_leaves_is_sent_home(owner_client, spa, owner):
    MembershipFactory(spa=spa, role=Role.OWNER, user=UserFactory(email="co@serene.example"))

    response = owner_client.post(_remove_url(spa, _membership(spa, owner)))

    assert response["Location"] == reverse("home")
    assert _roles(spa) == {"co@serene.example": Role.OWNER}


@pytest.mark.parametrize("member", ["staff_user", "manager_user"])
def test_only_owners_change_roles_or_remove_members(request, client_for, spa, owner, member):
    client = client_for(request.getfixturevalue(member))
    owner_membership = _membership(spa, owner)
    before = _roles(spa)

    assert client.post(_role_url(spa, owner_membership), {"role": Role.STAFF}).status_code == 403
    assert client.post(_remove_url(spa, owner_membership)).status_code == 403
    assert _roles(spa) == before


def test_an_owner_cannot_touch_another_spas_members(owner_client, spa, other_spa, outsider):
    theirs = _membership(other_spa, outsider)

    assert owner_client.post(_role_url(spa, theirs), {"role": Role.STAFF}).status_code == 404
    assert owner_client.post(_remove_url(spa, theirs)).status_code == 404
    assert _roles(other_spa) == {"owner@outsider.example": Role.OWNER}


def test_another_spas_owner_cannot_change_our_roles(outsider_client, spa, owner, staff_user):
    before = _roles(spa)

    assert outsider_client.post(_role_url(spa, _membership(spa, staff_user)), {"role": "owner"}).status_code == 404
    assert outsider_client.post(_remove_url(spa, _membership(spa, owner))).status_code == 404
    assert _roles(spa) == before


# --- several spas -------------------------------------------------------------------------------


def test_a_member_of_two_spas_sees_both_in_the_switcher_and_can_open_both(client_for, spa, other_spa):
    user = UserFactory()
    MembershipFactory(spa=spa, user=user, role=Role.STAFF)
    MembershipFactory(spa=other_spa, user=user, role=Role.MANAGER)
    client = client_for(user)

    for current in (spa, other_spa):
        response = client.get(reverse("insights:dashboard", args=[current.slug]))
        assert response.status_code == 200
        menu = re.search(r'<ul class="dropdown-menu.*?</ul>', response.content.decode(), re.S).group(0)
        assert f'href="{reverse("insights:dashboard", args=[spa.slug])}">Serene Test Spa' in menu
        assert f'href="{reverse("insights:dashboard", args=[other_spa.slug])}">Outsider Wellness' in menu
        assert re.search(rf'dropdown-item active" href="/s/{current.slug}/"', menu)


def test_the_switcher_lists_only_the_users_spas(staff_client, spa, other_spa):
    response = staff_client.get(reverse("insights:dashboard", args=[spa.slug]))

    menu = re.search(r'<ul class="dropdown-menu.*?</ul>', response.content.decode(), re.S).group(0)
    assert "Serene Test Spa" in menu
    assert "Outsider Wellness" not in menu
