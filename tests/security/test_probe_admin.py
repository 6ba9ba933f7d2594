"""The outside probe's medium finding: /admin/ was a second, weaker front door.

Its own password form sat outside allauth (no rate limit, no lockout, no two-factor). Now the admin signs in
through allauth's login, a staff account needs two-factor authentication to enter, the admin's address is a
setting and production can leave it out.
"""

import importlib

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import clear_url_caches

from tests.factories import TEST_PASSWORD, UserFactory

LOGIN = "/accounts/login/"
LOCKED = "Too many failed login attempts. Try again later."


@pytest.fixture
def superuser(db):
    return UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_with_two_factor(superuser):
    TOTP.activate(superuser, generate_totp_secret())
    return superuser


@pytest.fixture
def reload_urls():
    """Rebuild the URLconf under the current settings, and again afterwards for the other tests."""
    import spa_referrals.urls

    def reload():
        clear_url_caches()
        importlib.reload(spa_referrals.urls)

    yield reload
    reload()


def test_the_admin_never_shows_its_own_password_form(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=%2Fadmin%2F"


def test_posting_the_right_password_to_the_admin_login_signs_nobody_in(client, superuser_with_two_factor):
    response = client.post("/admin/login/", {"username": superuser_with_two_factor.email, "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_wrong_admin_passwords_lock_like_the_normal_login(client, superuser):
    # Where the admin sends a visitor: allauth's login, with the way back to the admin.
    login_url = client.get("/admin/")["Location"]
    login_url = client.get(login_url)["Location"]
    assert login_url.startswith(LOGIN) and "next=%2Fadmin%2F" in login_url

    for _attempt in range(5):  # allauth: 5 failures per address in 5 minutes
        response = client.post(login_url, {"login": superuser.email, "password": "wrong-password"})
        assert response.status_code == 200
        assert LOCKED not in response.content.decode()
    response = client.post(login_url, {"login": superuser.email, "password": TEST_PASSWORD})

    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_in_for_the_admin_asks_for_the_second_factor(client, superuser_with_two_factor):
    response = client.post(
        f"{LOGIN}?next=/admin/", {"login": superuser_with_two_factor.email, "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert "_auth_user_id" not in client.session


def test_a_staff_user_without_two_factor_cannot_reach_the_admin(client_for, superuser):
    client = client_for(superuser)

    for path in ("/admin/", "/admin/spas/user/"):
        response = client.get(path, follow=True)
        assert response.status_code == 403, path
        page = response.content.decode()
        assert "The admin needs two-factor authentication." in page
        assert 'name="password"' not in page  # never the admin's own form


def test_a_staff_user_with_two_factor_enters_the_admin(client_for, superuser_with_two_factor):
    client = client_for(superuser_with_two_factor)

    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/spas/user/").status_code == 200
    assert client.get("/admin/login/")["Location"] == "/admin/"


def test_a_signed_in_member_who_is_not_staff_is_refused(client_for, owner):
    assert client_for(owner).get("/admin/login/").status_code == 403


def test_the_admin_lives_where_ADMIN_URL_says(settings, reload_urls, client, db):
    settings.ADMIN_URL = "ops-7f3k/"
    reload_urls()

    assert client.get("/admin/").status_code == 404
    response = client.get("/ops-7f3k/")
    assert response.status_code == 302
    assert response["Location"].startswith("/ops-7f3k/login/")


def test_the_admin_is_absent_when_disabled(settings, reload_urls, client_for, superuser_with_two_factor):
    settings.ADMIN_ENABLED = False
    reload_urls()
    client = client_for(superuser_with_two_factor)

    for path in ("/admin/", "/admin/login/", "/admin/spas/user/"):
        assert client.get(path).status_code == 404, path
    assert Client().get("/admin/").status_code == 404
