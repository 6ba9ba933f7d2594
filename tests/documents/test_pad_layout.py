"""Referral pads print every service name whole (issue 21 §14): one a line, wrapped, the font stepping down no
further than 7.5 pt, "+N more at <landing address>" for what does not fit, and the rest of the slip ruled for
precautions (referrals.pads.layout). Checked on the PDF itself: its extracted text and its text positions."""

import base64
import io
import re
from types import SimpleNamespace

import pypdfium2
import pytest
from django.conf import settings
from django_scopes import scope
from PIL import Image
from pypdf import PdfReader

from infra.pdf import render_template_to_pdf
from infra.text_measure import wrap
from referrals.pads.documents import pad_build
from referrals.pads.layout import (
    MIN_PRECAUTION_LINES,
    PRECAUTION_PITCH_MM,
    SERVICE_FLOOR_PT,
    SERVICE_SIZES,
    layout_slip,
    logo_width_mm,
)

from ..factories import ClinicianFactory, OfferFactory, PracticeFactory, ReferralCodeFactory, ServiceFactory

CODE = "LONG42"
LONG_NAMES = [
    "Post-procedure lymphatic drainage massage for facial swelling",
    "Hydrating barrier-repair facial for skin sensitised by retinoids",
    "Oncology-trained gentle Swedish massage with adapted pressure",
    "Scar-tissue mobilisation massage after surgery, cleared by surgeon",
]
LONG_PRACTICE = "Brookline and Newton Centre Dermatology, Mohs Surgery and Laser Associates of Greater Boston, P.C."


def normalised(text):
    """Extracted text as one line: a name wrapped after a hyphen joins up again, other breaks become spaces."""
    text = re.sub(r"-\s*\n\s*", "-", text)
    return re.sub(r"\s+", " ", text)


def pdf_text(content):
    return normalised("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def text_lines(content, page_index=0):
    """(text, top y in points from the page's top, left x) of every text run on a page, via pypdfium2."""
    pdf = pypdfium2.PdfDocument(content)
    try:
        page = pdf[page_index]
        height = page.get_height()
        textpage = page.get_textpage()
        lines = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text:
                lines.append((text, height - top, left))
        return lines, height
    finally:
        pdf.close()


def _practice(spa, name, offer_title):
    spa.referral_phone = "(617) 555-0199"
    spa.referral_email = "refer@serene.example"
    spa.save()
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name=name, specialty="dermatology")
        ReferralCodeFactory(spa=spa, practice=practice, code=CODE)
        for service_name in LONG_NAMES:
            ServiceFactory(spa=spa, name=service_name, specialties=["dermatology"])
        OfferFactory(spa=spa, title=offer_title, specialties=["dermatology"])
    return practice


@pytest.fixture
def long_practice(spa):
    """Four services with 60+ character names, at a practice with an ordinary name."""
    return _practice(spa, "Brookline Dermatology Associates", "20% off a first facial")


@pytest.fixture
def crowded_practice(spa):
    """The same services, with a three-line practice name and a three-line offer taking room from them."""
    return _practice(spa, LONG_PRACTICE, "20% off a first calming facial for every referred patient, any day")


def render_pad(practice, paper="letter", clinician=None):
    with scope(spa=practice.spa):
        options = {"paper": paper, "pages": 1, "clinician": str(clinician.public_id) if clinician else None}
        template_name, context = pad_build(practice.spa, practice, options)
        return render_template_to_pdf(template_name, context), context


@pytest.mark.parametrize("paper", ["letter", "a4"])
def test_every_long_service_name_is_printed_whole_on_every_slip(long_practice, paper):
    assert all(len(name) >= 60 for name in LONG_NAMES)

    rendered, context = render_pad(long_practice, paper)

    assert rendered.page_count == 1
    text = pdf_text(rendered.content)
    for name in LONG_NAMES:
        assert text.count(name) == 4, name  # four slips, each with the whole name
    assert "…" not in text
    assert " more at " not in text
    assert float(context["layout"].service_size.removesuffix("pt")) >= SERVICE_FLOOR_PT


def test_a_crowded_slip_wraps_every_long_text_and_counts_the_services_left_off(crowded_practice):
    with scope(spa=crowded_practice.spa):
        clinician = ClinicianFactory(
            practice=crowded_practice,
            first_name="Anastasia-Maria",
            last_name="Papadopoulou-Fitzgerald",
            credentials="MD, PhD",
        )

    rendered, context = render_pad(crowded_practice, clinician=clinician)

    assert rendered.page_count == 1
    text = pdf_text(rendered.content)
    assert text.count(LONG_PRACTICE) == 4  # wrapped over lines, not truncated
    assert text.count("Anastasia-Maria Papadopoulou-Fitzgerald, MD, PhD") == 4
    assert text.count("20% off a first calming facial for every referred patient, any day") == 4
    layout = context["layout"]
    assert layout.services  # crowded, but never a slip that recommends nothing
    for service in layout.services:
        assert text.count(service.name) == 4, service.name
    assert len(layout.services) + layout.more_count == len(LONG_NAMES)
    if layout.more_count:
        assert text.count(f"+{layout.more_count} more at ") == 4
    assert "…" not in text


def test_too_many_services_end_with_how_many_more_and_the_landing_address(long_practice):
    with scope(spa=long_practice.spa):
        for number in range(12):
            ServiceFactory(
                spa=long_practice.spa,
                name=f"Extended aftercare programme number {number:02d} with weekly follow-up",
                specialties=["dermatology"],
            )

    rendered, context = render_pad(long_practice)

    layout = context["layout"]
    assert layout.service_size == f"{SERVICE_FLOOR_PT:g}pt"  # it stepped down as far as it may, no further
    assert layout.more_count > 0
    assert len(layout.services) + layout.more_count == 16
    text = pdf_text(rendered.content)
    address = settings.SITE_URL.split("://", 1)[-1] + "/r/" + CODE
    assert text.count(f"+{layout.more_count} more at {address}") == 4
    for service in layout.services:
        assert text.count(service.name) == 4, service.name  # what is listed is whole
    assert rendered.page_count == 1


def test_services_and_precautions_stay_clear_of_the_qr_footer(long_practice):
    rendered, context = render_pad(long_practice)

    lines, page_height = text_lines(rendered.content)
    footers = sorted(y for text, y, _x in lines if text.startswith("Scan the code"))
    precautions = sorted(y for text, y, _x in lines if text.startswith("Precautions"))
    assert len(footers) == len(precautions) == 4
    for precautions_y, footer_y in zip(precautions, footers, strict=True):
        # At least the minimum writing lines fit between the label and the footer.
        assert footer_y - precautions_y >= MIN_PRECAUTION_LINES * PRECAUTION_PITCH_MM * 72 / 25.4
    top_row_footer = footers[0]
    last_service_line = max(y for text, y, _x in lines if y < top_row_footer and "Precautions" not in text)
    assert last_service_line < top_row_footer


def layout_for(names, paper="letter"):
    return layout_slip(
        paper=paper,
        services=[SimpleNamespace(name=name) for name in names],
        landing_display="spa.example/r/ABC123",
        spa_name="Serene Test Spa",
        has_logo=False,
        practice_name="Brookline Dermatology",
        clinician_name="",
        specialty="Dermatology",
        phone="(617) 555-0199",
        email="refer@serene.example",
        offer_title="",
    )


def test_few_short_services_print_large_and_the_spare_band_becomes_more_precaution_lines():
    few = layout_for(["Calming facial", "LED therapy"])
    many = layout_for([f"Post-procedure lymphatic drainage massage {n}" for n in range(6)])

    assert few.service_size == f"{SERVICE_SIZES[0]:g}pt"
    assert len(few.precaution_lines) > MIN_PRECAUTION_LINES
    assert len(few.precaution_lines) > len(many.precaution_lines)
    assert float(many.service_size.removesuffix("pt")) < SERVICE_SIZES[0]
    # The band is used to the millimetre: services, the precautions label, its lines; nothing left empty.
    for layout in (few, many):
        assert 0 < layout.band_mm - layout.services_mm - layout.precautions_mm < 6


def test_wrapping_breaks_at_spaces_and_splits_only_a_word_longer_than_the_line():
    assert wrap("Calming facial", 100, 9) == ["Calming facial"]
    lines = wrap(LONG_NAMES[0], 40, 9)
    assert len(lines) > 1 and " ".join(lines) == LONG_NAMES[0]
    unbroken = "x" * 200
    assert "".join(wrap(unbroken, 40, 9)) == unbroken


def test_a_specialty_without_services_gets_a_line_to_write_one_in(long_practice):
    with scope(spa=long_practice.spa):
        long_practice.specialty = "oncology"
        long_practice.save()

    rendered, context = render_pad(long_practice)

    layout = context["layout"]
    assert layout.services == [] and layout.more_count == 0
    assert layout.services_mm > 0  # the write-in line
    assert rendered.page_count == 1
    assert "more at" not in pdf_text(rendered.content)
    assert 0 < layout.band_mm - layout.services_mm - layout.precautions_mm < 6


def test_the_layout_measures_with_the_font_the_pdf_prints_in():
    from infra.text_measure import _font

    # Without DejaVu Sans (fonts-dejavu-core) the layout falls back to a cautious average width: still safe,
    # but slips would list fewer services than fit. Say so here rather than in a puzzling pad.
    assert _font(False) is not None and _font(True) is not None
    assert "DejaVuSans" in _font(False).path


def test_a_long_spa_name_beside_a_logo_leaves_less_room_for_services():
    plain = layout_for(["Calming facial"])
    crowded = layout_slip(
        paper="letter",
        services=[SimpleNamespace(name="Calming facial")],
        landing_display="spa.example/r/ABC123",
        spa_name="The Serenity Integrative Wellness Day Spa and Medical Aesthetics Studio of Brookline",
        has_logo=True,
        practice_name="Brookline Dermatology",
        clinician_name="",
        specialty="Dermatology",
        phone="(617) 555-0199",
        email="refer@serene.example",
        offer_title="",
    )

    assert crowded.band_mm < plain.band_mm - 11  # the logo's height and two more lines of the name


def test_only_the_first_line_is_narrowed_by_something_beside_it():
    text = "The Serenity Integrative Wellness Day Spa and Medical Aesthetics Studio of Brookline"
    narrow_first = wrap(text, 90, 12, bold=True, first_width_mm=58)
    all_narrow = wrap(text, 58, 12, bold=True)

    assert " ".join(narrow_first) == text
    assert len(narrow_first) < len(all_narrow)


def test_a_slip_too_crowded_for_any_service_gives_up_one_precautions_line_for_the_first():
    crowded = layout_slip(
        paper="letter",
        services=[SimpleNamespace(name=name) for name in LONG_NAMES],
        landing_display="spa.example/r/ABC123",
        spa_name="The Serenity Integrative Wellness Day Spa and Medical Aesthetics Studio of Brookline",
        has_logo=True,
        logo_width=22,  # a 2:1 logo at its 11 mm height
        practice_name=LONG_PRACTICE,
        clinician_name="",
        specialty="Dermatology",
        phone="(617) 555-0199",
        email="refer@serene.example",
        offer_title="20% off a first calming facial for every referred patient, any weekday",
    )

    assert len(crowded.services) >= 1
    assert crowded.more_count == len(LONG_NAMES) - len(crowded.services)
    assert len(crowded.precaution_lines) == MIN_PRECAUTION_LINES - 1


def test_the_logo_prints_as_wide_as_its_proportions_allow():
    image = io.BytesIO()
    Image.new("RGB", (120, 60), "#7a2a55").save(image, format="PNG")
    data_uri = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()

    assert logo_width_mm(data_uri) == pytest.approx(22)
    assert logo_width_mm("data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode()) == 30
