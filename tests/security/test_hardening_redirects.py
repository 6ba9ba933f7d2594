"""Open redirects: classic payloads on every redirect parameter the app honours → 0 off-site redirects.

Parameters honoured (grep for next, redirect, url_has_allowed_host_and_scheme): allauth's ``next`` on
sign-in (password and code, also when already signed in), sign-up through email verification, sign-out,
re-authentication and password change; the admin's sign-in; the outreach task views' ``next`` (done,
undo, edit); and the login redirect the session middleware builds for htmx requests from HX-Current-URL.

A Location is judged the way a browser would resolve it: control characters and tabs dropped,
backslashes read as slashes, resolved against the page's URL; it must stay on http(s)://testserver.
"""

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_scopes import scope

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from tests.factories import TEST_PASSWORD, UserFactory

HOST = "testserver"
PAYLOADS = [
    "//evil.com",
    "///evil.com",
    "////evil.com/",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\\/evil.com",
    "https:evil.com",
    "http:/evil.com",
    "https://evil.com",
    "HTTPS://EVIL.COM/path",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%09/evil.com",
    "/\t/evil.com",
    " //evil.com",
    "\x00//evil.com",
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)//",
    "data:text/html,<script>alert(1)</script>",
    f"http://{HOST}@evil.com/",
    f"http://evil.com@{HOST}/",
    f"https://{HOST}.evil.com/",
    "//evil.com/%2F..",
    "//evil%E3%80%82com",
    "https://evil.com\\@testserver/",
]
_CONTROL = re.compile(r"[\x00-\x20]")


def browser_destination(location, base):
    """(scheme, host) a browser would go to for this Location, read leniently like a browser does."""
    cleaned = _CONTROL.sub("", location).replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme.lower(), (target.hostname or "").lower()


def assert_same_origin(response, base, what, failures):
    location = response.get("Location") or response.get("HX-Redirect")
    if location is None:
        return
    scheme, host = browser_destination(location, base)
    if scheme not in ("http", "https") or host != HOST:
        failures.append(f"{what}: {response.status_code} → {location!r}")
    # The login redirect carries its own next: judge that too.
    for nested in parse_qs(urlsplit(location).query).get("next", []):
        scheme, host = browser_destination(nested, base)
        if scheme not in ("http", "https") or host != HOST:
            failures.append(f"{what}: next inside {location!r}")


def _client(number):
    # A different address per payload so allauth's per-IP limits never interfere.
    return Client(REMOTE_ADDR=f"192.0.2.{number + 1}")


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser(email="root@example.com", password=TEST_PASSWORD)


def test_the_payload_list_is_the_classic_twenty_and_more():
    assert len(set(PAYLOADS)) >= 20
    assert browser_destination("/\t/evil.com", "http://testserver/") == ("http", "evil.com")  # the judge is strict


def test_sign_in_with_a_password(owner):
    failures = []
    for number, payload in enumerate(PAYLOADS):
        client = _client(number)
        response = client.post("/accounts/login/", {"login": owner.email, "password": TEST_PASSWORD, "next": payload})
        assert response.status_code == 302, payload
        assert_same_origin(response, "http://testserver/accounts/login/", f"login next={payload!r}", failures)
        # Already signed in, the login page sends you on to next as well.
        response = client.get("/accounts/login/", {"next": payload})
        assert_same_origin(response, "http://testserver/accounts/login/", f"signed-in login {payload!r}", failures)
    assert failures == []


def test_sign_in_by_emailed_code(owner, mailoutbox, outbox_rows):
    failures = []
    for number, payload in enumerate(PAYLOADS):  # per-address limit: 3 codes a minute, so a user each
        user = UserFactory(email=f"code{number}@example.com")
        client = _client(number)
        response = client.post("/accounts/login/code/", {"email": user.email, "next": payload})
        assert response.status_code == 302, payload
        assert_same_origin(response, "http://testserver/accounts/login/code/", f"code request {payload!r}", failures)
        email = outbox_rows(to=user.email)[-1]
        code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", email.body_text, re.MULTILINE).group(1)
        response = client.post("/accounts/login/code/confirm/", {"code": code, "next": payload})
        assert response.status_code == 302, payload
        assert "_auth_user_id" in client.session
        assert_same_origin(response, "http://testserver/accounts/login/code/confirm/", f"code {payload!r}", failures)
    assert failures == []


def test_sign_up_through_email_verification(db, mailoutbox, outbox_rows):
    failures = []
    for number, payload in enumerate(PAYLOADS):
        client = _client(number)
        email = f"new{number}@example.com"
        response = client.post(
            "/accounts/signup/",
            {
                "email": email,
                "password1": "A-long-pass-phrase-42",
                "password2": "A-long-pass-phrase-42",
                "next": payload,
            },
        )
        assert response.status_code == 302, (payload, response.content[:300])
        assert_same_origin(response, "http://testserver/accounts/signup/", f"signup {payload!r}", failures)
        body = outbox_rows(to=email)[-1].body_text
        code = re.search(r"^\s*([A-Z0-9]{3,9}(?:-[A-Z0-9]{3,9}){0,2})\s*$", body, re.MULTILINE).group(1)
        response = client.post("/accounts/confirm-email/", {"code": code})
        assert response.status_code == 302, payload
        assert_same_origin(response, "http://testserver/accounts/confirm-email/", f"verify {payload!r}", failures)
    assert failures == []


def test_sign_out(owner):
    failures = []
    for number, payload in enumerate(PAYLOADS):
        client = _client(number)
        client.force_login(owner)
        response = client.post("/accounts/logout/", {"next": payload})
        assert response.status_code == 302, payload
        assert "_auth_user_id" not in client.session
        assert_same_origin(response, "http://testserver/accounts/logout/", f"logout {payload!r}", failures)
    assert failures == []


def test_reauthentication_and_password_change(db):
    failures = []
    for number, payload in enumerate(PAYLOADS):  # 10 re-authentications and 5 password changes a minute per user
        client = _client(number)
        client.force_login(UserFactory(email=f"reauth{number}@example.com"))
        response = client.post("/accounts/reauthenticate/", {"password": TEST_PASSWORD, "next": payload})
        assert response.status_code == 302, payload
        assert_same_origin(response, "http://testserver/accounts/reauthenticate/", f"reauth {payload!r}", failures)
        response = client.post(
            "/accounts/password/change/",
            {"oldpassword": TEST_PASSWORD, "password1": TEST_PASSWORD, "password2": TEST_PASSWORD, "next": payload},
        )
        assert_same_origin(response, "http://testserver/accounts/password/change/", f"password {payload!r}", failures)
    assert failures == []


def test_admin_sign_in(superuser):
    failures = []
    for number, payload in enumerate(PAYLOADS):
        client = _client(number)
        response = client.post(
            "/admin/login/",
            {"username": superuser.email, "password": TEST_PASSWORD, "next": payload},
            QUERY_STRING=f"next={payload}",
        )
        assert response.status_code == 302, payload
        assert_same_origin(response, "http://testserver/admin/login/", f"admin {payload!r}", failures)
    assert failures == []


def test_outreach_task_views(owner, spa):
    with scope(spa=spa):
        task, _created = activity_services.task_create(
            spa=spa, title="Call the office manager", due_on=activity_selectors.spa_today(spa), assignee=owner
        )
    base = f"/s/{spa.slug}/outreach/tasks/{task.public_id}/"
    client = _client(0)
    client.force_login(owner)
    failures = []
    for payload in PAYLOADS:
        for action in ("done/", "undo/"):
            response = client.post(base + action, {"next": payload})
            assert response.status_code == 302, (action, payload)
            assert_same_origin(response, f"http://testserver{base}{action}", f"task {action} {payload!r}", failures)
        # The edit form only carries next along when it is safe.
        page = client.get(base, {"next": payload}).content.decode()
        hidden = re.search(r'name="next" value="([^"]*)"', page)
        if hidden and browser_destination(html.unescape(hidden.group(1)), f"http://testserver{base}")[1] != HOST:
            failures.append(f"task edit form carries next={hidden.group(1)!r} for {payload!r}")
    assert failures == []


def test_the_htmx_login_redirect_ignores_a_foreign_current_url(owner, spa):
    failures = []
    client = Client()
    for payload in [*PAYLOADS, "https://evil.com/s/x/", f"http://{HOST}@evil.com/s/"]:
        response = client.get(f"/s/{spa.slug}/referrals/", headers={"HX-Request": "true", "HX-Current-URL": payload})
        assert response.status_code == 204, payload
        assert_same_origin(response, "http://testserver/", f"HX-Current-URL {payload!r}", failures)
    assert failures == []
