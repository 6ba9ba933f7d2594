"""Outreach documents: the one-page leave-behind and personalized letters (registered in apps.ready).

Kinds
- ``leave_behind`` (source: the spa's LeaveBehind row for a specialty; no options) and
  ``leave_behind_practice`` (source: a Practice; options ``{"specialty": code}``): the same page, the
  second one personalized ("Prepared for <practice>", the practice's own referral code and QR). Two
  kinds because a kind's version is computed from its source alone: personalizing by source lets a
  practice edit make its leave-behind out of date.
- ``letter`` (source: a Practice; options ``{"template": uuid, "signature_name": str}``) and
  ``letter_batch`` (source: an outreach LetterBatch): one letter, or all of a batch's letters in one
  PDF. A batch normally renders part by part in ``outreach.tasks.letter_batch_render_task`` and is
  combined with pypdf; the ``letter_batch`` kind renders the combined PDF in one go and serves the
  documents page's "Regenerate" and the documents sweep when a batch worker died.

The one-page rule for leave-behinds
-----------------------------------
A leave-behind is always exactly one page. The build step renders the page and, while it has more
than one page, applies the next level of ``TRIM_LEVELS`` and renders again. Each level keeps every
section and cuts, in this order:

0. at most 24 services, 16 credentials, 12 equipment and 12 product lines (a page never holds more);
   descriptions cut to 160 characters;
1. descriptions cut to 80 characters, talking points to 600;
2. no descriptions; 12 services, 8 credentials, 6 equipment, 6 product lines; talking points 400;
3. 8 services, 5 credentials, 4 equipment, 4 product lines; offer terms 200; talking points 300;
4. 5 services, 3 credentials, 2 equipment, 2 product lines; offer terms 120; talking points 200;
5. 3 services, 2 credentials, 1 equipment, 1 product line; offer terms 80; talking points 120.

Filling the page
----------------
A short catalog must not leave the bottom of the page empty. Every size on the page is in rem, and the
build step picks the root size: at the first trimming level that fits, it searches ``SCALES`` (from 10 pt
up to 16 pt) for the largest size that still fits one page, so a short catalog prints in larger type with
more air. The footer (the spa's address line) sits in the page's bottom margin. Letter or A4 (option
``paper``; Letter by default).

Lists keep the catalog's own order (services by category then name, credentials by practitioner,
equipment and product lines by name) and say "+ N more" for what was cut. Every text on the page
has a bounded length, so the last level always fits; if it did not, the render fails rather than
print two pages.
"""

import hashlib
import json
import re

from django.conf import settings
from django.db.models import Max
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.documents import DocumentCreator, DocumentKind, register, register_creator
from infra.pdf import render_template_to_pdf
from partners.models import Practice
from referrals.models import ReferralSettings
from referrals.pads.documents import landing_url, logo_data_uri, qr_svg_data_uri
from spas import catalog
from spas.models import Equipment, Membership, ProductLine, Role, Specialty

from ..models import LeaveBehind, LetterTemplate
from . import placeholders

LEAVE_BEHIND_TEMPLATE = "documents/leave_behind.html"
LETTER_TEMPLATE = "documents/letter.html"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#2a7a78"

PAPER_SIZES = {"letter": "letter", "a4": "A4"}
PAGE_BOTTOM_MARGIN_MM = 14  # as in the template's @page rule: the footer line sits in it
TWO_COLUMNS_FROM = 6  # catalog items on the page
MIN_SPACER_MM = 4  # less spare room than this is left where it is
# Root font sizes in pt, from the base size up: the largest that still fits one page is used.
SCALES = [10, 10.5, 11, 11.5, 12, 12.5, 13, 13.5, 14, 15, 16]
# Bumped when the page's layout changes, so leave-behinds printed with the old one show as out of date.
LAYOUT_VERSION = 2

TRIM_LEVELS = [
    {
        "services": 24,
        "credentials": 16,
        "equipment": 12,
        "product_lines": 12,
        "description": 160,
        "points": 4000,
        "terms": 400,
    },
    {
        "services": 24,
        "credentials": 16,
        "equipment": 12,
        "product_lines": 12,
        "description": 80,
        "points": 600,
        "terms": 400,
    },
    {
        "services": 12,
        "credentials": 8,
        "equipment": 6,
        "product_lines": 6,
        "description": 0,
        "points": 400,
        "terms": 400,
    },
    {
        "services": 8,
        "credentials": 5,
        "equipment": 4,
        "product_lines": 4,
        "description": 0,
        "points": 300,
        "terms": 200,
    },
    {
        "services": 5,
        "credentials": 3,
        "equipment": 2,
        "product_lines": 2,
        "description": 0,
        "points": 200,
        "terms": 120,
    },
    {"services": 3, "credentials": 2, "equipment": 1, "product_lines": 1, "description": 0, "points": 120, "terms": 80},
]


class LeaveBehindTooLong(Exception):
    """Even the last trimming level does not fit on one page."""


def brand_colour(spa):
    """The spa's colour for print, only if it is a plain #rrggbb (it lands inside a style element)."""
    colour = spa.brand_colour or ""
    return colour if HEX_COLOUR.fullmatch(colour) else DEFAULT_COLOUR


def _digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:64]


def _spa_profile(spa):
    return [
        spa.name,
        spa.address,
        spa.phone,
        spa.email,
        spa.website,
        spa.booking_url,
        spa.referral_email,
        spa.referral_phone,
        spa.brand_colour,
        spa.logo.name if spa.logo else "",
    ]


def _rows(items):
    return [(item.pk, item.updated_at) for item in items]


def _catalog_state(spa):
    """What a leave-behind prints from the catalog: any edit, archive or expiry changes it."""
    today = catalog.spa_today(spa)
    return {
        "profile": _spa_profile(spa),
        "services": _rows(catalog.active_items(catalog.CATALOG_MODELS["services"], spa=spa)),
        "offers": _rows(catalog.current_offers(spa=spa, on_date=today)),
        "credentials": _rows(catalog.current_credentials(spa=spa, on_date=today)),
        "equipment": _rows(catalog.active_items(Equipment, spa=spa)),
        "product_lines": _rows(catalog.active_items(ProductLine, spa=spa)),
        "points": [(row.specialty, row.updated_at) for row in catalog.talking_points_for(spa=spa)],
        "first_contact_days": _first_contact_days(spa),
        "layout": LAYOUT_VERSION,
    }


def _first_contact_days(spa):
    """The spa's promise, read without creating its settings row (a version must not write)."""
    days = ReferralSettings.objects.filter(spa=spa).values_list("first_contact_business_days", flat=True).first()
    return days or ReferralSettings._meta.get_field("first_contact_business_days").default


def _practice_state(practice):
    return [practice.name, practice.city, practice.address, practice.updated_at, practice.referral_code]


def leave_behind_version(leave_behind):
    return _digest(_catalog_state(leave_behind.spa))


def leave_behind_practice_version(practice):
    return _digest({"catalog": _catalog_state(practice.spa), "practice": _practice_state(practice)})


def _specialty_of(source, options):
    return source.specialty if isinstance(source, LeaveBehind) else options.get("specialty", "")


def _specialty_label(specialty):
    return dict(Specialty.choices).get(specialty, _("Other"))


def leave_behind_title(source, options):
    specialty = _specialty_label(_specialty_of(source, options))
    if isinstance(source, Practice):
        title = _("Leave-behind: %(specialty)s, for %(practice)s") % {"specialty": specialty, "practice": source.name}
    else:
        title = _("Leave-behind: %(specialty)s") % {"specialty": specialty}
    return f"{title} (A4)" if paper_of(options) == "a4" else title


def _cut(items, limit):
    return items[:limit], max(len(items) - limit, 0)


def _short(text, length):
    return Truncator(text or "").chars(length) if length else ""


def paper_of(options):
    return "a4" if (options or {}).get("paper") == "a4" else "letter"


def leave_behind_context(spa, *, specialty, practice=None, level=0, paper="letter", scale=SCALES[0]):
    """Everything the leave-behind prints, trimmed to ``TRIM_LEVELS[level]``, with a root size of ``scale`` pt."""
    limits = TRIM_LEVELS[level]
    today = catalog.spa_today(spa)
    services, more_services = _cut(catalog.services_for_specialty(spa=spa, specialty=specialty), limits["services"])
    credentials, more_credentials = _cut(catalog.current_credentials(spa=spa, on_date=today), limits["credentials"])
    equipment = [item for item in catalog.active_items(Equipment, spa=spa) if item.suits(specialty)]
    equipment, more_equipment = _cut(equipment, limits["equipment"])
    product_lines = [item for item in catalog.active_items(ProductLine, spa=spa) if item.suits(specialty)]
    product_lines, more_product_lines = _cut(product_lines, limits["product_lines"])
    offers = catalog.current_offers(spa=spa, specialty=specialty, on_date=today)
    points = next((row.talking_points for row in catalog.talking_points_for(spa=spa) if row.specialty == specialty), "")
    code = practice.referral_code if practice is not None else ""
    return {
        "spa": spa,
        "brand_colour": brand_colour(spa),
        "logo_data_uri": logo_data_uri(spa),
        "specialty_label": dict(Specialty.choices).get(specialty, _("Other")),
        "practice": practice,
        "talking_points": _short(points, limits["points"]),
        "services": [
            {
                "name": service.name,
                "category": service.get_category_display(),
                "duration": service.duration_minutes,
                "pregnancy_safe": service.pregnancy_safe,
                "description": _short(service.description, limits["description"]),
            }
            for service in services
        ],
        "more_services": more_services,
        "credentials": credentials,
        "more_credentials": more_credentials,
        "equipment": [
            {"name": item.name, "brand": item.brand, "purpose": _short(item.purpose, limits["description"])}
            for item in equipment
        ],
        "more_equipment": more_equipment,
        "product_lines": [
            {"name": item.name, "brand": item.brand, "purpose": _short(item.purpose, limits["description"])}
            for item in product_lines
        ],
        "more_product_lines": more_product_lines,
        "offer": offers[0] if offers else None,
        "offer_terms": _short(offers[0].terms, limits["terms"]) if offers else "",
        "portal_url": settings.SITE_URL + reverse("portal:home", args=[spa.slug]),
        "referral_code": code,
        "landing_url": landing_url(code) if code else "",
        "landing_display": landing_url(code).split("://", 1)[-1] if code else "",
        "first_contact_days": _first_contact_days(spa),
        "paper": paper,
        "page_size": PAPER_SIZES[paper],
        "root_size": f"{scale:g}pt",
        "scale": scale,
        "refer_spacer": "0mm",
        # Two columns need something to balance: a handful of items reads better in one.
        "two_columns": len(services) + len(credentials) + len(equipment) + len(product_lines) >= TWO_COLUMNS_FROM,
        "qr_data_uri": qr_svg_data_uri(landing_url(code)) if code else "",
        "referral_phone": spa.referral_phone or spa.phone,
        "referral_email": spa.referral_email or spa.email,
        "trim_level": level,
    }


def leave_behind_fit(spa, *, specialty, practice=None, paper="letter"):
    """(context, rendered) of the least-trimmed level that fits on one page (the one-page rule), at the
    largest root size of ``SCALES`` that still fits (filling the page)."""

    def attempt(level, scale):
        context = leave_behind_context(
            spa, specialty=specialty, practice=practice, level=level, paper=paper, scale=scale
        )
        rendered = render_template_to_pdf(LEAVE_BEHIND_TEMPLATE, context)
        return (context, rendered) if rendered.page_count == 1 else None

    for level in range(len(TRIM_LEVELS)):
        best = attempt(level, SCALES[0])
        if best is None:
            continue
        # Binary search over the larger sizes: fitting only gets harder as the type grows.
        low, high = 0, len(SCALES) - 1
        while low < high:
            middle = (low + high + 1) // 2
            fitted = attempt(level, SCALES[middle])
            if fitted is None:
                high = middle - 1
            else:
                low, best = middle, fitted
        return _push_refer_down(*best)
    raise LeaveBehindTooLong(_("The leave-behind does not fit on one page even with the shortest catalog."))


def spare_height_mm(content):
    """How far above the page's bottom margin the last line of a one-page PDF ends, in mm (pypdfium2)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(content)
    try:
        page = pdf[0]
        textpage = page.get_textpage()
        content_bottom = PAGE_BOTTOM_MARGIN_MM * 72 / 25.4  # PDF y runs upwards from the page's bottom edge
        lowest = page.get_height()
        for index in range(textpage.count_rects()):
            _left, bottom, _right, _top = textpage.get_rect(index)
            if bottom >= content_bottom:  # the footer line, down in the margin, does not count
                lowest = min(lowest, bottom)
        return (lowest - content_bottom) * 25.4 / 72
    finally:
        pdf.close()


def _push_refer_down(context, rendered):
    """A catalog too short to fill the page even in the largest type: "How to refer" moves to the page's foot,
    the spare height going above it, so the page never ends in an empty band."""
    # Below the last glyph's baseline: its line's descent and leading, the list item's margin (all scale with the
    # type), and a little air.
    spare = spare_height_mm(rendered.content) - 2 - context["scale"] * 0.3
    for spacer in (spare, spare / 2):
        if spacer < MIN_SPACER_MM:
            break
        pushed = {**context, "refer_spacer": f"{spacer:.1f}mm"}
        again = render_template_to_pdf(LEAVE_BEHIND_TEMPLATE, pushed)
        if again.page_count == 1:
            return pushed, again
    return context, rendered


def build_leave_behind(spa, source, options):
    practice = source if isinstance(source, Practice) else None
    context, _rendered = leave_behind_fit(
        spa, specialty=_specialty_of(source, options), practice=practice, paper=paper_of(options)
    )
    return LEAVE_BEHIND_TEMPLATE, context


# --- Letters --------------------------------------------------------------------------------


def owner_name(spa):
    membership = (
        Membership.objects.filter(spa=spa, role=Role.OWNER, user__is_active=True)
        .select_related("user")
        .order_by("created_at", "id")
        .first()
    )
    return membership.user.display_name if membership else ""


def _templates_version(spa):
    return LetterTemplate.objects.filter(spa=spa).aggregate(latest=Max("updated_at"))["latest"]


def letter_version(practice):
    """Changes with the practice, its clinicians, the spa's profile and offers, and any letter template edit.

    A kind's version sees only its source, not the chosen template, so every template's latest
    ``updated_at`` counts: editing one template marks the spa's letters out of date.
    """
    spa = practice.spa
    return _digest(
        {
            "practice": _practice_state(practice),
            "clinicians": [(c.pk, c.first_name, c.last_name, c.credentials) for c in practice.clinicians.all()],
            "profile": _spa_profile(spa),
            "offers": _rows(catalog.current_offers(spa=spa)),
            "owner": owner_name(spa),
            "templates": _templates_version(spa),
        }
    )


def letter_title(practice, options):
    return _("Letter to %(practice)s") % {"practice": practice.name}


def letter_for(spa, practice, template, *, signature_name, today, owner):
    """One letter's printable pieces: recipient block and paragraphs with placeholders substituted."""
    offers = catalog.current_offers(spa=spa, specialty=practice.specialty, on_date=today)
    values = placeholders.letter_values(
        spa=spa,
        practice=practice,
        owner_name=owner,
        signature_name=signature_name or owner,
        today=today,
        offer_title=offers[0].title if offers else "",
    )
    return {
        "practice": practice,
        "addressee": values["clinician_title_name"],
        "paragraphs": placeholders.paragraphs(placeholders.substitute(template.body, values)),
    }


def letters_context(spa, practices, template, *, signature_name):
    today = catalog.spa_today(spa)
    owner = owner_name(spa)
    return {
        "spa": spa,
        "brand_colour": brand_colour(spa),
        "logo_data_uri": logo_data_uri(spa),
        "letters": [
            letter_for(spa, practice, template, signature_name=signature_name, today=today, owner=owner)
            for practice in practices
        ],
    }


def _template_of(spa, options):
    template = LetterTemplate.objects.filter(spa=spa, public_id=options.get("template")).first()
    if template is None:
        raise ValueError(_("The letter template no longer exists."))
    return template


def build_letter(spa, practice, options):
    template = _template_of(spa, options)
    return LETTER_TEMPLATE, letters_context(spa, [practice], template, signature_name=options.get("signature_name", ""))


def batch_practices(batch):
    """The batch's practices that still exist, in the batch's order."""
    by_id = {
        str(practice.public_id): practice
        for practice in Practice.objects.filter(spa=batch.spa, public_id__in=batch.practice_ids).prefetch_related(
            "clinicians"
        )
    }
    return [by_id[public_id] for public_id in batch.practice_ids if public_id in by_id]


def letter_batch_version(batch):
    return _digest({"template": batch.template.updated_at, "practices": batch.practice_ids})


def letter_batch_title(batch, options):
    return _("Letters: %(template)s (%(count)s practices)") % {
        "template": batch.template.name,
        "count": len(batch.practice_ids),
    }


def build_letter_batch(spa, batch, options):
    return LETTER_TEMPLATE, letters_context(
        spa, batch_practices(batch), batch.template, signature_name=options.get("signature_name", "")
    )


def practice_subject(practice, options):
    return practice.public_id, practice.name


def register_kinds():
    register_creator(
        DocumentCreator(
            label=gettext_lazy("Leave-behind"), url_name="outreach:leave_behind", icon="file-earmark-richtext"
        )
    )
    register_creator(DocumentCreator(label=gettext_lazy("Letter"), url_name="outreach:send", icon="envelope-paper"))
    register(
        DocumentKind(
            kind="leave_behind",
            label=gettext_lazy("Leave-behind"),
            source_model="outreach.LeaveBehind",
            build=build_leave_behind,
            version=leave_behind_version,
            title=leave_behind_title,
            time_limit=60,
        )
    )
    register(
        DocumentKind(
            kind="leave_behind_practice",
            label=gettext_lazy("Leave-behind for a practice"),
            source_model="partners.Practice",
            build=build_leave_behind,
            version=leave_behind_practice_version,
            title=leave_behind_title,
            time_limit=60,
            subject=practice_subject,
        )
    )
    register(
        DocumentKind(
            kind="letter",
            label=gettext_lazy("Letter"),
            source_model="partners.Practice",
            build=build_letter,
            version=letter_version,
            title=letter_title,
            subject=practice_subject,
        )
    )
    register(
        DocumentKind(
            kind="letter_batch",
            label=gettext_lazy("Letters (batch)"),
            source_model="outreach.LetterBatch",
            build=build_letter_batch,
            version=letter_batch_version,
            title=letter_batch_title,
            time_limit=110,
        )
    )
