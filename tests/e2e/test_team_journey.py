"""The first journey: an owner starts a spa, brings a teammate in, and later takes them out again."""

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from spas.models import Membership, Role
from tests.factories import TEST_PASSWORD, InvitationFactory

pytestmark = pytest.mark.browser

OWNER_EMAIL = "olga.owner@lotus-journey.example"
TEAMMATE_EMAIL = "tess.teammate@lotus-journey.example"
PASSWORD = "Lotus-petal-4417-river"
SPA_NAME = "Lotus Day Spa"
SPA_SLUG = "lotus-day-spa"


def test_owner_starts_a_spa_invites_a_teammate_and_removes_them(
    page, new_page, signup, login, logout, screenshot, latest_email, email_link
):
    # The owner signs up, verifies the address with the emailed code, and is sent to create a spa.
    signup(page, OWNER_EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(r"/spas/new/$"))
    expect(page.get_by_role("heading", name="Create your spa")).to_be_visible()

    page.get_by_label("Name").fill(SPA_NAME)
    page.get_by_label("Web address").fill(SPA_SLUG)
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_label("Referral email").fill("referrals@lotus-journey.example")
    page.get_by_role("button", name="Create spa").click()

    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/$"))
    expect(page.get_by_role("alert")).to_contain_text(f"Welcome to {SPA_NAME}. You are its owner.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good to see you")
    expect(page.get_by_text(f"{SPA_NAME} · Owner")).to_be_visible()
    expect(page.locator("nav").get_by_role("link", name=SPA_NAME)).to_be_visible()
    screenshot(page, "spa-home")

    # The owner invites a teammate as staff from the team page.
    page.locator("nav").get_by_role("link", name="Team").click()
    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/team/$"))
    invite_form = page.locator("form", has=page.get_by_role("button", name="Send invitation"))
    invite_form.get_by_label("Email").fill(TEAMMATE_EMAIL)
    invite_form.get_by_label("Role").select_option(label="Staff")
    invite_form.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Invitation sent to {TEAMMATE_EMAIL}.")
    expect(page.get_by_role("listitem").filter(has_text=TEAMMATE_EMAIL)).to_contain_text("Staff")
    screenshot(page, "team-invited")
    invitation_email = latest_email(TEAMMATE_EMAIL)
    assert SPA_NAME in invitation_email.subject + invitation_email.body_text
    logout(page)

    # The teammate, in their own browser, signs up with the invited address and follows the emailed link.
    teammate = new_page()
    signup(teammate, TEAMMATE_EMAIL, PASSWORD)
    teammate.goto(email_link(TEAMMATE_EMAIL, subject_contains=SPA_NAME))
    expect(teammate.get_by_role("heading", name=f"Join {SPA_NAME}")).to_be_visible()
    expect(teammate.get_by_text(f"invited {TEAMMATE_EMAIL} to join as Staff")).to_be_visible()
    teammate.get_by_role("button", name="Accept invitation").click()

    expect(teammate).to_have_url(re.compile(rf"/s/{SPA_SLUG}/$"))
    expect(teammate.get_by_role("alert")).to_contain_text(f"You joined {SPA_NAME}.")
    expect(teammate.get_by_text(f"{SPA_NAME} · Staff")).to_be_visible()
    screenshot(teammate, "teammate-spa-home")
    with scopes_disabled():
        assert Membership.objects.get(spa__slug=SPA_SLUG, user__email=TEAMMATE_EMAIL).role == Role.STAFF

    # Signing out and in again takes a member of one spa straight to its home.
    logout(teammate)
    login(teammate, TEAMMATE_EMAIL, PASSWORD)
    expect(teammate).to_have_url(re.compile(rf"/s/{SPA_SLUG}/$"))

    # The owner signs back in and removes the teammate, confirming in the page's dialog (not the browser's).
    login(page, OWNER_EMAIL, PASSWORD)
    expect(page).to_have_url(re.compile(rf"/s/{SPA_SLUG}/$"))
    page.goto(f"/s/{SPA_SLUG}/team/")
    teammate_row = page.locator(f'tr[data-member="{TEAMMATE_EMAIL}"]')
    expect(teammate_row).to_be_visible()
    browser_dialogs = []
    page.on("dialog", lambda dialog: browser_dialogs.append(dialog.message))
    teammate_row.get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Remove {TEAMMATE_EMAIL} from the team?")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("alert")).to_contain_text("was removed from the team.")
    assert browser_dialogs == []
    expect(teammate_row).to_have_count(0)
    expect(page.locator(f'tr[data-member="{OWNER_EMAIL}"]')).to_be_visible()

    # The teammate's next visit, in the session they still have, finds nothing there.
    response = teammate.goto(f"/s/{SPA_SLUG}/")
    assert response.status == 404
    expect(teammate.get_by_role("heading", name="We couldn't find that page.")).to_be_visible()
    assert SPA_NAME not in teammate.content()
    with scopes_disabled():
        assert not Membership.objects.filter(spa__slug=SPA_SLUG, user__email=TEAMMATE_EMAIL).exists()


def test_an_invited_person_who_opens_the_link_first_comes_back_to_it_after_signing_up(
    page, signup, spa, owner, screenshot
):
    invitation = InvitationFactory(spa=spa, email="new.hire@example.com", role=Role.MANAGER, invited_by=owner)
    page.goto(f"/invitations/{invitation.token}/")
    expect(page.get_by_text("Olivia Owner invited new.hire@example.com to join as Manager.")).to_be_visible()
    screenshot(page, "invitation-signed-out")
    page.get_by_role("link", name="Create account").click()

    signup(page, "new.hire@example.com", PASSWORD, start=False)
    expect(page).to_have_url(re.compile(rf"/invitations/{invitation.token}/$"))
    page.get_by_role("button", name="Accept invitation").click()

    expect(page).to_have_url(re.compile(rf"/s/{spa.slug}/$"))
    expect(page.get_by_text(f"{spa.name} · Manager")).to_be_visible()


def test_a_dismissed_confirmation_keeps_the_member(page, login, owner, staff_user, spa):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/team/")
    page.locator(f'tr[data-member="{staff_user.email}"]').get_by_role("button", name="Remove").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    page.reload()
    expect(page.locator(f'tr[data-member="{staff_user.email}"]')).to_be_visible()
    with scopes_disabled():
        assert Membership.objects.filter(spa=spa, user=staff_user).exists()


def test_login_page_and_spa_home_fit_a_phone(phone_page, login, owner, spa, screenshot, assert_no_horizontal_scroll):
    phone_page.goto("/accounts/login/")
    expect(phone_page.get_by_role("heading", name="Sign In")).to_be_visible()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "phone-login")

    login(phone_page, owner.email, TEST_PASSWORD)
    expect(phone_page).to_have_url(re.compile(rf"/s/{spa.slug}/$"))
    expect(phone_page.get_by_text(f"{spa.name} · Owner")).to_be_visible()
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "phone-spa-home")

    # The collapsed navigation opens from its toggler and reaches the team page.
    phone_page.get_by_role("button", name="Toggle navigation").click()
    # Wait until Bootstrap's collapse has finished opening: a click during the animation can miss.
    expect(phone_page.locator("#main-nav.show")).to_be_visible()
    phone_page.locator("#main-nav").get_by_role("link", name="Team", exact=True).click()
    expect(phone_page).to_have_url(re.compile(rf"/s/{spa.slug}/team/$"))
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "phone-team")
