"""Who gets into the partner portal: invitations through the outbox, accepting them, signing in with an
emailed code, revoking, the spa's panel, and the 404 for everyone who is not a portal user of that spa."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent, OutgoingEmail
from referrals.models import PortalAccess, PortalInvitation
from referrals.portal.services import portal_invitation_create
from spas.models import Role, User
from tests.rendered_emails import rendered

from ..factories import MembershipFactory, PortalInvitationFactory, SpaFactory, UserFactory
from .portal_helpers import (
    PORTAL_EMAIL_A,
    field_error,
    give_portal_access,
    logged_in,
    page_text,
    portal_url,
)

INVITEE = "nora.nurse@brookline-derm.example"
CODE_LINE = re.compile(r"^\s*([A-Z0-9]{3,9}(?:-[A-Z0-9]{3,9}){0,2})\s*$", re.MULTILINE)


def invite_url(spa, practice):
    return reverse("portal_admin:invite", args=[spa.slug, practice.public_id])


def accept_url(invitation):
    return reverse("public:portal_invitation", args=[invitation.token])


def practice_url(spa, practice):
    return reverse("partners:detail", args=[spa.slug, practice.public_id])


def invite(spa, practice, inviter, email=INVITEE):
    with scope(spa=spa):
        return portal_invitation_create(spa=spa, practice=practice, email=email, invited_by=inviter)


def accesses(**filters):
    with scopes_disabled():
        return list(PortalAccess.objects.filter(**filters))


def audit_actions(spa):
    with scope(spa=spa):
        return list(AuditEvent.objects.filter(spa=spa).values_list("action", flat=True))


# --- inviting ----------------------------------------------------------------------------------


def test_a_manager_invites_clinic_staff_and_the_link_goes_out_through_the_outbox(
    client_for, spa, manager_user, practice_a, outbox_rows
):
    response = client_for(manager_user).post(
        invite_url(spa, practice_a), {"email": "Nora.Nurse@Brookline-Derm.example"}
    )

    assert response.status_code == 302
    assert response["Location"] == practice_url(spa, practice_a) + "#partner-portal"
    with scope(spa=spa):
        invitation = PortalInvitation.objects.get(spa=spa)
    assert invitation.email == INVITEE
    assert invitation.practice == practice_a
    assert invitation.invited_by == manager_user
    [email] = map(rendered, outbox_rows(to=INVITEE))
    assert email.template == "portal-invitation"
    assert email.spa == spa
    assert "Serene Test Spa" in email.subject
    assert accept_url(invitation) in email.body_text
    assert accept_url(invitation) in email.body_html
    assert "Brookline Dermatology" in email.body_text
    assert "portal_invitation.created" in audit_actions(spa)


def test_inviting_prepares_a_passwordless_account_that_signs_in_by_code(owner_client, spa, practice_a):
    owner_client.post(invite_url(spa, practice_a), {"email": INVITEE})

    user = User.objects.get(email=INVITEE)
    assert not user.has_usable_password()
    assert user.emailaddress_set.get().verified is False


def test_inviting_someone_with_an_account_keeps_their_account(owner_client, spa, practice_a):
    existing = UserFactory(email=INVITEE)

    owner_client.post(invite_url(spa, practice_a), {"email": INVITEE})

    assert list(User.objects.filter(email=INVITEE)) == [existing]
    assert User.objects.get(email=INVITEE).has_usable_password()


def test_staff_cannot_invite_to_the_portal(staff_client, spa, practice_a, outbox_rows):
    response = staff_client.post(invite_url(spa, practice_a), {"email": INVITEE})

    assert response.status_code == 403
    with scope(spa=spa):
        assert not PortalInvitation.objects.exists()
    assert outbox_rows(to=INVITEE) == []


def test_an_invalid_address_is_shown_beside_the_field(owner_client, spa, practice_a):
    response = owner_client.post(invite_url(spa, practice_a), {"email": "not-an-address"})

    assert response.status_code == 400
    assert field_error(response, "email") == "Enter a valid email address."
    with scope(spa=spa):
        assert not PortalInvitation.objects.exists()


def test_someone_who_already_has_access_is_not_invited_again(owner_client, spa, practice_a, portal_user_a):
    response = owner_client.post(invite_url(spa, practice_a), {"email": PORTAL_EMAIL_A})

    assert response.status_code == 400
    assert field_error(response, "email") == "This person can already use the portal for this practice."


def test_a_fresh_invitation_replaces_the_pending_one(owner, spa, practice_a):
    first = invite(spa, practice_a, owner)
    second = invite(spa, practice_a, owner)

    with scope(spa=spa):
        first.refresh_from_db()
    assert first.state == "revoked"
    assert second.state == "pending"


def test_an_outsider_cannot_invite_to_another_spas_practice(outsider_client, spa, practice_a):
    response = outsider_client.post(invite_url(spa, practice_a), {"email": INVITEE})

    assert response.status_code == 404
    with scope(spa=spa):
        assert not PortalInvitation.objects.exists()


def test_a_practice_of_another_spa_cannot_be_named_in_the_address(owner_client, spa, other_spa_practice):
    response = owner_client.post(invite_url(spa, other_spa_practice), {"email": INVITEE})

    assert response.status_code == 404


# --- accepting ---------------------------------------------------------------------------------


def test_the_invited_address_accepts_and_lands_in_the_portal(owner, spa, practice_a, client_for):
    invitation = invite(spa, practice_a, owner)
    invitee = User.objects.get(email=INVITEE)
    client = client_for(invitee)

    response = client.post(accept_url(invitation))

    assert response.status_code == 302
    assert response["Location"] == portal_url("home", spa)
    [access] = accesses(user=invitee)
    assert access.practice == practice_a
    assert access.spa == spa
    with scope(spa=spa):
        invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert "portal_invitation.accepted" in audit_actions(spa)
    assert client.get(portal_url("home", spa)).status_code == 200


def test_someone_signed_in_with_another_address_cannot_accept(owner, spa, practice_a, client_for):
    invitation = invite(spa, practice_a, owner)
    stranger = UserFactory(email="someone.else@example.com")

    response = client_for(stranger).post(accept_url(invitation))

    assert response.status_code == 400
    assert f"This invitation was sent to {INVITEE}" in page_text(response)
    assert accesses() == []


@pytest.mark.parametrize(
    ("change", "state"),
    [({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"), ({"revoked_at": timezone.now()}, "revoked")],
)
def test_an_expired_or_revoked_invitation_is_refused(owner, spa, practice_a, client_for, change, state):
    invitation = invite(spa, practice_a, owner)
    with scope(spa=spa):
        PortalInvitation.objects.filter(pk=invitation.pk).update(**change)

    client = client_for(User.objects.get(email=INVITEE))
    page = client.get(accept_url(invitation))
    response = client.post(accept_url(invitation))

    assert f"This invitation is {state}" in page_text(page)
    assert response.status_code == 400
    assert f"This invitation is {state}." in page_text(response)
    assert accesses() == []


def test_an_anonymous_visitor_is_offered_a_sign_in_code_for_the_invited_address(owner, spa, practice_a, client):
    invitation = invite(spa, practice_a, owner)

    response = client.get(accept_url(invitation))

    text = page_text(response)
    assert response.status_code == 200
    assert f'action="{reverse("account_request_login_code")}"' in text
    assert f'name="email" value="{INVITEE}"' in text
    assert f'name="next" value="{accept_url(invitation)}"' in text


def test_an_anonymous_post_is_sent_to_sign_in_first(owner, spa, practice_a, client):
    invitation = invite(spa, practice_a, owner)

    response = client.post(accept_url(invitation))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert accesses() == []


def test_an_unknown_invitation_link_is_404(client, db):
    assert client.get(reverse("public:portal_invitation", args=["no-such-token"])).status_code == 404


def test_accepting_an_invitation_for_another_practice_of_the_spa_moves_the_access(
    owner, spa, practice_a, practice_b, portal_user_a
):
    invitation = invite(spa, practice_b, owner, email=PORTAL_EMAIL_A)

    logged_in(portal_user_a).post(accept_url(invitation))

    [access] = accesses(user=portal_user_a)
    assert access.practice == practice_b


def test_a_revoked_person_invited_again_gets_their_access_back(owner, spa, practice_a, portal_user_a):
    with scope(spa=spa):
        PortalAccess.objects.filter(user=portal_user_a).update(revoked_at=timezone.now())
    invitation = invite(spa, practice_a, owner, email=PORTAL_EMAIL_A)

    logged_in(portal_user_a).post(accept_url(invitation))

    [access] = accesses(user=portal_user_a)
    assert access.revoked_at is None
    assert logged_in(portal_user_a).get(portal_url("home", spa)).status_code == 200


# --- signing in with an emailed code -----------------------------------------------------------


def _code_in(body):
    match = CODE_LINE.search(body)
    assert match, f"no code in:\n{body}"
    return match.group(1)


def test_an_invitee_signs_in_with_an_emailed_code_and_accepts(owner, spa, practice_a, outbox_rows):
    invitation = invite(spa, practice_a, owner)
    client = Client()

    response = client.post(reverse("account_request_login_code"), {"email": INVITEE, "next": accept_url(invitation)})
    assert response.status_code == 302
    [code_email] = outbox_rows(to=INVITEE, template="account/email/login_code")
    response = client.post(response["Location"], {"code": _code_in(code_email.body_text)})

    assert response.status_code == 302
    assert response["Location"] == accept_url(invitation)
    assert User.objects.get(email=INVITEE).emailaddress_set.get().verified is True
    response = client.post(accept_url(invitation))
    assert response["Location"] == portal_url("home", spa)
    assert client.get(portal_url("home", spa)).status_code == 200


def test_a_portal_user_signing_in_by_code_is_taken_to_their_portal(spa, portal_user_a, outbox_rows):
    client = Client()

    client.post(reverse("account_request_login_code"), {"email": PORTAL_EMAIL_A})
    [code_email] = outbox_rows(to=PORTAL_EMAIL_A, template="account/email/login_code")
    response = client.post(reverse("account_confirm_login_code"), {"code": _code_in(code_email.body_text)}, follow=True)

    assert response.redirect_chain[-1][0] == portal_url("home", spa)
    assert response.status_code == 200
    assert "Brookline Dermatology" in page_text(response)


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client, spa, portal_user_a):
    response = client.get(portal_url("home", spa))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={portal_url('home', spa)}"


def test_a_portal_user_signing_in_with_a_password_returns_to_the_portal(client, spa, portal_user_a):
    from ..factories import TEST_PASSWORD

    response = client.post(
        f"{reverse('account_login')}?next={portal_url('home', spa)}",
        {"login": PORTAL_EMAIL_A, "password": TEST_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == portal_url("home", spa)


# --- where "/" sends a portal user ---------------------------------------------------------------


def test_home_sends_a_portal_user_without_a_spa_to_their_portal(portal_client_a, spa):
    response = portal_client_a.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == portal_url("home", spa)


def test_home_lets_a_portal_user_of_several_spas_choose(spa, practice_a, portal_user_a):
    elsewhere = SpaFactory(name="Harbor Wellness")
    from ..factories import PracticeFactory

    give_portal_access(PracticeFactory(spa=elsewhere, name="Harbor Dermatology"), portal_user_a)

    response = logged_in(portal_user_a).get(reverse("home"))

    text = page_text(response)
    assert response.status_code == 200
    assert f'href="{portal_url("home", spa)}"' in text
    assert f'href="{portal_url("home", elsewhere)}"' in text


def test_home_sends_a_member_who_also_has_portal_access_to_their_spa(spa, other_spa, portal_user_a):
    MembershipFactory(spa=other_spa, user=portal_user_a, role=Role.STAFF)

    response = logged_in(portal_user_a).get(reverse("home"))

    assert response["Location"] == reverse("insights:dashboard", args=[other_spa.slug])


def test_home_ignores_a_revoked_portal_access(spa, portal_user_a):
    with scope(spa=spa):
        PortalAccess.objects.update(revoked_at=timezone.now())

    response = logged_in(portal_user_a).get(reverse("home"))

    assert response["Location"] == reverse("spa_create")


# --- who is kept out ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        lambda spa: reverse("insights:dashboard", args=[spa.slug]),
        lambda spa: reverse("spas:team", args=[spa.slug]),
        lambda spa: reverse("partners:list", args=[spa.slug]),
        lambda spa: reverse("referrals:inbox", args=[spa.slug]),
    ],
)
def test_a_portal_user_never_reaches_the_spa_workspace(portal_client_a, spa, path):
    assert portal_client_a.get(path(spa)).status_code == 404


def test_a_spa_member_without_portal_access_gets_404_in_the_portal(staff_client, owner_client, spa, practice_a):
    assert staff_client.get(portal_url("home", spa)).status_code == 404
    assert owner_client.get(portal_url("referral_new", spa)).status_code == 404


def test_another_spas_portal_answers_exactly_like_a_missing_one(portal_client_a, spa, other_spa, other_spa_practice):
    theirs = portal_client_a.get(reverse("portal:home", args=[other_spa.slug]))
    missing = portal_client_a.get(reverse("portal:home", args=["no-such-spa"]))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert "Outsider" not in page_text(theirs)


def test_a_revoked_access_answers_404(owner_client, spa, practice_a, portal_user_a, portal_client_a):
    with scope(spa=spa):
        access = PortalAccess.objects.get(user=portal_user_a)

    response = owner_client.post(
        reverse("portal_admin:access_revoke", args=[spa.slug, practice_a.public_id]), {"access": access.public_id}
    )

    assert response.status_code == 302
    assert portal_client_a.get(portal_url("home", spa)).status_code == 404
    assert "portal_access.revoked" in audit_actions(spa)


def test_an_access_of_another_practice_cannot_be_revoked_through_this_one(
    owner_client, spa, practice_a, practice_b, portal_user_b, portal_client_b
):
    with scope(spa=spa):
        access_b = PortalAccess.objects.get(user=portal_user_b)

    response = owner_client.post(
        reverse("portal_admin:access_revoke", args=[spa.slug, practice_a.public_id]), {"access": access_b.public_id}
    )

    assert response.status_code == 404
    assert portal_client_b.get(portal_url("home", spa)).status_code == 200


def test_staff_cannot_revoke_access(staff_client, spa, practice_a, portal_user_a, portal_client_a):
    with scope(spa=spa):
        access = PortalAccess.objects.get(user=portal_user_a)

    response = staff_client.post(
        reverse("portal_admin:access_revoke", args=[spa.slug, practice_a.public_id]), {"access": access.public_id}
    )

    assert response.status_code == 403
    assert portal_client_a.get(portal_url("home", spa)).status_code == 200


def test_a_withdrawn_invitation_link_stops_working(owner, owner_client, spa, practice_a):
    invitation = invite(spa, practice_a, owner)

    owner_client.post(
        reverse("portal_admin:invitation_revoke", args=[spa.slug, practice_a.public_id]),
        {"invitation": invitation.public_id},
    )
    response = logged_in(User.objects.get(email=INVITEE)).post(accept_url(invitation))

    assert response.status_code == 400
    assert accesses() == []
    assert "portal_invitation.revoked" in audit_actions(spa)


# --- the panel on the practice page --------------------------------------------------------------


def test_the_practice_page_lists_portal_users_and_invitations_with_an_invite_form(
    owner, owner_client, spa, practice_a, portal_user_a
):
    invite(spa, practice_a, owner)

    response = owner_client.get(practice_url(spa, practice_a))

    text = page_text(response)
    assert 'id="partner-portal"' in text
    assert f'data-portal-user="{PORTAL_EMAIL_A}"' in text
    assert f'data-portal-invitation="{INVITEE}"' in text
    assert invite_url(spa, practice_a) in text
    assert reverse("portal_admin:access_revoke", args=[spa.slug, practice_a.public_id]) in text


def test_staff_see_who_has_access_but_not_the_invite_form(staff_client, spa, practice_a, portal_user_a):
    text = page_text(staff_client.get(practice_url(spa, practice_a)))

    assert f'data-portal-user="{PORTAL_EMAIL_A}"' in text
    assert invite_url(spa, practice_a) not in text


def test_the_panel_shows_only_this_practices_people(owner_client, spa, practice_a, portal_user_a, portal_user_b):
    text = page_text(owner_client.get(practice_url(spa, practice_a)))

    assert PORTAL_EMAIL_A in text
    assert "pete.pt@" not in text


def test_the_panel_reads_in_constant_queries(owner, owner_client, spa, practice_a):
    def queries_for_page():
        with CaptureQueriesContext(connection) as context:
            assert owner_client.get(practice_url(spa, practice_a)).status_code == 200
        return len(context.captured_queries)

    queries_for_page()  # the first visit also seeds the spa's talking points
    give_portal_access(practice_a, UserFactory())
    with scope(spa=spa):
        PortalInvitationFactory(spa=spa, practice=practice_a, invited_by=owner)
    few = queries_for_page()
    for _ in range(4):
        give_portal_access(practice_a, UserFactory())
        with scope(spa=spa):
            PortalInvitationFactory(spa=spa, practice=practice_a, invited_by=owner)
    assert queries_for_page() == few


def test_invitation_email_carries_no_patient_information(owner, spa, practice_a, outbox_rows):
    from .portal_helpers import make_referral

    make_referral(practice_a, first="Zelda", last="Zimmerman")
    invite(spa, practice_a, owner)

    [email] = map(rendered, outbox_rows(to=INVITEE))
    assert "Zelda" not in email.body_text + email.body_html + email.subject
    with scopes_disabled():
        assert OutgoingEmail.objects.filter(to=INVITEE).count() == 1
