"""Accessibility, measured: axe-core finds no serious or critical violation on the pages people use every day.

The workspace at 1366×900 (dashboard, partners list, board, practice page, inbox, referral page, My day,
reports), the partner portal's home and referral form, and the patient landing page on a 390×844 phone.
axe-core is a dev dependency from package-lock.json (see the ``axe`` fixture). A violation fails the test with
axe's own description and the elements it found, so the fix starts from the failure message.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from outreach.activity.selectors import spa_today
from outreach.activity.services import task_create
from partners.models import Stage
from tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ReferralFactory,
    ServiceFactory,
    UserFactory,
)
from tests.referrals.portal_helpers import give_portal_access

from .conftest import PHONE

pytestmark = pytest.mark.browser

FRONT_DESK = "frontdesk@glow-derm.example"


@pytest.fixture
def everyday_spa(spa, owner):
    """A spa mid-week: practices at several stages, referrals new, overdue and done, tasks for today."""
    now = timezone.now()
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Oncology-safe facial")
        glow = PracticeFactory(spa=spa, name="Glow Dermatology", specialty="dermatology", stage=Stage.ACTIVE)
        ClinicianFactory(spa=spa, practice=glow, first_name="Maya", last_name="Chen")
        PracticeFactory(spa=spa, name="Brookline Women's Health", specialty="ob_gyn", stage=Stage.MEETING)
        PracticeFactory(spa=spa, name="Riverside Physical Therapy", specialty="physical_therapy", stage=Stage.PROSPECT)
        referrals = [
            ReferralFactory(spa=spa, practice=glow, received_at=now - datetime.timedelta(days=days), status=status)
            for days, status in ((5, "received"), (3, "contacted"), (20, "completed"), (0, "received"))
        ]
        task_create(spa=spa, title="Call Glow Dermatology's office manager", due_on=spa_today(spa), assignee=owner)
        ReferralCodeFactory(spa=spa, practice=glow, code="GLOW42")
    return {"practice": glow, "referral": referrals[0]}


def _violations_by_page(page, axe, urls):
    found = {}
    for name, url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        violations = axe(page)
        if violations:
            found[name] = violations
    return found


def test_the_workspace_pages_have_no_serious_accessibility_violations(page, login, axe, spa, owner, everyday_spa):
    login(page, owner.email, TEST_PASSWORD)
    slug = spa.slug
    urls = [
        ("dashboard", f"/s/{slug}/"),
        ("partners list", reverse("partners:list", args=[slug])),
        ("board", reverse("partners:board", args=[slug])),
        ("practice page", reverse("partners:detail", args=[slug, everyday_spa["practice"].public_id])),
        ("inbox", reverse("referrals:inbox", args=[slug])),
        ("referral page", reverse("referrals:detail", args=[slug, everyday_spa["referral"].public_id])),
        ("email and text", reverse("inbound:list", args=[slug])),
        ("referral rules", reverse("referrals:settings", args=[slug])),
        ("my day", reverse("outreach:my_day", args=[slug])),
        ("reports", reverse("reports:index", args=[slug])),
    ]
    assert _violations_by_page(page, axe, urls) == {}


def test_the_partner_portal_has_no_serious_accessibility_violations(page, login, axe, spa, everyday_spa):
    front_desk = UserFactory(email=FRONT_DESK, full_name="Frida Frontdesk")
    give_portal_access(everyday_spa["practice"], front_desk)
    login(page, FRONT_DESK, TEST_PASSWORD)
    urls = [
        ("portal home", reverse("portal:home", args=[spa.slug])),
        ("portal referral form", reverse("portal:referral_new", args=[spa.slug])),
    ]
    assert _violations_by_page(page, axe, urls) == {}


def test_the_landing_page_on_a_phone_has_no_serious_accessibility_violations(new_page, axe, everyday_spa):
    phone = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    landing = reverse("public:landing", args=["GLOW42"])
    found = _violations_by_page(phone, axe, [("landing page", landing)])
    # After a failed submit too: the error summary and the fields' messages are part of the page.
    phone.get_by_role("button", name="Send").click()
    phone.wait_for_load_state("networkidle")
    if axe(phone):
        found["landing page after a failed submit"] = axe(phone)
    assert found == {}


def test_the_check_itself_finds_a_serious_violation(page, axe, spa):
    """The measurement is live: a page with an unlabelled input and grey-on-grey text fails it."""
    page.goto(reverse("public:landing", args=["NO-SUCH-CODE"]))
    page.evaluate(
        """() => {
        const bad = document.createElement("div");
        bad.innerHTML = '<p style="color:#aaa;background:#bbb">Hard to read</p><input type="text">';
        document.querySelector("main").append(bad);
    }"""
    )
    found = " ".join(axe(page))
    assert "color-contrast" in found
    assert "label" in found
