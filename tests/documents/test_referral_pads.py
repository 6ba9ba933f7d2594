"""Referral pads: the PDF carries the spa, the practice (or clinician), services, offer and a QR code that
decodes to exactly the landing page; one render per version; the practice page's form; tenancy."""

import io
import re

import pypdfium2
import pytest
import zxingcpp
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from PIL import Image
from pypdf import PdfReader

from infra import documents
from infra.models import GeneratedDocument
from infra.pdf import render_template_to_pdf
from referrals.pads.documents import KIND, pad_build
from referrals.pads.services import referral_pad_request

from ..factories import (
    ClinicianFactory,
    OfferFactory,
    PracticeFactory,
    ReferralCodeFactory,
    ServiceFactory,
)

PRACTICE_CODE = "DERM42"
CLINICIAN_CODE = "PATEL7"


@pytest.fixture
def pad_spa(spa):
    spa.referral_phone = "(617) 555-0199"
    spa.referral_email = "refer@serene.example"
    spa.brand_colour = "#7a2a55"
    spa.save()
    return spa


@pytest.fixture
def practice(pad_spa):
    with scope(spa=pad_spa):
        practice = PracticeFactory(spa=pad_spa, name="Brookline Dermatology Associates", specialty="dermatology")
        ReferralCodeFactory(spa=pad_spa, practice=practice, code=PRACTICE_CODE)
        ServiceFactory(spa=pad_spa, name="Post-peel calming facial", specialties=["dermatology"])
        ServiceFactory(spa=pad_spa, name="Prenatal massage", specialties=["ob_gyn"])
        OfferFactory(spa=pad_spa, title="20% off a first facial", specialties=["dermatology"])
        return practice


@pytest.fixture
def clinician(practice):
    with scope(spa=practice.spa):
        clinician = ClinicianFactory(practice=practice, first_name="Priya", last_name="Patel", credentials="MD")
        ReferralCodeFactory(spa=practice.spa, practice=practice, clinician=clinician, code=CLINICIAN_CODE)
        return clinician


def make_pad(practice, user, django_capture_on_commit_callbacks, **options):
    with scope(spa=practice.spa), django_capture_on_commit_callbacks(execute=True):
        document = referral_pad_request(
            spa=practice.spa,
            practice=practice,
            requested_by=user,
            paper=options.get("paper", "letter"),
            pages=options.get("pages", 1),
            clinician=options.get("clinician"),
        )
    with scope(spa=practice.spa):
        document.refresh_from_db()
    return document


def pdf_bytes(document):
    assert document.status == GeneratedDocument.Status.READY, document.failure_reason
    with document.file.open("rb") as handle:
        return handle.read()


def pdf_text(content):
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def qr_texts(content, page_index=0):
    pdf = pypdfium2.PdfDocument(content)
    try:
        image = pdf[page_index].render(scale=4).to_pil()
    finally:
        pdf.close()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def documents_of(spa):
    with scopes_disabled():
        return list(GeneratedDocument.objects.filter(spa=spa, kind=KIND))


# --- the PDF ------------------------------------------------------------------------------------


def test_a_practice_pad_carries_everything_the_issue_lists(practice, owner, django_capture_on_commit_callbacks):
    document = make_pad(practice, owner, django_capture_on_commit_callbacks, pages=2)

    content = pdf_bytes(document)
    text = pdf_text(content)
    assert "Serene Test Spa" in text
    assert "Referred by: Brookline Dermatology Associates" in text
    assert "Post-peel calming facial" in text
    assert "Prenatal massage" not in text  # not a dermatology service
    assert "☐" in text
    assert "Precautions:" in text
    assert PRACTICE_CODE in text
    assert "(617) 555-0199" in text
    assert "refer@serene.example" in text
    assert "20% off a first facial" in text
    assert document.page_count == 2
    assert len(PdfReader(io.BytesIO(content)).pages) == 2


def test_the_qr_code_decodes_to_exactly_the_practice_landing_page(practice, owner, django_capture_on_commit_callbacks):
    document = make_pad(practice, owner, django_capture_on_commit_callbacks)

    texts = qr_texts(pdf_bytes(document))

    assert texts, "no QR code found on page 1"
    assert set(texts) == {settings.SITE_URL + "/r/" + PRACTICE_CODE}
    assert len(texts) == 4  # one per tear-off slip


def test_a_clinician_pad_names_them_and_carries_their_own_code(
    practice, clinician, owner, django_capture_on_commit_callbacks
):
    document = make_pad(practice, owner, django_capture_on_commit_callbacks, clinician=clinician)

    content = pdf_bytes(document)
    text = pdf_text(content)
    assert "Referred by: Brookline Dermatology Associates" in text
    assert "Priya Patel, MD" in text
    assert CLINICIAN_CODE in text
    assert set(qr_texts(content)) == {settings.SITE_URL + "/r/" + CLINICIAN_CODE}


@pytest.mark.parametrize(("paper", "size"), [("letter", (612, 792)), ("a4", (595, 842))])
def test_letter_and_a4_pads_have_their_page_size(practice, owner, django_capture_on_commit_callbacks, paper, size):
    document = make_pad(practice, owner, django_capture_on_commit_callbacks, paper=paper, pages=3)

    pages = PdfReader(io.BytesIO(pdf_bytes(document))).pages
    assert len(pages) == 3
    for page in pages:
        assert float(page.mediabox.width) == pytest.approx(size[0], abs=1.5)
        assert float(page.mediabox.height) == pytest.approx(size[1], abs=1.5)


def test_twenty_pages_print_twenty_pages(practice, owner, django_capture_on_commit_callbacks):
    document = make_pad(practice, owner, django_capture_on_commit_callbacks, pages=20)

    assert document.page_count == 20
    assert len(PdfReader(io.BytesIO(pdf_bytes(document))).pages) == 20


def test_a_practice_without_a_code_gets_one_before_the_pad_is_made(pad_spa, owner, django_capture_on_commit_callbacks):
    with scope(spa=pad_spa):
        practice = PracticeFactory(spa=pad_spa, name="Codeless Chiropractic", specialty="chiropractic")

    document = make_pad(practice, owner, django_capture_on_commit_callbacks)

    with scope(spa=pad_spa):
        code = practice.referral_code
    assert code
    assert set(qr_texts(pdf_bytes(document))) == {settings.SITE_URL + "/r/" + code}


def test_many_services_are_listed_while_they_fit_and_the_rest_counted_with_the_landing_address(
    practice, owner, django_capture_on_commit_callbacks
):
    with scope(spa=practice.spa):
        for number in range(30):
            ServiceFactory(spa=practice.spa, name=f"Extra facial {number:02d}", specialties=["dermatology"])

    document = make_pad(practice, owner, django_capture_on_commit_callbacks)

    assert document.page_count == 1
    text = pdf_text(pdf_bytes(document))
    shown = [number for number in range(30) if f"Extra facial {number:02d}" in text]
    address = settings.SITE_URL.split("://", 1)[-1] + "/r/" + PRACTICE_CODE
    more = re.search(r"\+(\d+) more at " + re.escape(address), text)
    assert more, text
    shown_total = len(shown) + ("Post-peel calming facial" in text)  # the fixture's own service, then these 30
    assert shown and shown_total + int(more.group(1)) == 31


# --- one render per version ------------------------------------------------------------------------


def test_asking_twice_renders_once(practice, owner, django_capture_on_commit_callbacks, monkeypatch):
    renders = []
    original = documents.render_template_to_pdf
    monkeypatch.setattr(
        documents, "render_template_to_pdf", lambda *args, **kwargs: renders.append(args) or original(*args, **kwargs)
    )

    first = make_pad(practice, owner, django_capture_on_commit_callbacks)
    second = make_pad(practice, owner, django_capture_on_commit_callbacks)

    assert first.pk == second.pk
    assert len(documents_of(practice.spa)) == 1
    assert len(renders) == 1


def test_renaming_the_practice_makes_the_old_pad_stale(practice, owner, django_capture_on_commit_callbacks):
    old = make_pad(practice, owner, django_capture_on_commit_callbacks)

    with scope(spa=practice.spa):
        practice.name = "Brookline Skin Center"
        practice.save()
        assert documents.is_stale(old)

    new = make_pad(practice, owner, django_capture_on_commit_callbacks)

    assert new.pk != old.pk
    assert len(documents_of(practice.spa)) == 2
    assert "Referred by: Brookline Skin Center" in pdf_text(pdf_bytes(new))


def test_a_new_phone_or_service_makes_the_old_pad_stale(practice, owner, django_capture_on_commit_callbacks):
    old = make_pad(practice, owner, django_capture_on_commit_callbacks)
    with scope(spa=practice.spa):
        practice.spa.referral_phone = "(617) 555-0111"
        practice.spa.save()
        assert documents.is_stale(old)

    newer = make_pad(practice, owner, django_capture_on_commit_callbacks)
    with scope(spa=practice.spa):
        assert not documents.is_stale(newer)
        ServiceFactory(spa=practice.spa, name="LED light therapy", specialties=["dermatology"])
        assert documents.is_stale(newer)


# --- hostile text -------------------------------------------------------------------------------


def test_a_hostile_practice_name_is_printed_as_text_and_nothing_is_fetched(
    pad_spa, owner, django_capture_on_commit_callbacks
):
    hostile = '<img src="file:///etc/passwd">'
    with scope(spa=pad_spa):
        practice = PracticeFactory(spa=pad_spa, name=hostile, specialty="dermatology")
        ReferralCodeFactory(spa=pad_spa, practice=practice, code="HOST42")
        template_name, context = pad_build(pad_spa, practice, {"paper": "letter", "pages": 1, "clinician": None})
        rendered = render_template_to_pdf(template_name, context)

    assert rendered.refused == []
    assert hostile in pdf_text(rendered.content)

    document = make_pad(practice, owner, django_capture_on_commit_callbacks)
    assert hostile in pdf_text(pdf_bytes(document))


# --- the form on the practice page -----------------------------------------------------------------


def pad_url(spa, practice):
    return reverse("pads:request", args=[spa.slug, practice.public_id])


def test_the_practice_page_shows_the_pad_panel(practice, owner_client):
    response = owner_client.get(reverse("partners:detail", args=[practice.spa.slug, practice.public_id]))

    assert response.status_code == 200
    assert pad_url(practice.spa, practice) in response.content.decode()
    assert "Referral pad" in response.content.decode()


def test_staff_can_request_a_pad_and_land_on_documents(
    practice, clinician, staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            pad_url(practice.spa, practice), {"paper": "a4", "pages": "2", "clinician": str(clinician.public_id)}
        )

    assert response.status_code == 302
    assert response["Location"] == reverse("documents:list", args=[practice.spa.slug])
    [document] = documents_of(practice.spa)
    assert document.options == {"paper": "a4", "pages": 2, "clinician": str(clinician.public_id)}
    assert document.status == GeneratedDocument.Status.READY
    assert document.page_count == 2
    follow = staff_client.get(response["Location"])
    assert "is being made" in follow.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"paper": "letter", "pages": "0"}, "pages"),
        ({"paper": "letter", "pages": "21"}, "pages"),
        ({"paper": "letter", "pages": "x"}, "pages"),
        ({"paper": "legal", "pages": "1"}, "paper"),
    ],
)
def test_the_pad_form_rejects_bad_values_beside_the_field(practice, owner_client, data, field):
    response = owner_client.post(pad_url(practice.spa, practice), data)

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert 'aria-invalid="true"' in response.content.decode()
    assert documents_of(practice.spa) == []


def test_a_clinician_of_another_practice_is_refused(practice, owner_client):
    with scope(spa=practice.spa):
        elsewhere = ClinicianFactory(practice=PracticeFactory(spa=practice.spa))

    response = owner_client.post(
        pad_url(practice.spa, practice), {"paper": "letter", "pages": "1", "clinician": str(elsewhere.public_id)}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["clinician"]
    assert documents_of(practice.spa) == []


def test_another_spas_practice_is_not_found(practice, other_spa, owner_client):
    with scope(spa=other_spa):
        theirs = PracticeFactory(spa=other_spa)

    response = owner_client.post(
        reverse("pads:request", args=[practice.spa.slug, theirs.public_id]), {"paper": "letter", "pages": "1"}
    )

    assert response.status_code == 404
    assert documents_of(practice.spa) == []
    assert documents_of(other_spa) == []


def test_an_outsider_cannot_request_our_pad(practice, outsider_client):
    response = outsider_client.post(pad_url(practice.spa, practice), {"paper": "letter", "pages": "1"})

    assert response.status_code == 404
    assert documents_of(practice.spa) == []


def test_the_spa_logo_is_inlined_and_nothing_else_is_loaded(practice):
    spa = practice.spa
    image = io.BytesIO()
    Image.new("RGB", (40, 20), "#7a2a55").save(image, format="PNG")
    spa.logo.save("logo.png", ContentFile(image.getvalue()))

    with scope(spa=spa):
        template_name, context = pad_build(spa, practice, {"paper": "a4", "pages": 1, "clinician": None})
        rendered = render_template_to_pdf(template_name, context)

    assert context["logo_data_uri"].startswith("data:image/png;base64,")
    assert rendered.refused == []
    assert rendered.page_count == 1


def test_the_pad_form_has_its_own_page(practice, clinician, owner_client):
    response = owner_client.get(pad_url(practice.spa, practice))

    assert response.status_code == 200
    assert "Priya Patel, MD" in response.content.decode()
    assert documents_of(practice.spa) == []
