"""Our specialties in the registry's words: NUCC Health Care Provider Taxonomy codes.

Every code listed counts as that specialty when a provider's primary taxonomy is read back. "Other" has no codes:
it is not something the registry can be searched for.
"""

from django.utils.translation import gettext as _

from spas.models import Specialty


class UnknownTaxonomy(ValueError):
    """A specialty the registry cannot be searched for."""


# (code, the registry's description of it). Codes from the NUCC taxonomy, version 25.x.
SPECIALTY_TAXONOMIES = {
    Specialty.DERMATOLOGY: [
        ("207N00000X", "Dermatology"),
        ("207ND0101X", "Dermatology, MOHS-Micrographic Surgery"),
        ("207NS0135X", "Dermatology, Procedural Dermatology"),
        ("207ND0900X", "Dermatology, Dermatopathology"),
    ],
    Specialty.OB_GYN: [
        ("207V00000X", "Obstetrics & Gynecology"),
        ("207VG0400X", "Obstetrics & Gynecology, Gynecology"),
        ("207VX0000X", "Obstetrics & Gynecology, Obstetrics"),
    ],
    Specialty.PHYSICAL_THERAPY: [
        ("225100000X", "Physical Therapist"),
        ("261QP2000X", "Clinic/Center, Physical Therapy"),
        ("2251X0800X", "Physical Therapist, Orthopedic"),
    ],
    Specialty.CHIROPRACTIC: [
        ("111N00000X", "Chiropractor"),
    ],
    Specialty.PLASTIC_SURGERY: [
        ("208200000X", "Plastic Surgery"),
        ("2082S0099X", "Plastic Surgery, Plastic Surgery Within the Head and Neck"),
    ],
    Specialty.ONCOLOGY: [
        ("207RX0202X", "Internal Medicine, Medical Oncology"),
        ("207RH0003X", "Internal Medicine, Hematology & Oncology"),
        ("2085R0001X", "Radiology, Radiation Oncology"),
    ],
    Specialty.PRIMARY_CARE: [
        ("207Q00000X", "Family Medicine"),
        ("207R00000X", "Internal Medicine"),
        ("208D00000X", "General Practice"),
    ],
    Specialty.SPORTS_MEDICINE: [
        ("207QS0010X", "Family Medicine, Sports Medicine"),
        ("207XX0005X", "Orthopaedic Surgery, Sports Medicine"),
        ("2251S0007X", "Physical Therapist, Sports"),
    ],
}

_SPECIALTY_OF_CODE = {code: specialty for specialty, codes in SPECIALTY_TAXONOMIES.items() for code, _d in codes}


def searchable_specialties():
    """The specialty choices a prospect search offers (those with taxonomy codes)."""
    return [(value, label) for value, label in Specialty.choices if value in SPECIALTY_TAXONOMIES]


def taxonomy_codes(specialty):
    """Every taxonomy code that means ``specialty``; UnknownTaxonomy when it has none."""
    codes = SPECIALTY_TAXONOMIES.get(specialty)
    if not codes:
        raise UnknownTaxonomy(_("The NPI registry has no taxonomy for “%(specialty)s”.") % {"specialty": specialty})
    return [code for code, _description in codes]


# What the registry's API is asked for (it searches taxonomy descriptions, not codes); its answers are then kept only
# when their primary taxonomy is one of the specialty's codes above.
SEARCH_DESCRIPTIONS = {
    Specialty.DERMATOLOGY: "Dermatology",
    Specialty.OB_GYN: "Obstetrics & Gynecology",
    Specialty.PHYSICAL_THERAPY: "Physical Therapist",
    Specialty.CHIROPRACTIC: "Chiropractor",
    Specialty.PLASTIC_SURGERY: "Plastic Surgery",
    Specialty.ONCOLOGY: "Oncology",
    Specialty.PRIMARY_CARE: "Family Medicine",
    Specialty.SPORTS_MEDICINE: "Sports Medicine",
}


def search_description(specialty):
    """The taxonomy description the registry's API is asked for."""
    taxonomy_codes(specialty)  # raises for an unknown specialty
    return SEARCH_DESCRIPTIONS[specialty]


def specialty_for_code(code):
    """Our specialty for a taxonomy code, or "" when we have none for it."""
    return _SPECIALTY_OF_CODE.get(code, "")
