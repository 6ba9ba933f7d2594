"""Phone numbers as people type them, stored one way, shown the way people read them.

Typed text is parsed with ``phonenumbers`` against a default region (the spa's country, ISO 3166 alpha-2):
"(617) 555-0123", "617.555.0123" and "1 617 555 0123" all mean the same number for a US spa, and "+44 20 7946
0958" is understood anywhere. A number must be a real one for its country (``is_valid_number``, not merely the
right length), so "call me", "12" and "555-12" are refused with an example of the format we want.

Stored form: E.164, plus ``;ext=<digits>`` when the number has an extension (the RFC 3966 parameter, which
``phonenumbers`` parses back):

    "(617) 555-0123"          → "+16175550123"
    "617-555-0123 ext. 12"    → "+16175550123;ext=12"
    "+44 20 7946 0958"        → "+442079460958"

Vanity numbers ("617-CALL-NOW") are refused rather than converted: the letters are how someone remembers the
number, not the number the front desk dials, and a mistyped letter would be silently turned into a wrong one.

Shown (``{% load phones %}``, ``{{ value|phone:spa.country }}``): nationally formatted for the spa's own
country ("(617) 555-0123 ext. 12"), internationally for others ("+44 20 7946 0958"). Values stored before
validation existed ("call me", "555-0100") are shown as they were typed; they are not rewritten here.

Compared (``phone_key``): "the same phone number" means the same key, E.164 without the extension, everywhere
it is asked (duplicate practices, the partner search, a patient's other referrals): "617-555-0123 ext. 12" and
"+1 617 555 0123" are the same line.

Stored values were rewritten in the stored form once, by data migrations (``infra.phone_backfill``).
"""

import re

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from phonenumbers import PhoneNumberFormat
from rest_framework import serializers

DEFAULT_REGION = "US"
EXTENSION_SEPARATOR = ";ext="
MAX_STORED_LENGTH = 30  # the phone columns' max_length

# An extension at the end of what was typed: "x12", "ext. 12", "extension 12", "#12", ";ext=12".
_EXTENSION = re.compile(r"(?:;\s*ext\s*=|ext(?:ension)?\.?|x|#)\s*\d+\s*$", re.IGNORECASE)
_STORED = re.compile(r"^\+\d{1,15}(?:;ext=\d+)?$")
_TEL_PREFIX = re.compile(r"^tel:", re.IGNORECASE)  # a number pasted from a tel: link
_LETTER = re.compile(r"[^\W\d_]")
_NOT_A_DIGIT = re.compile(r"[^0-9]")  # ASCII digits only: "١٢٣" is no number anyone dials here
KEY_MIN_DIGITS = 7  # a subscriber number without its area code: fewer digits are no one's number

# Fictional numbers (the 555-01xx range in North America, Ofcom's drama ranges in the UK) so an example in a
# message never names a real subscriber; other countries use the library's example number.
_EXAMPLES = {"US": "+16175550123", "CA": "+14165550123", "GB": "+442079460958"}


def example_phone(region=DEFAULT_REGION):
    """A number in the region's national format, for messages and placeholders: "(617) 555-0123"."""
    region = (region or DEFAULT_REGION).upper()
    number = _EXAMPLES.get(region)
    parsed = phonenumbers.parse(number) if number else phonenumbers.example_number(region)
    if parsed is None:
        parsed = phonenumbers.parse(_EXAMPLES[DEFAULT_REGION])
    return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)


def invalid_message(region=DEFAULT_REGION):
    return _("Enter a phone number such as %(example)s.") % {"example": example_phone(region)}


def parse_phone(text, region=DEFAULT_REGION):
    """The PhoneNumber that ``text`` names in ``region``; ValidationError (with an example) when it names none."""
    text = (text or "").strip()
    region = (region or DEFAULT_REGION).upper()
    without_extension = _EXTENSION.sub("", _TEL_PREFIX.sub("", text))
    if _LETTER.search(without_extension):
        if not any(character.isdigit() for character in without_extension):
            raise ValidationError(invalid_message(region), code="phone_invalid")
        raise ValidationError(
            _("Enter the phone number in digits, such as %(example)s.") % {"example": example_phone(region)},
            code="phone_letters",
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(invalid_message(region), code="phone_invalid") from None
    if not (phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)):
        raise ValidationError(invalid_message(region), code="phone_invalid")
    return number


def stored_form(number):
    """E.164, with ";ext=<digits>" when there is an extension."""
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return f"{e164}{EXTENSION_SEPARATOR}{number.extension}" if number.extension else e164


def normalize_phone(text, region=DEFAULT_REGION):
    """What to store for typed ``text``: "" for blank, else the stored form. ValidationError when invalid."""
    if not (text or "").strip():
        return ""
    value = stored_form(parse_phone(text, region))
    if len(value) > MAX_STORED_LENGTH:
        raise ValidationError(_("This extension is too long."), code="phone_extension")
    return value


def _parsed_or_none(value, region):
    if not value or _LETTER.search(_EXTENSION.sub("", _TEL_PREFIX.sub("", str(value)))):
        return None  # an old "617-CALL-NOW" is shown as typed, never turned into digits nobody chose
    try:
        number = phonenumbers.parse(str(value), (region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def format_phone(value, region=DEFAULT_REGION):
    """How a stored number reads: national for the region's country, international otherwise.

    Anything that does not parse to a valid number (a value from before validation) comes back unchanged.
    """
    number = _parsed_or_none(value, region)
    if number is None:
        return value or ""
    home = phonenumbers.country_code_for_region((region or DEFAULT_REGION).upper())
    style = PhoneNumberFormat.NATIONAL if number.country_code == home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def tel_uri(value, region=DEFAULT_REGION):
    """A ``tel:`` link target ("tel:+1-617-555-0123;ext=12"); an old unparseable value keeps its digits and +."""
    number = _parsed_or_none(value, region)
    if number is not None:
        return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966)
    dialable = re.sub(r"[^0-9+]", "", str(value or ""))
    return f"tel:{dialable}" if dialable else ""


def without_extension(value):
    """The stored value up to its extension."""
    return (value or "").split(EXTENSION_SEPARATOR, 1)[0]


def textable_phone(value, region=DEFAULT_REGION):
    """The E.164 number a text to ``value`` goes to, or "" when it names no valid number (an old "call me").

    An extension is dropped: it reaches a desk behind a switchboard, and a text reaches the line itself. Whether
    the line takes texts (a landline) only the provider can tell; it refuses those, and the refusal is recorded.
    """
    number = _parsed_or_none(without_extension(value), region)
    return "" if number is None else phonenumbers.format_number(number, PhoneNumberFormat.E164)


def phone_key(value, region=DEFAULT_REGION):
    """What two phone numbers have in common when they ring the same line: E.164 without the extension.

    The one rule for "the same phone number". ``value`` may be stored or typed, read in ``region`` (the spa's
    country) when it has no country code: "617-555-0123 ext. 12", "1 (617) 555-0123" and "+1 617 555 0123" are
    all "+16175550123" for a US spa; "020 7946 0958" typed at a GB spa and "+44 20 7946 0958" typed at a US spa
    are both "+442079460958". The extension is left out: it reaches a desk, not another practice or patient.

    A value that names no valid number (one typed before validation, which the data migration left as it was:
    "555-0100", "617-555-0142 (cell)") keys on its digits, without the "+": nothing typed is lost to the
    comparison, the same digits typed again still find it, and it can never equal a valid number's key. Fewer
    than KEY_MIN_DIGITS digits ("call me", "12", a vanity "617-CALL-NOW") say nothing about whose number it
    is: "", which matches nothing.
    """
    valid = textable_phone(value, region)
    if valid:
        return valid
    digits = _NOT_A_DIGIT.sub("", _EXTENSION.sub("", without_extension(str(value or ""))))
    return digits if len(digits) >= KEY_MIN_DIGITS else ""


class PhoneNumberFormField(forms.CharField):
    """A phone input (type=tel) that cleans to the stored form, parsed in ``region`` (the spa's country).

    Set ``region`` after building the form when it depends on the spa: ``form.fields["phone"].region = "GB"``.
    """

    def __init__(self, *, region=DEFAULT_REGION, autocomplete="tel", **kwargs):
        kwargs.setdefault("max_length", 40)  # what may be typed (spaces, "ext."); the stored form is ≤ 30
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"type": "tel", "autocomplete": autocomplete, "inputmode": "tel"}),
        )
        super().__init__(**kwargs)
        self.region = region

    @property
    def region(self):
        return self._region

    @region.setter
    def region(self, value):
        self._region = (value or DEFAULT_REGION).upper()

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)  # a pasted "+1 (617) 555-0123 extension 1234" must not be cut short
        return attrs

    def prepare_value(self, value):
        # A stored "+16175550123" is edited as "(617) 555-0123"; what was typed (refused or not) is shown back as
        # it was typed, and so is an old value stored before validation.
        if isinstance(value, str) and _STORED.match(value):
            return format_phone(value, self.region)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_phone(value, self.region) if value else value


class PhoneNumberSerializerField(serializers.CharField):
    """The API's phone field: a JSON string, cleaned to the stored form with the same rule as the forms.

    The region is the serializer context's ``phone_region`` (the spa's country), US when absent.
    """

    default_error_messages = {"invalid": gettext_lazy("Must be a string.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not value:
            return value
        try:
            return normalize_phone(value, self.context.get("phone_region", DEFAULT_REGION))
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from None
