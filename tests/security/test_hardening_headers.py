"""Security headers: Content-Security-Policy on every HTML page, no-store on every page with health
information, and what production settings add (HSTS, Secure/HttpOnly cookies, the HTTPS redirect).

Production values are read from the real production settings module in a subprocess and then applied
here with ``settings`` overrides, so a change to production.py or security.py shows in these tests.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_scopes import scope

from infra.security import inline_hashes
from tests.factories import PortalAccessFactory, PracticeFactory, ReferralCodeFactory, UserFactory

from .samples import sample_values
from .tenancy_checks import fill_route, workspace_routes

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "spa_referrals.settings.production",
    "SECRET_KEY": "hardening-" + "x7Qp2LmZ9vKc4RtW8yNb3HjF6sDg1AeU5oIk0PlMnBvCxZaQwE",
    "ALLOWED_HOSTS": "referrals.example.com,testserver",
    # Never connected to: the settings only need well-formed URLs.
    "DATABASE_URL": "postgres://nobody@127.0.0.1:1/never",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_URL": "smtp://127.0.0.1:1",
}
PRODUCTION_KEYS = [
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_REFERRER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
    "MIDDLEWARE",
]


def _production_environment():
    # As CI's deploy check runs: `make test` and the browser harness allow async-unsafe ORM calls, which
    # the deploy check rightly warns about; a production process never has that variable.
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **PRODUCTION_ENV}


def _policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _script_sources(policy):
    return policy.get("script-src") or policy.get("default-src")


def _assert_strict_script_policy(response, where):
    policy = _policy(response)
    scripts = _script_sources(policy)
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, f"{where}: {scripts}"
    assert all(source == "'self'" or source.startswith("'sha256-") for source in scripts), f"{where}: {scripts}"
    assert "'unsafe-eval'" not in " ".join(sum(policy.values(), [])), where
    assert policy.get("object-src") == ["'none'"] and policy.get("base-uri") == ["'none'"], where
    assert policy.get("frame-ancestors") == ["'none'"], where


def _is_html(response):
    return response.get("Content-Type", "").startswith("text/html")


# --- Content-Security-Policy and no-store on every page -------------------------------------------------


@pytest.fixture
def portal_world(spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology")
        code = ReferralCodeFactory(spa=spa, practice=practice)
        clinic_user = UserFactory(email="desk@glow.example")
        PortalAccessFactory(spa=spa, practice=practice, user=clinic_user)
    return practice, code, clinic_user


def test_every_workspace_page_has_a_strict_policy_and_is_never_stored(spa, owner, client_for):
    values = {**sample_values(spa), "spa_slug": spa.slug}
    client = client_for(owner)
    client.raise_request_exception = False
    html_pages = 0
    problems = []
    for route, _pattern in workspace_routes():
        path = fill_route(route, values)
        response = client.get(path)
        if "no-store" not in response.get("Cache-Control", ""):
            problems.append(f"GET {path} → {response.status_code} Cache-Control {response.get('Cache-Control')!r}")
        if _is_html(response):
            html_pages += 1
            try:
                _assert_strict_script_policy(response, path)
            except AssertionError as error:
                problems.append(str(error))
        elif response.get("Content-Type", "").startswith("application/pdf"):
            assert "Content-Security-Policy" not in response or "sandbox" in response["Content-Security-Policy"]
    assert problems == []
    assert html_pages > 80  # the walk really saw the workspace


def test_public_portal_and_account_pages_have_the_policy_and_are_never_stored(client, spa, portal_world):
    practice, code, clinic_user = portal_world
    public = [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/login/code/",
        "/accounts/password/reset/",
        f"/r/{code.code}",
        f"/r/{code.code}/thanks",
        "/consent/revoke/not-a-real-token/",
        "/portal-invitations/not-a-real-token/",
        "/no/such/page/",
        "/api/docs/",
    ]
    for path in public:
        response = client.get(path)
        assert _is_html(response), path
        _assert_strict_script_policy(response, path)
        assert "no-store" in response["Cache-Control"], path
    clinic = Client()
    clinic.force_login(clinic_user)
    for path in [f"/portal/{spa.slug}/", f"/portal/{spa.slug}/referrals/new/", f"/portal/{spa.slug}/outcomes/"]:
        response = clinic.get(path)
        assert response.status_code == 200, path
        _assert_strict_script_policy(response, path)
        assert response["Cache-Control"] == "private, no-store", path


def test_the_policy_forbids_inline_script_and_allows_only_attribute_styles(owner_client, spa):
    response = owner_client.get(f"/s/{spa.slug}/referrals/")
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["script-src-attr"] == ["'none'"]
    assert policy["style-src"] == ["'self'"]  # no <style> elements
    assert policy["style-src-attr"] == ["'unsafe-inline'"]  # style="--brand: …", progress widths
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]


def test_no_template_uses_inline_script_or_event_handlers():
    """What the policy would refuse: an inline <script>, an on…= handler, hx-on, a javascript: URL."""
    forbidden = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|hx-on[:-]|javascript:", re.IGNORECASE)
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        if template.parts[-2] in ("emails", "documents"):  # e-mail bodies and PDF sources, never served as pages
            continue
        for number, line in enumerate(template.read_text().splitlines(), 1):
            if forbidden.search(line):
                offenders.append(f"{template.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_htmx_is_told_not_to_eval_inject_styles_or_keep_history(owner_client, spa, portal_world):
    _practice, _code, clinic_user = portal_world
    clinic = Client()
    clinic.force_login(clinic_user)
    for client, path in [(owner_client, f"/s/{spa.slug}/referrals/"), (clinic, f"/portal/{spa.slug}/")]:
        html = client.get(path).content.decode()
        meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
        assert meta, path
        config = json.loads(meta.group(1))
        assert config["allowEval"] is False and config["allowScriptTags"] is False
        assert config["includeIndicatorStyles"] is False  # htmx would otherwise inject a <style>
        assert config["historyCacheSize"] == 0  # no page snapshots (with patient data) in localStorage
        assert re.search(r"<body[^>]*\shx-history=\"false\"", html), path


def test_swagger_ui_gets_hashes_for_exactly_its_own_inline_bootstrap(client):
    response = client.get("/api/docs/")
    policy = _policy(response)
    scripts, styles = inline_hashes(response.content.decode())
    assert scripts and styles
    assert policy["script-src"] == ["'self'", *scripts]
    assert policy["style-src"] == ["'self'", *styles]
    # With a query string (reflected into the page) there are no hashes: the inline script is refused.
    with_query = _policy(client.get("/api/docs/?lang=en"))
    assert with_query["script-src"] == ["'self'"]


def test_pdfs_are_sent_without_a_policy_that_would_block_the_browsers_viewer(owner_client, spa):
    """Chrome shows a PDF through an internal <embed> that the PDF response's own object-src 'none' blocks."""
    referral_id = sample_values(spa)["referral_id"]
    response = owner_client.post(f"/s/{spa.slug}/referrals/{referral_id}/patient/export/", {"format": "pdf"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert "Content-Security-Policy" not in response
    assert response["Cache-Control"] == "private, no-store"


def test_public_logos_keep_their_own_caching(client, spa):
    response = client.get(f"/brand/{spa.public_id}/logo")
    assert "no-store" not in response.get("Cache-Control", "")


# --- production settings ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production_values():
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{k: getattr(settings, k) for k in {PRODUCTION_KEYS!r}}}))"
    )
    env = _production_environment()
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production(settings, production_values):
    for name, value in production_values.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    return production_values


def test_production_sends_hsts_and_the_other_headers(production, client):
    response = client.get("/accounts/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    _assert_strict_script_policy(response, "/accounts/login/ in production")


def test_production_cookies_are_secure_and_http_only(production, client, owner):
    from tests.factories import TEST_PASSWORD

    login_page = client.get("/accounts/login/", secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    response = client.post(
        "/accounts/login/", {"login": owner.email, "password": TEST_PASSWORD, "remember": "on"}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert int(session["max-age"]) <= 12 * 3600


def test_production_redirects_plain_http_to_https_except_the_health_check(production, client):
    response = client.get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    assert client.get("/accounts/login/", headers={"x-forwarded-proto": "https"}).status_code == 200
    assert client.get("/healthz").status_code not in (301, 302)  # load balancers probe over plain HTTP


def test_the_deploy_check_is_clean_under_production_settings():
    env = _production_environment()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
