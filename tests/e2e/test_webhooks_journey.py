"""Webhooks in the browser (issue 18 §4): an owner finds Settings → Webhooks empty, registers a practice's system
with the events it wants (a mistyped address is refused beside the field), copies the secret shown once, sends a
test event that a real receiver on 127.0.0.1 gets signed with that secret, and sees its 200 in the delivery log
without a reload. Screenshots at 1366×900: webhooks-empty, webhook-form-error, webhook-secret, webhook-detail,
webhooks-list."""

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD, PracticeFactory
from tests.referrals.webhook_helpers import Receiver, verified

pytestmark = pytest.mark.browser


def test_an_owner_registers_an_endpoint_and_watches_a_test_event_arrive(page, login, screenshot, spa, owner, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    with scope(spa=spa):
        PracticeFactory(spa=spa, name="Glow Dermatology", specialty="dermatology")
    with Receiver() as receiver:
        login(page, owner.email, TEST_PASSWORD)
        page.goto(f"/s/{spa.slug}/webhooks/")
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        expect(page.get_by_text("No active endpoints.")).to_be_visible()
        screenshot(page, "webhooks-empty")

        page.get_by_role("link", name="Add the first endpoint").click()
        page.get_by_label("Endpoint URL").fill("ftp://ehr.glow-derm.example/hooks")
        page.get_by_label("Description").fill("Glow Dermatology EHR")
        page.get_by_label("Whose system is it?").select_option(label="Glow Dermatology")
        page.get_by_label("A referral was declined").uncheck()
        page.get_by_role("button", name="Save and show the secret").click()
        expect(page.locator("#id_url_error")).to_contain_text("Enter a valid web address.")
        expect(page.locator(".error-summary")).to_contain_text("Endpoint URL")
        screenshot(page, "webhook-form-error")

        page.get_by_label("Endpoint URL").fill(receiver.url)
        page.get_by_role("button", name="Save and show the secret").click()
        expect(page.get_by_role("heading", name="Webhook endpoint saved")).to_be_visible()
        secret = page.locator("#webhook-secret").input_value()
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
        screenshot(page, "webhook-secret")

        page.get_by_role("link", name="I have copied the secret").click()
        expect(page.get_by_role("heading", name=re.compile("Glow Dermatology EHR"))).to_be_visible()
        expect(page.get_by_text(secret)).to_have_count(0)
        page.get_by_role("button", name="Send a test event").click()
        expect(page.locator(".toast")).to_contain_text("Test event queued")
        log = page.locator("#webhook-log")
        expect(log).to_contain_text("webhook.test")
        expect(log.locator(".badge", has_text="200").first).to_be_visible()
        screenshot(page, "webhook-detail")

        [request] = receiver.received
        assert verified(request, secret)
        assert request.json["type"] == "webhook.test"

        page.get_by_role("link", name="Webhooks", exact=True).first.click()
        row = page.locator("tr", has_text="Glow Dermatology EHR")
        expect(row).to_contain_text("5 events")
        expect(row.locator(".badge", has_text="200")).to_be_visible()
        screenshot(page, "webhooks-list")
