"""Where everything goes on a referral-pad slip, decided in Python before WeasyPrint renders it.

A slip (a quarter of the page) stacks, top to bottom: the spa's name, the "Referred by / Clinician /
Patient" fields, the recommended services, the precautions lines, and — pinned to the bottom — the
QR code with the contact details. Between the fields and the footer lies a band of known height; the
services take what they need of it and the precautions lines get the rest.

Services are never cut mid-name: one per line, wrapped onto as many lines as a name needs. The font
starts at ``SERVICE_SIZES[0]`` and steps down, but never below ``SERVICE_FLOOR_PT`` (7.5 pt: the
smallest size still comfortable to read on paper at arm's length), until every name fits while
``MIN_PRECAUTION_LINES`` writing lines remain. When even the floor is not enough, the slip lists the
services that fit and ends with "+N more at <landing address>" (the landing page lists them all); only
when not a single service would fit does the slip give up one precautions line for it.
The precautions get every millimetre left: as many lines as fit at ``PRECAUTION_PITCH_MM`` or more,
spread evenly over the band, so a slip has no empty space between its last line and its footer.

Heights come from measuring each text with the document font (infra.text_measure), which
errs on the side of too tall, and the template prints with exactly these sizes and heights.
"""

import base64
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from infra.text_measure import MM_PER_PT, line_count, text_width_mm

# Slip geometry in mm. The page's printable area (8 mm margins) holds a 2 × 2 grid of slips.
PAGE_MARGIN_MM = 8
PAGE_SIZES_MM = {"letter": (215.9, 279.4), "a4": (210.0, 297.0)}
SLIP_PADDING_MM = 5
CUT_LINE_MM = 0.3
SLIP_SHARE = 0.498  # of the page's width and height: a hair under half, so two always fit side by side

BODY_PT = 8.5
BODY_LINE = 1.3  # line-height of body text
FIELD_GAP_MM = 1
SPA_NAME_PT = 12
LOGO_MM = (30, 11)  # max width, max height
LOGO_GAP_MM = 2
LOGO_LINE_EXTRA_MM = 2.5  # centred on the name's first line (vertical-align: middle), the logo makes it taller still
BRAND_RULE_MM = 2.5 + 2 + 2  # the colour bar, the space under it, the space under the spa's name

SERVICE_SIZES = (10, 9.5, 9, 8.5, 8, 7.5)
SERVICE_FLOOR_PT = SERVICE_SIZES[-1]
SERVICE_LINE = 1.22
SERVICE_GAP_MM = 0.9
SERVICE_BOX_MM = 4.5  # the tick box and its gap, before the name's (hanging) text
SERVICES_TOP_MM = 0.8
WRITE_IN_MM = PRECAUTION_PITCH_MM = 7  # a handwritten line: ruled-paper spacing

PRECAUTION_LABEL_GAP_MM = 0.5
# PRECAUTION_PITCH_MM (above) is the least; more room makes the precautions lines taller, up to 7 mm × 4/3.
PRECAUTION_PITCH_MIN_MM = 4  # only when a huge header or footer leaves almost no band
MIN_PRECAUTION_LINES = 3

QR_MM = 24
CODE_PT = 11
CONTACT_PT = 8
URL_PT = 7
OFFER_PT = 8
OFFER_BOX_MM = 1 * 2 + 1.5 + 0.6  # padding, the space above it, the border
FOOTER_BOTTOM_MM = 4
FOOTER_GAP_MM = 2.5  # between the last precautions line and the footer
QR_COLUMN_MM = QR_MM + 3


def _lines_mm(lines, size_pt, line_height):
    return lines * size_pt * line_height * MM_PER_PT


def _mm(value):
    """A length for the stylesheet: always a dot decimal, whatever the active locale."""
    return f"{value:.2f}mm"


@dataclass
class SlipLayout:
    paper: str
    page_height: str
    service_size: str  # "9.5pt"
    service_line_height: str
    service_gap: str
    services: list  # the services printed on the slip, in catalog order
    more_count: int  # the services that did not fit, counted on the "+N more at" line
    more_text: str
    precaution_lines: range
    precaution_pitch: str
    qr_size: str
    write_in_height: str
    footer_height: str
    # The measured heights behind the layout, for tests and the curious.
    band_mm: float
    services_mm: float
    precautions_mm: float


def slip_geometry(paper):
    """(page height, slip height, slip width, slip inner width) in mm, as document.css lays them out."""
    width, height = PAGE_SIZES_MM[paper]
    page_height = height - 2 * PAGE_MARGIN_MM - 1.5  # a little slack so four slips never spill onto a new page
    slip_height = page_height * SLIP_SHARE  # the dashed cut lines sit outside it
    slip_width = (width - 2 * PAGE_MARGIN_MM) * SLIP_SHARE
    return page_height, slip_height, slip_width, slip_width - 2 * SLIP_PADDING_MM


def _labelled_lines(label, value, width, size):
    """Lines of "<b>Label:</b> value": the bold label takes the start of the first line."""
    label_width = text_width_mm(f"{label}: ", size, bold=True)
    return line_count(value, width, size, first_width_mm=width - label_width)


def logo_width_mm(data_uri):
    """How wide the logo prints (at most LOGO_MM, keeping its proportions); the widest when it cannot be read."""
    from PIL import Image, UnidentifiedImageError  # here, not at the top: only a document render needs it

    try:
        with Image.open(io.BytesIO(base64.b64decode(data_uri.partition(",")[2]))) as image:
            width, height = image.size
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return LOGO_MM[0]
    return min(LOGO_MM[0], LOGO_MM[1] * width / height) if width and height else LOGO_MM[0]


def _header_mm(*, spa_name, has_logo, logo_width, practice_name, clinician_name, specialty, width):
    beside_logo = width - (logo_width + LOGO_GAP_MM if has_logo else 0)
    spa_lines = line_count(spa_name, width, SPA_NAME_PT, bold=True, first_width_mm=beside_logo)
    spa_line = _lines_mm(1, SPA_NAME_PT, BODY_LINE)
    # The logo sits inline on the name's first line, which it makes as tall as itself.
    first_line = max(spa_line, LOGO_MM[1] + LOGO_LINE_EXTRA_MM) if has_logo else spa_line
    brand = BRAND_RULE_MM + first_line + (spa_lines - 1) * spa_line
    fields = [
        (_("Referred by"), practice_name),
        (_("Clinician"), clinician_name or "_" * 30),
        (_("Patient"), "_" * 22 + " " + _("Date") + ": " + "_" * 8),
    ]
    height = brand
    for label, value in fields:
        height += _lines_mm(_labelled_lines(label, value, width, BODY_PT), BODY_PT, BODY_LINE) + FIELD_GAP_MM
    recommended = _("Recommended for your %(specialty)s patient") % {"specialty": specialty}
    height += _lines_mm(line_count(recommended, width, BODY_PT, bold=True), BODY_PT, BODY_LINE)
    return height


def _footer_mm(*, landing_display, phone, email, offer_title, width):
    qr_block = QR_MM + _lines_mm(1, CODE_PT, 1.2)
    contact_width = width - QR_COLUMN_MM
    contact = _lines_mm(line_count(_("Scan the code or visit"), contact_width, CONTACT_PT), CONTACT_PT, BODY_LINE)
    contact += _lines_mm(line_count(landing_display, contact_width, URL_PT), URL_PT, BODY_LINE)
    for label, value in ((_("Phone"), phone), (_("Email"), email)):
        if value:
            contact += _lines_mm(_labelled_lines(label, value, contact_width, CONTACT_PT), CONTACT_PT, BODY_LINE)
    if offer_title:
        lines = _labelled_lines(_("For referred patients"), offer_title, contact_width - 3.5, OFFER_PT)
        contact += _lines_mm(lines, OFFER_PT, BODY_LINE) + OFFER_BOX_MM
    return max(qr_block, contact)


def _service_mm(name, size, width):
    return _lines_mm(line_count(name, width - SERVICE_BOX_MM, size), size, SERVICE_LINE) + SERVICE_GAP_MM


def _fit_services(services, names, *, room, width, landing_display):
    """(font size, services shown, height used): the largest size at which every name fits in ``room``, else
    the floor size with as many whole names as fit above a "+N more at <address>" line."""
    if not names:  # no service suits the specialty: one line for the clinician to write one in
        return SERVICE_FLOOR_PT, [], WRITE_IN_MM
    for size in SERVICE_SIZES:
        used = sum(_service_mm(name, size, width) for name in names)
        if used <= room:
            return size, list(services), used
    size, shown = SERVICE_FLOOR_PT, []
    used = _service_mm(more_text(len(names), landing_display), size, width)  # the "+N more" line itself
    for service, name in zip(services, names, strict=True):
        height = _service_mm(name, size, width)
        if used + height > room:
            break
        shown.append(service)
        used += height
    return size, shown, used


def more_text(count, landing_display):
    return _("+%(count)s more at %(address)s") % {"count": count, "address": landing_display}


def layout_slip(
    *,
    paper,
    services,
    landing_display,
    spa_name,
    has_logo,
    logo_width=LOGO_MM[0],
    practice_name,
    clinician_name,
    specialty,
    phone,
    email,
    offer_title,
):
    """The slip's layout for these services and texts (see the module docstring)."""
    page_height, slip_height, slip_width, width = slip_geometry(paper)
    header = _header_mm(
        spa_name=spa_name,
        has_logo=has_logo,
        logo_width=logo_width,
        practice_name=practice_name,
        clinician_name=clinician_name,
        specialty=specialty,
        width=width,
    )
    footer = _footer_mm(landing_display=landing_display, phone=phone, email=email, offer_title=offer_title, width=width)
    band = slip_height - SLIP_PADDING_MM - header - footer - FOOTER_BOTTOM_MM - FOOTER_GAP_MM
    precaution_label = _lines_mm(1, BODY_PT, BODY_LINE) + PRECAUTION_LABEL_GAP_MM
    room = band - precaution_label - MIN_PRECAUTION_LINES * PRECAUTION_PITCH_MM - SERVICES_TOP_MM

    names = [service.name for service in services]
    size, shown, used = _fit_services(services, names, room=room, width=width, landing_display=landing_display)
    if names and not shown:
        # A slip crowded by long names above and below: one precautions line less rather than no service at all.
        room += PRECAUTION_PITCH_MM
        size, shown, used = _fit_services(services, names, room=room, width=width, landing_display=landing_display)
    more_count = len(services) - len(shown)

    precautions = band - precaution_label - used - SERVICES_TOP_MM
    lines = max(MIN_PRECAUTION_LINES - 1, int(precautions // PRECAUTION_PITCH_MM))
    pitch = max(precautions / lines, PRECAUTION_PITCH_MIN_MM)
    return SlipLayout(
        paper=paper,
        page_height=_mm(page_height),
        service_size=f"{size:g}pt",
        service_line_height=f"{SERVICE_LINE:g}",
        service_gap=_mm(SERVICE_GAP_MM),
        services=shown,
        more_count=more_count,
        more_text=more_text(more_count, landing_display) if more_count else "",
        precaution_lines=range(lines),
        precaution_pitch=_mm(pitch),
        qr_size=_mm(QR_MM),
        write_in_height=_mm(WRITE_IN_MM),
        footer_height=_mm(footer),
        band_mm=band,
        services_mm=used,
        precautions_mm=lines * pitch,
    )
