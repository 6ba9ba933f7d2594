"""The Content-Security-Policy in a real browser: htmx still works under it, and nothing is refused.

Chromium enforces the policy the app sends. Every page listens for ``securitypolicyviolation`` (a script
injected by Playwright, which the page's policy does not govern) and the console is watched for errors;
any violation, console error or uncaught JavaScript error fails the test. The pages are the htmx-driven
ones: the inbox filter (hx-get + hx-push-url), a practice page's quick-log (hx-post swapping a card),
My day's done/undo, plus the portal, the landing page and Swagger UI at /api/docs/.

htmx history: after htmx navigations that push URLs, neither localStorage nor sessionStorage holds a page
snapshot (htmx 2.0.11 keeps its history cache in sessionStorage).
"""

import re

import pytest
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from partners.models import Stage
from referrals.models import Channel
from tests.e2e import conftest as e2e
from tests.factories import (
    TEST_PASSWORD,
    OfficeContactFactory,
    PortalAccessFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ReferralFactory,
    UserFactory,
)

# The browser harness's fixtures (tests/e2e/conftest.py), used here by name.
_asset_problems = e2e._asset_problems
_emails_link_to_live_server = e2e._emails_link_to_live_server
browser_context_args = e2e.browser_context_args
browser_type_launch_args = e2e.browser_type_launch_args
login = e2e.login
page = e2e.page
screenshot = e2e.screenshot

pytestmark = [
    pytest.mark.browser,
    # pytest-playwright's own base_url fixture (tests/e2e/conftest.py silences this for its folder).
    pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods"),
]

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline")
    + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


class Watcher:
    def __init__(self, page):
        self.page = page
        self.console_errors = []
        page.add_init_script(WATCH_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{self.page.url}: {message.text}")

    def assert_clean(self, where):
        violations = self.page.evaluate("() => window.__cspViolations || []")
        assert violations == [], f"CSP violations on {where}: {violations}"
        assert self.console_errors == [], f"Console errors on {where}: {self.console_errors}"
        # htmx 1 kept its snapshots in localStorage, htmx 2.0.11 in sessionStorage: neither may hold one.
        stored = self.page.evaluate("() => [localStorage.length, sessionStorage.getItem('htmx-history-cache')]")
        assert stored == [0, None], f"a page snapshot was kept in web storage on {where}: {stored}"


@pytest.fixture
def practice(spa, owner):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology", stage=Stage.CONTACTED, owner=owner)
        OfficeContactFactory(spa=spa, practice=practice, name="Olive Office")
        ReferralFactory(practice=practice, channel=Channel.PHONE, patient_first_name="Paula", patient_last_name="Phone")
        ReferralFactory(practice=practice, channel=Channel.FAX, patient_first_name="Fiona", patient_last_name="Fax")
        activity_services.task_create(
            spa=spa, title="Call the office manager", due_on=activity_selectors.spa_today(spa), assignee=owner
        )
    return practice


def test_htmx_pages_work_under_the_policy_without_a_single_violation(page, login, spa, owner, practice, screenshot):
    watcher = Watcher(page)
    login(page, owner.email, TEST_PASSWORD)
    policy = page.request.get(f"/s/{spa.slug}/referrals/").headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"] and "unsafe-eval" not in policy

    # The inbox filter: htmx swaps the results and pushes the URL.
    page.goto(f"/s/{spa.slug}/referrals/")
    expect(page.get_by_role("link", name="Paula Phone")).to_be_visible()
    page.get_by_label("Channel").select_option(label="Fax")
    expect(page.get_by_role("link", name="Paula Phone")).to_have_count(0)
    expect(page.get_by_role("link", name="Fiona Fax")).to_be_visible()
    expect(page).to_have_url(re.compile(r"channel=fax"))
    watcher.assert_clean("the inbox filter")

    # A practice page's quick-log: the card is redrawn in place.
    page.goto(f"/s/{spa.slug}/partners/{practice.public_id}/")
    card = page.locator("#practice-activity")
    card.get_by_text("Log a touchpoint").click()
    card.get_by_label("What happened").select_option(label="Phone call")
    card.get_by_label("Outcome").select_option(label="Went well")
    card.get_by_label("Notes").fill("Open to a lunch presentation.")
    card.get_by_role("button", name="Log touchpoint").click()
    expect(page.locator("#practice-activity").get_by_role("status")).to_have_text("Touchpoint logged.")
    expect(page.locator("#touchpoint-timeline")).to_contain_text("Open to a lunch presentation.")
    watcher.assert_clean("the practice page quick-log")

    # My day: done, then undo, each swapping the task's row.
    page.goto(f"/s/{spa.slug}/outreach/")
    row = page.locator(".task-row").filter(has_text="Call the office manager")
    row.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(row.get_by_role("button", name=re.compile("^Undo"))).to_be_visible()
    row.get_by_role("button", name=re.compile("^Undo")).click()
    expect(row.get_by_role("button", name=re.compile("^Mark done"))).to_be_visible()
    watcher.assert_clean("My day")
    screenshot(page, "hardening-my-day-under-csp")

    # Back and forward through the pushed inbox URLs: reloaded from the server, not from a snapshot.
    page.goto(f"/s/{spa.slug}/referrals/")
    page.get_by_label("Channel").select_option(label="Phone")
    expect(page.get_by_role("link", name="Fiona Fax")).to_have_count(0)
    page.go_back()
    expect(page.get_by_role("link", name="Fiona Fax")).to_be_visible()
    watcher.assert_clean("history navigation in the inbox")


def test_portal_and_landing_page_load_without_violations(page, login, spa):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Glow Dermatology")
        code = ReferralCodeFactory(spa=spa, practice=practice)
        clinic = UserFactory(email="desk@glow.example")
        PortalAccessFactory(spa=spa, practice=practice, user=clinic)
    watcher = Watcher(page)
    page.goto(f"/r/{code.code}")
    expect(page.get_by_role("heading").first).to_be_visible()
    watcher.assert_clean("the landing page")
    login(page, clinic.email, TEST_PASSWORD)
    page.goto(f"/portal/{spa.slug}/")
    expect(page.get_by_text("Partner portal · Glow Dermatology")).to_be_visible()
    page.get_by_role("button", name="Your account").click()  # Bootstrap's dropdown runs under the policy
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    watcher.assert_clean("the portal")


def test_swagger_ui_renders_under_its_scoped_policy(page, screenshot):
    watcher = Watcher(page)
    response = page.goto("/api/docs/")
    policy = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "unsafe-eval" not in policy
    assert all(source == "'self'" or source.startswith("'sha256-") for source in directives["script-src"])
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Spa Referrals API")
    expect(page.get_by_text("/api/v1/referrals/").first).to_be_visible()
    watcher.assert_clean("Swagger UI")
    screenshot(page, "hardening-swagger-ui")


def test_the_landing_page_with_a_foreign_script_injected_reports_the_violation(page, spa):
    """The watcher itself works: a script the policy forbids is reported (otherwise the tests above prove nothing)."""
    with scopes_disabled():
        code = ReferralCodeFactory(spa=spa, practice=PracticeFactory(spa=spa))
    watcher = Watcher(page)
    page.goto(f"/r/{code.code}")
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                   document.head.appendChild(s); }"""
    )
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert page.evaluate("() => window.__ran") is None
    with pytest.raises(AssertionError, match="CSP violations"):
        watcher.assert_clean("the landing page")
