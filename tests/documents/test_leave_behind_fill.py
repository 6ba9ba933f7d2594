"""The leave-behind uses the whole page at Letter and A4 (issue 21 §14): the type grows while it still fits one
page, and a short catalog moves "How to refer" to the page's foot (outreach.letters.documents). Checked on the PDF's
text positions (pypdfium2): the last line of content ends in the page's bottom quarter."""

import io

import pypdfium2
import pytest
from django.urls import reverse
from django_scopes import scope
from pypdf import PdfReader

from infra.models import GeneratedDocument
from outreach.letters.documents import SCALES, leave_behind_fit
from outreach.letters.services import leave_behind_request
from referrals.models import referral_settings_for
from spas.demo import seed_catalog
from spas.models import Role
from tests.factories import MembershipFactory, PracticeFactory, ReferralCodeFactory, ServiceFactory, SpaFactory

FOOTER_ZONE_PT = 14 * 72 / 25.4  # the page's bottom margin, where only the spa's address line sits
PAGE_HEIGHTS_PT = {"letter": 792, "a4": 841.89}


def content_lines(content):
    """(text, bottom y from the page's top, in pt) of each text run above the footer margin, and the page height."""
    pdf = pypdfium2.PdfDocument(content)
    try:
        page = pdf[0]
        height = page.get_height()
        textpage = page.get_textpage()
        lines = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text and bottom >= FOOTER_ZONE_PT:
                lines.append((text, height - bottom))
        return lines, height
    finally:
        pdf.close()


def assert_fills_the_page(content, paper):
    lines, height = content_lines(content)
    assert height == pytest.approx(PAGE_HEIGHTS_PT[paper], abs=1)
    lowest_text, lowest = max(lines, key=lambda line: line[1])
    assert lowest > height * 0.75, f"the page's content ends at {lowest / height:.0%} ({lowest_text!r})"
    assert len(PdfReader(io.BytesIO(content)).pages) == 1


@pytest.fixture
def demo_spa(db):
    spa = SpaFactory(name="Serenity Day Spa", slug="serenity-spa", referral_phone="(617) 555-0142")
    seed_catalog(spa)
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Brookline Dermatology Associates", specialty="dermatology")
        ReferralCodeFactory(spa=spa, practice=practice, code="DERM42")
    return spa


@pytest.fixture
def short_catalog_spa(db):
    spa = SpaFactory(name="Harbor Spa", slug="harbor-spa")
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Calming facial", specialties=["dermatology"])
        ServiceFactory(spa=spa, name="LED therapy", specialties=["dermatology"])
    return spa


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_the_demo_leave_behind_fills_the_page_in_larger_type(
    demo_spa, owner, django_capture_on_commit_callbacks, paper
):
    with scope(spa=demo_spa), django_capture_on_commit_callbacks(execute=True):
        practice = PracticeFactory._meta.model.objects.get(spa=demo_spa)
        document = leave_behind_request(
            spa=demo_spa, specialty="dermatology", practice=practice, paper=paper, requested_by=owner
        )
    with scope(spa=demo_spa):
        document.refresh_from_db()
        context, _rendered = leave_behind_fit(demo_spa, specialty="dermatology", practice=practice, paper=paper)

    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    assert context["scale"] > SCALES[0]  # the type grew to use the room
    assert_fills_the_page(document.file.read(), paper)


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_a_two_service_catalog_still_reaches_the_foot_of_the_page(short_catalog_spa, paper):
    with scope(spa=short_catalog_spa):
        context, rendered = leave_behind_fit(short_catalog_spa, specialty="dermatology", paper=paper)

    assert context["scale"] == SCALES[-1]
    assert context["refer_spacer"] != "0mm"  # "How to refer" moved down to the page's foot
    assert_fills_the_page(rendered.content, paper)
    lines, _height = content_lines(rendered.content)
    refer = next(y for text, y in lines if text.startswith("How to refer"))
    services = max(y for text, y in lines if "LED therapy" in text or "Calming facial" in text)
    assert refer > services


def test_how_to_refer_says_what_happens_next_with_the_spas_own_promise(demo_spa):
    with scope(spa=demo_spa):
        rules = referral_settings_for(demo_spa)
        rules.first_contact_business_days = 3
        rules.save()
        practice = PracticeFactory._meta.model.objects.get(spa=demo_spa)
        _context, rendered = leave_behind_fit(demo_spa, specialty="dermatology", practice=practice)

    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(rendered.content)).pages)
    assert "What happens next" in text
    assert "We contact your patient within 3 business days." in text
    assert "DERM42" in text


def test_the_leave_behind_form_makes_an_a4_page(demo_spa, django_capture_on_commit_callbacks, client):
    client.force_login(MembershipFactory(spa=demo_spa, role=Role.OWNER).user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("outreach:leave_behind", args=[demo_spa.slug]), {"specialty": "dermatology", "paper": "a4"}
        )

    assert response.status_code == 302
    with scope(spa=demo_spa):
        document = GeneratedDocument.objects.get(spa=demo_spa, kind="leave_behind")
    assert document.options == {"paper": "a4"}
    assert document.title.endswith("(A4)")
    page = PdfReader(io.BytesIO(document.file.read())).pages[0]
    assert float(page.mediabox.height) == pytest.approx(PAGE_HEIGHTS_PT["a4"], abs=1)
