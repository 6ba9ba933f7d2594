"""Personalized letters: the documented placeholders and their substitution.

A letter template is plain text the spa writes. ``{name}`` tokens from ``PLACEHOLDERS`` are replaced
by code, in one pass of a regular expression over the text: a value is inserted as it is, never
scanned again (a practice called "{spa_name}" prints those ten characters) and never compiled as a
template (a practice called "{{ 7*7 }}" prints those characters, and HTML in a value is escaped
when the letter's Django template prints the text). There are no conditionals, loops or filters.

A token that is not in ``PLACEHOLDERS`` is refused when the template is saved (``validate_placeholders``),
so a typo is seen while writing, not after printing two hundred letters.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from infra.phones import format_phone

# A token is a name in braces, spaces inside allowed: {practice_name} or { practice_name }.
TOKEN = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")

PLACEHOLDERS = {
    "practice_name": _("The practice's name, e.g. “Brookline Dermatology”."),
    "practice_city": _("The practice's city."),
    "clinician_title_name": _("How the practice's first clinician is addressed: “Dr. Patel” or their full name."),
    "spa_name": _("Your spa's name."),
    "spa_phone": _("Your referral phone line (or the spa's phone)."),
    "spa_email": _("Your referral email address (or the spa's email)."),
    "offer": _("The current offer for referred patients of the practice's specialty, if there is one."),
    "owner_name": _("The name of your spa's owner."),
    "signature_name": _("The name of the person who sends the letters (the one who asked for them)."),
    "today": _("Today's date, e.g. “November 26, 2026”."),
}


def placeholders_in(text):
    """Every placeholder name used in ``text``, in order of first use."""
    return list(dict.fromkeys(match.group(1) for match in TOKEN.finditer(text or "")))


def unknown_placeholders(text):
    return [name for name in placeholders_in(text) if name not in PLACEHOLDERS]


def validate_placeholders(text):
    """Refuse a template that uses placeholders outside the documented set, naming each of them."""
    unknown = unknown_placeholders(text)
    if unknown:
        names = ", ".join("{" + name + "}" for name in unknown)
        raise ValidationError(
            ngettext(
                "Unknown placeholder: %(names)s. Use only the placeholders listed below.",
                "Unknown placeholders: %(names)s. Use only the placeholders listed below.",
                len(unknown),
            )
            % {"names": names},
            code="unknown_placeholder",
        )


def substitute(text, values):
    """Replace each known ``{placeholder}`` with its value, in a single pass; anything else stays as written."""

    def replace(match):
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return TOKEN.sub(replace, text)


def letter_values(*, spa, practice, owner_name, signature_name, today, offer_title):
    """The value of every documented placeholder for one practice (plain strings, escaped when printed)."""
    clinicians = list(practice.clinicians.all())
    clinicians.sort(key=lambda clinician: (clinician.created_at, clinician.pk))
    return {
        "practice_name": practice.name,
        "practice_city": practice.city,
        "clinician_title_name": clinicians[0].title_name if clinicians else str(_("Doctor")),
        "spa_name": spa.name,
        "spa_phone": format_phone(spa.referral_phone or spa.phone, spa.country),
        "spa_email": spa.referral_email or spa.email,
        "offer": offer_title,
        "owner_name": owner_name,
        "signature_name": signature_name,
        "today": date_format(today, "F j, Y"),
    }


def paragraphs(text):
    """The letter's paragraphs (separated by blank lines); line breaks inside one are kept by the template."""
    return [block.strip("\n") for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if block.strip()]
