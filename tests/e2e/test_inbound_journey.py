"""Referrals by email and text in the browser: a clinic emails a referral with its form attached, the spa sees it
waiting in the inbox, reads it beside the pre-filled form, completes and confirms it; a text that is no referral
is discarded through the confirmation dialog. The pages fit a phone and pass axe."""

import re

import pytest
from django.test import Client
from django_scopes import scope, scopes_disabled
from playwright.sync_api import expect

from referrals.models import InboundReferralDraft, Referral
from tests.factories import TEST_PASSWORD, OfficeContactFactory, PracticeFactory
from tests.referrals.inbound_helpers import (
    pdf_attachment,
    post_email,
    post_sms,
    referral_email,
    set_up_inbound,
    twilio_params,
)

pytestmark = pytest.mark.browser

PRACTICE_NAME = "Brookline Dermatology"


@pytest.fixture
def arrived(spa, settings, live_server):
    """An email with a PDF from the practice's front desk, and a text from a number nobody knows."""
    set_up_inbound(settings)  # (its SITE_URL is the public address the provider signed the text for)
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name=PRACTICE_NAME, specialty="dermatology")
        OfficeContactFactory(
            spa=spa, practice=practice, name="Frida Frontdesk", email="frontdesk@brookline-derm.example"
        )
    from django.core.management import call_command

    call_command("inbound_sms_number", spa.slug, "+16175550100")
    client = Client()
    message = referral_email(
        spa,
        subject="Referral: Jane Doe, post-peel care",
        text=(
            "Hello,\n\nPlease see our patient for post-procedure skin care after her peel last week.\n\n"
            "Patient: Jane Doe\nPhone: (617) 555-0142\n\nShe agreed to be contacted by your spa.\n\n"
            "Thanks,\nFrida, front desk — Brookline Dermatology"
        ),
        attachments=[pdf_attachment()],
    )
    assert post_email(client, message).status_code == 201
    assert post_sms(client, twilio_params("+16175550100", body="Is your spa open on Sundays?")).status_code == 200
    settings.SITE_URL = live_server.url
    return practice


def test_the_spa_confirms_an_emailed_referral_and_discards_a_stray_text(
    page, phone_page, login, spa, owner, arrived, screenshot, assert_no_horizontal_scroll, axe
):
    login(page, owner.email, TEST_PASSWORD)
    page.goto(f"/s/{spa.slug}/referrals/")
    expect(page.get_by_text("2 referrals by email or text to confirm.")).to_be_visible()
    page.get_by_role("link", name="Review them").click()

    expect(page.get_by_role("heading", name="Referrals by email and text")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=PRACTICE_NAME)).to_contain_text("Referral: Jane Doe, post-peel care")
    expect(rows.filter(has_text="Sender not recognised")).to_contain_text("(617) 555-0142")
    assert axe(page) == []
    screenshot(page, "inbound-drafts")

    # The email: read it beside the form filled in from it, complete and save.
    rows.filter(has_text=PRACTICE_NAME).get_by_role("link", name="Confirm as a referral").click()
    expect(page.get_by_role("heading", name="Confirm as a referral")).to_be_visible()
    expect(page.get_by_label("Referring practice")).to_have_value(str(arrived.public_id))
    expect(page.get_by_label("Patient's first name")).to_have_value("Jane")
    expect(page.get_by_label("Patient's last name")).to_have_value("Doe")
    expect(page.get_by_label("Phone", exact=True)).to_have_value("(617) 555-0142")
    expect(page.get_by_label("Attachment to keep on the referral")).to_have_value(re.compile(r"^[0-9a-f-]{36}$"))
    expect(page.locator(".inbound-text")).to_contain_text("after her peel last week")
    assert axe(page) == []
    screenshot(page, "inbound-confirm")
    page.get_by_label("Reason for referral").select_option(label="Post-procedure skin care")
    # Saving without the office's attestation is refused, beside the box and in the summary at the top.
    page.get_by_role("button", name="Save referral").click()
    expect(page.locator(".error-summary")).to_contain_text("Consent to be contacted")
    page.get_by_label(re.compile("^The referring office says the patient agreed")).check()
    page.get_by_role("button", name="Save referral").click()
    expect(page.get_by_text("Referral saved from the message.")).to_be_visible()
    expect(page.get_by_role("link", name="the original message")).to_be_visible()
    expect(page.get_by_text(re.compile("^Referring office attests by email from"))).to_contain_text(
        "to be confirmed with the patient"
    )
    expect(page.locator(".timeline-note").filter(has_text="Arrived by email")).to_be_visible()
    with scopes_disabled():
        referral = Referral.objects.get(spa=spa)
        assert (referral.channel, referral.patient_name, bool(referral.attachment)) == ("email", "Jane Doe", True)

    # The text was a question, not a referral: discard it, after the dialog.
    page.goto(f"/s/{spa.slug}/referrals/inbound/")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.locator("tbody tr").get_by_role("link", name=re.compile("Sundays")).click()
    screenshot(page, "inbound-draft")
    page.get_by_role("button", name="Discard (not a referral)").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("deleted for good")
    dialog.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("Message discarded.")).to_be_visible()
    expect(page.get_by_text("No message waits for you.")).to_be_visible()
    with scopes_disabled():
        assert sorted(InboundReferralDraft.objects.values_list("status", flat=True)) == ["confirmed", "discarded"]

    # On a phone, the list and a message fit the screen.
    login(phone_page, owner.email, TEST_PASSWORD)
    phone_page.goto(f"/s/{spa.slug}/referrals/inbound/?status=confirmed")
    assert_no_horizontal_scroll(phone_page)
    phone_page.locator("tbody tr").get_by_role("link").first.click()
    expect(phone_page.locator(".inbound-text")).to_contain_text("Patient: Jane Doe")
    assert_no_horizontal_scroll(phone_page)
    screenshot(phone_page, "inbound-draft-phone")
