"""Browser-test harness: Debian's Chromium driven by Playwright against pytest-django's live server.

Every test in tests/e2e is marked ``browser`` (``make test-fast`` leaves them out). Fixtures for journeys:

- ``page``: a desktop-size page (1366×900) whose relative URLs resolve against the live server;
- ``phone_page``: the same at 390×844, touch and mobile viewport;
- ``login(page, email, password)``, ``logout(page)``;
- ``signup(page, email, password)``: sign up and verify the address with the code from the outbox;
- ``screenshot(page, name)``: writes test-results/screenshots/<name>.png (or $E2E_SCREENSHOT_DIR/<name>.png);
- ``latest_email(address)`` / ``latest_email_text(address)``: the newest outbox row for an address;
- ``email_code(address)`` and ``email_link(address)``: the code or the app link in that email;
- ``assert_no_horizontal_scroll(page)``.

Emails link to ``settings.SITE_URL``; it points at the live server here, so a journey follows the real link.
"""

import os
import re
import time
from pathlib import Path

# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM calls
# made from that thread (fixtures, outbox reads). This must be set before any test runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from infra.models import OutgoingEmail  # noqa: E402
from tests.rendered_emails import rendered  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
DEFAULT_TIMEOUT_MS = 20_000
# CI runs the browser beside a busy test suite on two cores: give expectations room too.
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
E2E_DIR = Path(__file__).resolve().parent
# A verification or sign-in code as allauth formats it: "ABCD-EFGH" (or undashed / numeric).
CODE_LINE = re.compile(r"^\s*([A-Z0-9]{3,9}(?:-[A-Z0-9]{3,9}){0,2})\s*$", re.MULTILINE)
# "Password *" (the asterisk marks a required field), not "Password (again) *".
REQUIRED_PASSWORD_LABEL = re.compile(r"^Password\s*\*?$")
# Static assets whose failure means a page renders unstyled or without behaviour.
ASSET_TYPES = {"stylesheet", "script", "font", "image"}


def pytest_configure(config):
    # pytest-playwright's own base_url fallback trips a pytest deprecation; nothing here to fix.
    config.addinivalue_line("filterwarnings", "ignore:Session-scoped fixtures defined as instance methods")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- Browser and pages ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_name):
    """Launch the system Chromium; Playwright's own browsers are never downloaded."""
    if browser_name != "chromium":
        pytest.skip(f"browser tests run on Chromium only, not {browser_name}")
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server.url, "locale": "en-US"}


@pytest.fixture(autouse=True)
def _emails_link_to_live_server(request, settings):
    """Links in emails (invitations) are built from SITE_URL; make them reach the live server."""
    if "live_server" in request.fixturenames:
        settings.SITE_URL = request.getfixturevalue("live_server").url


class AssetProblems:
    """Uncaught JavaScript errors and failed static assets seen by a page."""

    def __init__(self):
        self.problems = []

    def watch(self, page):
        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error on {page.url}: {error}"))
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    def _on_response(self, response):
        if response.status >= 400 and response.request.resource_type in ASSET_TYPES:
            self.problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def _on_request_failed(self, request):
        # ERR_ABORTED: the page navigated away before the asset arrived, which is not a broken page.
        if request.resource_type in ASSET_TYPES and "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"{request.resource_type} {request.url} failed: {request.failure}")


@pytest.fixture
def _asset_problems():
    watcher = AssetProblems()
    yield watcher
    assert not watcher.problems, "The browser saw broken pages:\n" + "\n".join(watcher.problems)


def _open_page(new_context, watcher, **context_args):
    context = new_context(**context_args)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    watcher.watch(page)
    return page


@pytest.fixture
def page(new_context, live_server, _asset_problems):
    """A desktop browser window (its own cookies). Relative URLs go to the live server."""
    return _open_page(new_context, _asset_problems, viewport=DESKTOP)


@pytest.fixture
def phone_page(new_context, live_server, _asset_problems):
    """A 390×844 phone with touch, in its own browser context."""
    return _open_page(new_context, _asset_problems, viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.fixture
def new_page(new_context, live_server, _asset_problems):
    """Another person's browser: ``new_page()`` (desktop) or ``new_page(viewport=PHONE)``."""

    def make(viewport=DESKTOP, **context_args):
        return _open_page(new_context, _asset_problems, viewport=viewport, **context_args)

    return make


# --- Helpers -----------------------------------------------------------------------------------


@pytest.fixture
def screenshot(pytestconfig):
    """``screenshot(page, "spa-home")`` saves test-results/screenshots/spa-home.png (full page).

    E2E_SCREENSHOT_DIR moves them elsewhere: any pytest run here wipes test-results/ when it starts
    (pytest-playwright's delete_output_dir), so a parallel run of another suite can delete them.
    """
    folder = Path(os.environ.get("E2E_SCREENSHOT_DIR") or pytestconfig.rootpath / "test-results" / "screenshots")

    def take(page, name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def latest_email():
    """The newest outbox row sent to ``address`` (waits briefly for it), optionally filtered by subject."""

    def find(address, *, subject_contains="", after=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            with scopes_disabled():
                emails = OutgoingEmail.objects.filter(to__iexact=address, subject__icontains=subject_contains)
                if after is not None:
                    emails = emails.filter(pk__gt=after.pk)
                email = emails.order_by("-created_at", "-pk").first()
            if email is not None:
                return rendered(email)
            if time.monotonic() > deadline:
                raise AssertionError(f"No email to {address} (subject containing {subject_contains!r}) in the outbox")
            time.sleep(0.1)

    return find


@pytest.fixture
def latest_email_text(latest_email):
    """The plain-text body of the newest email to ``address``."""

    def text(address, **filters):
        return latest_email(address, **filters).body_text

    return text


@pytest.fixture
def email_code(latest_email_text):
    """The verification or sign-in code in the newest email to ``address``."""

    def code(address, **filters):
        body = latest_email_text(address, **filters)
        match = CODE_LINE.search(body)
        assert match, f"No code in the email to {address}:\n{body}"
        return match.group(1)

    return code


@pytest.fixture
def email_link(latest_email_text, live_server):
    """The first link into the app in the newest email to ``address``."""

    def link(address, **filters):
        body = latest_email_text(address, **filters)
        match = re.search(re.escape(live_server.url) + r"/\S+", body)
        assert match, f"No link to {live_server.url} in the email to {address}:\n{body}"
        return match.group(0)

    return link


@pytest.fixture
def login():
    """``login(page, email, password)``: sign in with a password and wait until the app has taken us in."""

    def sign_in(page, email, password):
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign In", exact=True).click()
        try:
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
        except PlaywrightTimeoutError:
            errors = page.locator(".alert-danger, .invalid-feedback").all_inner_texts()
            raise AssertionError(f"Could not sign in as {email}: {errors or 'still on the login page'}") from None

    return sign_in


@pytest.fixture
def logout():
    """``logout(page)``: sign out through the account menu, as a person would."""

    def sign_out(page):
        page.locator("nav").get_by_role("button", name=re.compile("@")).click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(lambda url: "/accounts/logout/" not in url)
        expect(page.locator("nav").get_by_role("link", name="Sign in")).to_be_visible()

    return sign_out


@pytest.fixture
def signup(email_code):
    """``signup(page, email, password)``: create an account and verify the address with the emailed code.

    Starts at /accounts/signup/ unless the page is already on a signup form (e.g. reached from an invitation).
    """

    def sign_up(page, email, password, *, start=True):
        if start:
            page.goto("/accounts/signup/")
        page.get_by_label("Email").fill(email)
        page.get_by_label(REQUIRED_PASSWORD_LABEL).fill(password)
        page.get_by_label("Password (again)").fill(password)
        page.get_by_role("button", name="Sign Up", exact=True).click()
        expect(page.get_by_role("heading", name="Enter Email Verification Code")).to_be_visible()
        page.get_by_label("Code").fill(email_code(email))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(lambda url: "/accounts/" not in url)

    return sign_up


@pytest.fixture
def assert_no_horizontal_scroll():
    def check(page):
        widths = page.evaluate(
            "() => ({page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth})"
        )
        assert widths["page"] <= widths["viewport"], f"{page.url} scrolls sideways: {widths}"

    return check


# --- Accessibility ---------------------------------------------------------------------------------

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 12).map(n => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n")[1])
  }));
}"""


@pytest.fixture
def axe():
    """``axe(page)``: axe-core's violations on the page as it is now, as readable lines (serious and critical
    only unless ``impacts`` says otherwise). axe-core comes from package-lock.json (a dev dependency). It is put
    into the page through the DevTools protocol, which the page's Content-Security-Policy does not govern (an
    inline <script> would be refused, rightly)."""
    source = AXE_SOURCE.read_text(encoding="utf-8")

    def run(page, impacts=("serious", "critical")):
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate("() => {\n" + source + "\n}")
        violations = page.evaluate(AXE_RUN)
        return [
            f"{violation['impact']}: {violation['id']} ({violation['help']}) at {'; '.join(violation['nodes'])}"
            for violation in violations
            if violation["impact"] in impacts
        ]

    return run
