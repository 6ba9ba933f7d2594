"""The measures an outcome report records per specialty: the templates, their validation and display."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from spas.models import Specialty

SCALE_0_10 = "scale_0_10"
CHOICE = "choice"
RESPONSE_CHOICES = [
    ("improved", gettext_lazy("Improved")),
    ("unchanged", gettext_lazy("Unchanged")),
    ("worse", gettext_lazy("Worse")),
]
TOLERANCE_CHOICES = [
    ("good", gettext_lazy("Well tolerated")),
    ("some_irritation", gettext_lazy("Some irritation")),
    ("poor", gettext_lazy("Poorly tolerated")),
]
# Patient-reported measures per specialty: (key, label, kind, choices). All optional.
MEASURE_TEMPLATES = {
    Specialty.DERMATOLOGY: [
        ("skin_response", gettext_lazy("Skin response"), CHOICE, RESPONSE_CHOICES),
        ("tolerance", gettext_lazy("Tolerance"), CHOICE, TOLERANCE_CHOICES),
    ],
    Specialty.OB_GYN: [
        ("comfort", gettext_lazy("Comfort (0–10)"), SCALE_0_10, None),
        ("sleep", gettext_lazy("Sleep quality (0–10)"), SCALE_0_10, None),
    ],
    Specialty.PHYSICAL_THERAPY: [
        ("tension", gettext_lazy("Muscle tension (0–10)"), SCALE_0_10, None),
        ("range_of_motion", gettext_lazy("Range of motion"), CHOICE, RESPONSE_CHOICES),
        ("pain_before", gettext_lazy("Pain before (0–10)"), SCALE_0_10, None),
        ("pain_after", gettext_lazy("Pain after (0–10)"), SCALE_0_10, None),
    ],
}


def measure_template_for(specialty):
    return MEASURE_TEMPLATES.get(specialty, [])


def measures_clean(specialty, measures):
    """The measures with empty answers dropped; unknown keys and out-of-range values are refused."""
    template = {key: (kind, choices) for key, _label, kind, choices in measure_template_for(specialty)}
    cleaned = {}
    for key, value in (measures or {}).items():
        if value in (None, ""):
            continue
        if key not in template:
            raise ValidationError({"measures": _("“%(key)s” is not a measure for this specialty.") % {"key": key}})
        kind, choices = template[key]
        if kind == SCALE_0_10:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
                raise ValidationError({"measures": _("Scores are whole numbers from 0 to 10.")})
        elif value not in {choice for choice, _label in choices}:
            raise ValidationError({"measures": _("Choose one of the listed answers.")})
        cleaned[key] = value
    return cleaned


def measures_display(specialty, measures):
    """(label, answer) pairs in the template's order, for pages and the PDF."""
    rows = []
    for key, label, kind, choices in measure_template_for(specialty):
        if key in (measures or {}):
            value = measures[key]
            rows.append((str(label), str(dict(choices).get(value, value)) if kind == CHOICE else str(value)))
    return rows
