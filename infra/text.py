"""Rules for text that people type: one-line fields, and file names built from it."""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.deconstruct import deconstructible
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

# Control characters (Unicode category Cc: CR, LF, tab, NUL, escape, …) and the line and paragraph separators
# (Zl, Zp). A name, a title or a city with one of these breaks the lines of the emails, CSV exports, PDFs and
# headers it lands in. The same set as a pattern, for API schemas (drf-spectacular reads RegexValidators).
_REFUSED_CATEGORIES = {"Cc", "Zl", "Zp"}
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"


@deconstructible(path="infra.text.SingleLineValidator")
class SingleLineValidator(RegexValidator):
    """One-line text fields: no line breaks, tabs or other control characters."""

    regex = SINGLE_LINE_PATTERN
    message = _("Use one line of text, without line breaks, tabs or other control characters.")
    code = "single_line"

    def __call__(self, value):
        # By category rather than by the pattern: Python's "$" also matches before a final newline.
        if value and any(unicodedata.category(character) in _REFUSED_CATEGORIES for character in str(value)):
            raise ValidationError(self.message, code=self.code)


single_line = SingleLineValidator()


def download_filename(title, extension, *, fallback="document", max_length=80):
    """A safe file name for a download: a slug of ``title`` (ASCII letters, digits and hyphens) and the extension.

    Built from the document's title, never taken from user text as it is: quotes, slashes and markup in a
    practice's name must not reach a Content-Disposition header or a saved file's name.
    """
    stem = slugify(title or "")[:max_length].strip("-") or fallback
    return f"{stem}.{extension.lstrip('.').lower()}"
