"""The referral-pad journey in the browser (issue 21 §14): from the Documents page, the owner asks for a pad for
a practice whose services have long names, waits for it to be ready, downloads it, and every service name is
in the PDF whole — wrapped over lines, never cut with an ellipsis."""

import io
import re
from pathlib import Path

import pytest
from django_scopes import scope
from playwright.sync_api import expect
from pypdf import PdfReader

from partners.models import Stage
from tests.factories import TEST_PASSWORD, OfferFactory, PracticeFactory, ReferralCodeFactory, ServiceFactory

pytestmark = pytest.mark.browser

LONG_NAMES = [
    "Post-procedure lymphatic drainage massage for facial swelling",
    "Hydrating barrier-repair facial for skin sensitised by retinoids",
    "Oncology-trained gentle Swedish massage with adapted pressure",
]


def pdf_text(content):
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    text = re.sub(r"-\s*\n\s*", "-", text)  # a name wrapped after its hyphen joins up again
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def practice(spa):
    with scope(spa=spa):
        practice = PracticeFactory(
            spa=spa, name="Brookline Dermatology Associates", specialty="dermatology", stage=Stage.ACTIVE
        )
        ReferralCodeFactory(spa=spa, practice=practice, code="DERM42")
        for name in LONG_NAMES:
            ServiceFactory(spa=spa, name=name, specialties=["dermatology"])
        OfferFactory(spa=spa, title="20% off a first facial", specialties=["dermatology"])
    return practice


def test_the_owner_makes_a_pad_from_documents_and_its_service_names_are_whole(
    page, login, spa, owner, practice, screenshot
):
    assert all(len(name) >= 60 for name in LONG_NAMES)
    login(page, owner.email, TEST_PASSWORD)

    page.goto(f"/s/{spa.slug}/documents/")
    page.get_by_role("button", name="New document").click()
    page.get_by_role("link", name="Referral pad").click()
    expect(page.get_by_role("heading", name="Make a referral pad")).to_be_visible()
    page.get_by_label("Practice").select_option(label=practice.name)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name=f"Referral pad for {practice.name}")).to_be_visible()
    page.get_by_label("Paper size").select_option(label="US Letter")
    page.get_by_label("Pages to print").fill("2")
    page.get_by_role("button", name="Make referral pad").click()

    # Back on Documents: the row for the pad turns Ready (the table polls while anything renders).
    row = page.locator("tr", has_text=f"Referral pad: {practice.name} (Letter, 2 pages)")
    expect(row.get_by_text("Ready")).to_be_visible()
    screenshot(page, "documents-pad-ready")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    content = Path(download.path()).read_bytes()

    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 2
    text = pdf_text(content)
    for name in LONG_NAMES:
        assert text.count(name) == 8, name  # four slips a page, two pages, each with the whole name
    assert "…" not in text
    assert text.count("Brookline Dermatology Associates") == 8
