"""Session lifetimes (idle 30 minutes, absolute 12 hours, both configurable) and deactivated users.

The clock is frozen and moved with freezegun; sessions are real database sessions signed in through
allauth's login form, so the sign-in signal stamps them exactly as in production.
"""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django_scopes import scope
from freezegun import freeze_time

from tests.factories import TEST_PASSWORD, PortalAccessFactory, PracticeFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
START = datetime.datetime(2026, 3, 2, 8, 0, tzinfo=datetime.UTC)
LOGIN = "/accounts/login/"


def _signed_in(user):
    client = Client()
    response = client.post(LOGIN, {"login": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and not response["Location"].startswith(LOGIN), response
    return client


def _session_key(client):
    return client.cookies["sessionid"].value


def _assert_signed_out(client, response, old_key, page):
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={page}"
    assert not Session.objects.filter(session_key=old_key).exists()  # flushed, not just forgotten
    assert "_auth_user_id" not in client.session


@pytest.fixture
def page(spa):
    return f"/s/{spa.slug}/partners/"


def test_29_minutes_idle_keeps_you_in_31_signs_you_out(owner, page):
    with freeze_time(START) as clock:
        client = _signed_in(owner)
        assert client.get(page).status_code == 200
        clock.tick(datetime.timedelta(minutes=29))
        assert client.get(page).status_code == 200
        key = _session_key(client)
        clock.tick(datetime.timedelta(minutes=31))
        response = client.get(page)
        _assert_signed_out(client, response, key, page)
        login_page = client.get(response["Location"])
        assert "signed out after 30 minutes without activity" in login_page.content.decode()


def test_activity_every_20_minutes_still_ends_at_12_hours(owner, page):
    with freeze_time(START) as clock:
        client = _signed_in(owner)
        for _ in range(35):  # 08:20 … 19:40
            clock.tick(datetime.timedelta(minutes=20))
            assert client.get(page).status_code == 200, clock.time_to_freeze
        key = _session_key(client)
        clock.tick(datetime.timedelta(minutes=20))  # 20:00, twelve hours after signing in
        response = client.get(page)
        _assert_signed_out(client, response, key, page)
        assert "a session lasts at most 12 hours" in client.get(response["Location"]).content.decode()


def test_a_new_sign_in_starts_a_new_lifetime(owner, page):
    with freeze_time(START) as clock:
        client = _signed_in(owner)
        clock.tick(datetime.timedelta(hours=11, minutes=50))
        client.post("/accounts/logout/")
        client.post(LOGIN, {"login": owner.email, "password": TEST_PASSWORD})
        clock.tick(datetime.timedelta(minutes=20))
        assert client.get(page).status_code == 200


def test_the_limits_follow_the_settings(owner, page, settings):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 5
    settings.SESSION_ABSOLUTE_HOURS = 1
    with freeze_time(START) as clock:
        client = _signed_in(owner)
        clock.tick(datetime.timedelta(minutes=4))
        assert client.get(page).status_code == 200
        clock.tick(datetime.timedelta(minutes=6))
        assert client.get(page).status_code == 302
        client = _signed_in(owner)
        for _ in range(14):  # every 4 minutes up to 56 minutes
            clock.tick(datetime.timedelta(minutes=4))
            assert client.get(page).status_code == 200
        clock.tick(datetime.timedelta(minutes=4))
        assert client.get(page).status_code == 302


def test_the_limits_are_read_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_IDLE_TIMEOUT_MINUTES, s.SESSION_ABSOLUTE_HOURS, s.SESSION_COOKIE_AGE)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spa_referrals.settings.test",
        "SESSION_IDLE_TIMEOUT_MINUTES": "15",
        "SESSION_ABSOLUTE_HOURS": "8",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["15", "8", str(8 * 3600)]


def test_an_htmx_request_after_the_idle_limit_sends_the_whole_page_to_login(owner, spa, page):
    with freeze_time(START) as clock:
        client = _signed_in(owner)
        clock.tick(datetime.timedelta(minutes=45))
        response = client.get(
            f"/s/{spa.slug}/referrals/?status=open",
            headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}?q=derm"},
        )
        assert response.status_code == 204
        assert response["HX-Redirect"] == f"{LOGIN}?next=/s/{spa.slug}/partners/%3Fq%3Dderm"


def test_a_cookie_from_before_the_limits_existed_gets_them_from_its_next_request(owner, page):
    """force_login bypasses the sign-in form (as an old session would): the first request stamps it."""
    with freeze_time(START) as clock:
        client = Client()
        client.force_login(owner)
        assert client.get(page).status_code == 200
        clock.tick(datetime.timedelta(minutes=31))
        assert client.get(page).status_code == 302


# --- deactivated users ---------------------------------------------------------------------------------


def test_a_deactivated_staff_members_next_request_is_refused(staff_user, spa, page):
    client = _signed_in(staff_user)
    assert client.get(page).status_code == 200
    key = _session_key(client)
    staff_user.is_active = False
    staff_user.save(update_fields=["is_active"])
    response = client.get(page)
    _assert_signed_out(client, response, key, page)
    assert client.get(f"/s/{spa.slug}/referrals/").status_code == 302


def test_a_deactivated_portal_users_next_request_is_refused(spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology")
        clinic_user = UserFactory(email="desk@glow.example")
        PortalAccessFactory(spa=spa, practice=practice, user=clinic_user)
    portal = f"/portal/{spa.slug}/"
    client = _signed_in(clinic_user)
    assert client.get(portal).status_code == 200
    key = _session_key(client)
    clinic_user.is_active = False
    clinic_user.save(update_fields=["is_active"])
    response = client.get(portal)
    _assert_signed_out(client, response, key, portal)
    assert client.get(f"/portal/{spa.slug}/referrals/new/").status_code == 302


def test_a_deactivated_user_cannot_sign_in_again(staff_user):
    staff_user.is_active = False
    staff_user.save(update_fields=["is_active"])
    response = Client().post(LOGIN, {"login": staff_user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"
