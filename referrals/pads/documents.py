"""Referral pads: tear-off slips a practice hands to patients, with a QR code to the landing page.

Registered as the "referral_pad" document kind (infra.documents) from ReferralsConfig.ready(). The
source is the practice; options are {"paper": "letter"|"a4", "pages": 1–20, "clinician": public_id|None}.
Every piece of spa-entered text reaches the template as a context variable, so it is escaped.
"""

import base64
import hashlib
import io
import json
import mimetypes
import re

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from infra import documents
from infra.phones import format_phone
from partners.models import Clinician, ReferralCode
from spas.catalog import current_offers, services_for_specialty

from .layout import layout_slip, logo_width_mm

KIND = "referral_pad"
PAPER_SIZES = {"letter": "letter", "a4": "A4"}
MIN_PAGES = 1
MAX_PAGES = 20
SLIPS_PER_PAGE = 4  # 2 columns × 2 rows; how much of each slip goes where: referrals.pads.layout
# Bumped when the slip's layout changes, so pads printed with the old one are offered again as out of date.
LAYOUT_VERSION = 2
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#2a7a78"


def landing_url(code):
    """The absolute address a pad's QR code encodes: SITE_URL + /r/<code>."""
    return settings.SITE_URL + reverse("public:landing", args=[code])


def qr_svg_data_uri(text):
    """An SVG QR code (vector, so it stays sharp at any print size) as a data: URI."""
    # Imported here, not at the top: only a document render needs it, and a web worker that never renders one
    # is spared qrcode and its image modules (see infra.pdf on WeasyPrint).
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    image = qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def logo_data_uri(spa):
    """The spa's logo inlined as a data: URI, or "" when there is none or it cannot be read."""
    if not spa.logo:
        return ""
    try:
        with spa.logo.open("rb") as logo:
            content = logo.read()
    except OSError:
        return ""
    media_type = mimetypes.guess_type(spa.logo.name)[0] or "image/png"
    return f"data:{media_type};base64," + base64.b64encode(content).decode("ascii")


def _clinician_codes(practice):
    """Each clinician's oldest code (the one already printed), by clinician id."""
    codes = {}
    for code in ReferralCode.objects.filter(spa=practice.spa, practice=practice, clinician__isnull=False).order_by(
        "created_at", "id"
    ):
        codes.setdefault(code.clinician_id, code.code)
    return codes


def _clinician_of(practice, public_id):
    if not public_id:
        return None
    return Clinician.objects.filter(spa=practice.spa, practice=practice, public_id=public_id).first()


def _offer(spa, specialty):
    offers = current_offers(spa=spa, specialty=specialty)
    return offers[0] if offers else None


def pad_version(practice):
    """A hash of everything that appears on any pad of this practice; a change makes old pads stale."""
    spa = practice.spa
    offer = _offer(spa, practice.specialty)
    clinician_codes = _clinician_codes(practice)
    content = {
        "site": settings.SITE_URL,
        "layout": LAYOUT_VERSION,
        "practice": [practice.name, practice.specialty, practice.updated_at.isoformat()],
        "code": practice.referral_code,
        "clinicians": [
            [str(clinician.public_id), clinician.display_name, clinician_codes.get(clinician.pk, "")]
            for clinician in Clinician.objects.filter(spa=spa, practice=practice).order_by("pk")
        ],
        "spa": [spa.name, spa.brand_colour, spa.logo.name or "", spa.referral_phone, spa.referral_email],
        "services": [
            [str(service.public_id), service.name, service.updated_at.isoformat()]
            for service in services_for_specialty(spa=spa, specialty=practice.specialty)
        ],
        "offer": [str(offer.public_id), offer.title, offer.updated_at.isoformat()] if offer else None,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def pad_title(practice, options):
    clinician = _clinician_of(practice, options.get("clinician"))
    paper = "A4" if options.get("paper") == "a4" else "Letter"
    who = f"{practice.name} — {clinician.display_name}" if clinician else practice.name
    pages = options.get("pages", MIN_PAGES)
    return ngettext(
        "Referral pad: %(who)s (%(paper)s, %(pages)s page)",
        "Referral pad: %(who)s (%(paper)s, %(pages)s pages)",
        pages,
    ) % {"who": who, "paper": paper, "pages": pages}


def pad_build(spa, practice, options):
    """The template and context of a pad: the same slip repeated SLIPS_PER_PAGE times on each page."""
    clinician = _clinician_of(practice, options.get("clinician"))
    if options.get("clinician") and clinician is None:
        raise ValueError(_("The clinician of this pad no longer works at the practice."))
    code = (_clinician_codes(practice).get(clinician.pk) if clinician else None) or practice.referral_code
    if not code:
        raise ValueError(_("This practice has no referral code yet."))
    pages = min(max(int(options.get("pages") or MIN_PAGES), MIN_PAGES), MAX_PAGES)
    services = services_for_specialty(spa=spa, specialty=practice.specialty)
    url = landing_url(code)
    landing_display = url.split("://", 1)[-1]
    offer = _offer(spa, practice.specialty)
    logo = logo_data_uri(spa)
    paper = "a4" if options.get("paper") == "a4" else "letter"
    layout = layout_slip(
        paper=paper,
        services=services,
        landing_display=landing_display,
        spa_name=spa.name,
        has_logo=bool(logo),
        logo_width=logo_width_mm(logo) if logo else 0,
        practice_name=practice.name,
        clinician_name=clinician.display_name if clinician else "",
        specialty=practice.get_specialty_display(),
        phone=format_phone(spa.referral_phone, spa.country),
        email=spa.referral_email,
        offer_title=offer.title if offer else "",
    )
    context = {
        "spa": spa,
        "practice": practice,
        "clinician": clinician,
        "specialty": practice.get_specialty_display(),
        "paper": paper,
        "page_size": PAPER_SIZES[paper],
        "pages": range(pages),
        "slips": range(SLIPS_PER_PAGE),
        "layout": layout,
        "offer": offer,
        "code": code,
        "landing_url": url,
        "landing_display": landing_display,
        "qr_data_uri": qr_svg_data_uri(url),
        "logo_data_uri": logo,
        # Goes into a <style> block: only a validated hex colour, whatever the database holds.
        "brand_colour": spa.brand_colour if HEX_COLOUR.fullmatch(spa.brand_colour or "") else DEFAULT_COLOUR,
    }
    return "documents/referral_pad.html", context


def practice_subject(practice, options):
    return practice.public_id, practice.name


documents.register(
    documents.DocumentKind(
        kind=KIND,
        label=gettext_lazy("Referral pad"),
        source_model="partners.Practice",
        build=pad_build,
        version=pad_version,
        title=pad_title,
        subject=practice_subject,
    )
)
documents.register_creator(
    documents.DocumentCreator(label=gettext_lazy("Referral pad"), url_name="pad_choose:choose", icon="qr-code")
)
