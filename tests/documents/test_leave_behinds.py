"""Leave-behinds: one page per specialty, whatever the size of the catalog (outreach.letters.documents)."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope
from pypdf import PdfReader

from infra.models import GeneratedDocument
from infra.pdf import render_template_to_pdf
from outreach.letters.documents import LEAVE_BEHIND_TEMPLATE, TRIM_LEVELS, leave_behind_context, leave_behind_fit
from outreach.letters.services import leave_behind_request
from spas.demo import seed_catalog
from tests.factories import (
    CredentialFactory,
    EquipmentFactory,
    OfferFactory,
    PracticeFactory,
    ProductLineFactory,
    ReferralCodeFactory,
    ServiceFactory,
    SpaFactory,
)

SECTIONS = ["Who we are", "Services for your patients", "Credentials", "Equipment", "Product lines", "How to refer"]


def pdf_text(content):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _request_and_render(spa, owner, django_capture_on_commit_callbacks, **kwargs):
    with scope(spa=spa), django_capture_on_commit_callbacks(execute=True):
        document = leave_behind_request(spa=spa, requested_by=owner, **kwargs)
    with scope(spa=spa):
        document.refresh_from_db()
    return document


def _expired_credential(spa):
    return CredentialFactory(
        spa=spa,
        person="Expired Evelyn",
        credential="Lapsed aromatherapy certificate",
        expires_on=timezone.localdate() - timedelta(days=3),
    )


@pytest.fixture
def demo_spa(db):
    spa = SpaFactory(name="Serenity Day Spa", slug="serenity-spa", referral_phone="(617) 555-0142")
    seed_catalog(spa)
    _expired_credential(spa)
    return spa


def _big_catalog(spa, specialty):
    """Ten times the demo catalog, all suited to ``specialty``, with long descriptions."""
    long = "Gentle and thorough, timed to the clinician's protocol, with a written note back to the office. " * 4
    for number in range(100):
        ServiceFactory(spa=spa, name=f"Bulk service {number:03d}", description=long, specialties=[specialty])
    for number in range(40):
        CredentialFactory(spa=spa, person=f"Bulk therapist {number:02d}", expires_on=None)
    for number in range(30):
        EquipmentFactory(spa=spa, name=f"Bulk table {number:02d}", purpose=long[:900], specialties=[specialty])
    for number in range(30):
        ProductLineFactory(spa=spa, name=f"Bulk line {number:02d}", purpose=long[:900], specialties=[specialty])
    OfferFactory(spa=spa, title="20% off a first calming facial", terms=long, specialties=[specialty])


def test_the_demo_catalog_leave_behind_is_one_page_with_every_section(
    demo_spa, owner, django_capture_on_commit_callbacks
):
    document = _request_and_render(demo_spa, owner, django_capture_on_commit_callbacks, specialty="dermatology")

    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    assert document.page_count == 1
    content = document.file.read()
    assert len(PdfReader(io.BytesIO(content)).pages) == 1
    text = pdf_text(content)
    for section in SECTIONS:
        assert section in text
    assert "Serenity Day Spa" in text
    assert "(617) 555-0142" in text
    assert "Expired Evelyn" not in text
    assert "Lapsed aromatherapy" not in text


def test_a_catalog_ten_times_larger_is_trimmed_to_one_page(spa, owner, django_capture_on_commit_callbacks):
    _big_catalog(spa, "dermatology")
    _expired_credential(spa)

    document = _request_and_render(spa, owner, django_capture_on_commit_callbacks, specialty="dermatology")

    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    assert document.page_count == 1
    content = document.file.read()
    assert len(PdfReader(io.BytesIO(content)).pages) == 1
    text = pdf_text(content)
    for section in SECTIONS:
        assert section in text
    assert "Bulk service 000" in text
    assert "Bulk service 099" not in text  # cut, and said so
    assert "more services" in text
    assert "Bulk therapist 00" in text
    assert "Bulk table 00" in text
    assert "Bulk line 00" in text
    assert "20% off a first calming facial" in text
    assert "Expired Evelyn" not in text


def test_trimming_stops_at_the_first_level_that_fits(spa):
    _big_catalog(spa, "oncology")

    with scope(spa=spa):
        context, rendered = leave_behind_fit(spa, specialty="oncology")

    assert rendered.page_count == 1
    assert 0 < context["trim_level"] < len(TRIM_LEVELS)
    with scope(spa=spa):
        looser = leave_behind_context(spa, specialty="oncology", level=context["trim_level"] - 1)
    assert render_template_to_pdf(LEAVE_BEHIND_TEMPLATE, looser).page_count > 1


def test_only_the_specialtys_services_appear(spa, owner, django_capture_on_commit_callbacks):
    ServiceFactory(spa=spa, name="Prenatal massage", specialties=["ob_gyn"])
    ServiceFactory(spa=spa, name="Post-laser calming facial", specialties=["dermatology"])

    document = _request_and_render(spa, owner, django_capture_on_commit_callbacks, specialty="ob_gyn")

    text = pdf_text(document.file.read())
    assert "Prenatal massage" in text
    assert "Post-laser calming facial" not in text


def test_a_personalized_leave_behind_names_the_practice_and_its_code(spa, owner, django_capture_on_commit_callbacks):
    ServiceFactory(spa=spa, name="Post-laser calming facial", specialties=["dermatology"])
    practice = PracticeFactory(spa=spa, name="Brookline Skin Associates")
    ReferralCodeFactory(spa=spa, practice=practice, code="BSKN42")

    document = _request_and_render(
        spa, owner, django_capture_on_commit_callbacks, specialty="dermatology", practice=practice
    )

    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    assert document.page_count == 1
    text = pdf_text(document.file.read())
    assert "Prepared for" in text
    assert "Brookline Skin Associates" in text
    assert "BSKN42" in text


def test_editing_the_catalog_makes_the_leave_behind_out_of_date(spa, owner, django_capture_on_commit_callbacks):
    from infra.documents import is_stale

    service = ServiceFactory(spa=spa, name="Calming facial", specialties=["dermatology"])
    document = _request_and_render(spa, owner, django_capture_on_commit_callbacks, specialty="dermatology")
    with scope(spa=spa):
        assert not is_stale(document)
        service.name = "Very calming facial"
        service.save()
        assert is_stale(document)


def test_the_leave_behind_page_requests_the_document_and_shows_the_documents_page(
    spa, staff_client, django_capture_on_commit_callbacks
):
    url = reverse("outreach:leave_behind", args=[spa.slug])
    assert staff_client.get(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"specialty": "dermatology", "practice": ""})

    assert response.status_code == 302
    assert response["Location"] == reverse("documents:list", args=[spa.slug])
    with scope(spa=spa):
        document = GeneratedDocument.objects.get(spa=spa, kind="leave_behind")
    assert document.status == GeneratedDocument.Status.READY
    assert document.source_type == "outreach.LeaveBehind"
    assert "Dermatology" in document.title


def test_the_leave_behind_form_refuses_another_spas_practice(spa, other_spa, staff_client):
    foreign = PracticeFactory(spa=other_spa, name="Not Ours Dermatology")

    response = staff_client.post(
        reverse("outreach:leave_behind", args=[spa.slug]), {"specialty": "dermatology", "practice": foreign.public_id}
    )

    assert response.status_code == 400
    with scope(spa=spa):
        assert not GeneratedDocument.objects.filter(spa=spa).exists()


def test_an_outsider_cannot_open_the_leave_behind_page(spa, outsider_client):
    assert outsider_client.get(reverse("outreach:leave_behind", args=[spa.slug])).status_code == 404
