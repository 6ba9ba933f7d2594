"""What the bench data set is made of (bench/seed.py): names, places, specialties, the catalog, and the
{value: weight} tables every random choice of the seed is drawn from, with the generator (Random) that draws
from them. The referrals' own tables (channels, statuses by age) are in bench/seed_referrals.py.

Changing a value here changes the seeded data: the next `make bench` reseeds (the seed's fingerprint hashes this
file).
"""

import random

FIRST_NAMES = (  # noqa: SIM905 - word lists read better as one string
    "Emma Olivia Ava Sophia Mia Isabella Charlotte Amelia Harper Evelyn Abigail Ella Grace Chloe Camila Luna Nora "
    "Hazel Aria Zoe Lily Layla Riley Nina Maya Rosa Priya Mei Aisha Fatima Sara Elena Julia Hannah Leah Ruth Diane "
    "Karen Laura Megan James Liam Noah Ethan Lucas Mason Daniel David Samuel Omar Raj Wei Carlos Marco Paul Peter"
).split()
LAST_NAMES = (  # noqa: SIM905 - word lists read better as one string
    "Johnson Martinez Thompson Nguyen Robinson Clark Lewis Walker Hall Young King Wright Lopez Hill Scott Green Adams "
    "Baker Nelson Carter Mitchell Perez Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Sanchez "
    "Morris Rogers Reed Cook Morgan Bell Murphy Bailey Rivera Cooper Richardson Cox Howard Ward Torres Peterson Gray "
    "Ramirez James Watson Brooks Kelly Sanders Price Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry Powell "
    "Patel Shah Kim Chen Wang Alvarez Okafor Haddad Cohen Novak Rossi Silva"
).split()
CITIES = (  # noqa: SIM905 - word lists read better as one string
    "Brookline Newton Cambridge Somerville Boston Quincy Waltham Wellesley Needham Dedham Milton Medford Malden Salem "
    "Lexington Arlington Belmont Natick Framingham Braintree Weymouth Woburn Burlington Concord"
).split()
PRACTICE_SUFFIXES = ["Associates", "Group", "Center", "Clinic", "Partners", "Health", "Specialists", "Care"]
SPECIALTY_WORDS = {
    "dermatology": ["Dermatology", "Skin Institute", "Dermatology & Laser"],
    "ob_gyn": ["OB-GYN", "Women's Health", "Obstetrics & Gynecology"],
    "physical_therapy": ["Physical Therapy", "Rehab", "PT & Wellness"],
    "chiropractic": ["Chiropractic", "Spine & Wellness", "Family Chiropractic"],
    "plastic_surgery": ["Plastic Surgery", "Aesthetic Surgery", "Cosmetic Surgery"],
    "oncology": ["Cancer Center", "Oncology", "Hematology & Oncology"],
    "primary_care": ["Family Medicine", "Primary Care", "Internal Medicine"],
    "sports_medicine": ["Sports Medicine", "Orthopedics & Sports", "Athletic Medicine"],
    "other": ["Integrative Medicine", "Wellness Clinic", "Medical Group"],
}
SPECIALTY_WEIGHTS = {
    "dermatology": 18,
    "ob_gyn": 14,
    "physical_therapy": 16,
    "chiropractic": 13,
    "plastic_surgery": 8,
    "oncology": 6,
    "primary_care": 14,
    "sports_medicine": 8,
    "other": 3,
}
CLINICIAN_CREDENTIALS = {
    "dermatology": ["MD", "DO", "PA-C", "NP"],
    "ob_gyn": ["MD", "DO", "CNM", "NP"],
    "physical_therapy": ["PT, DPT", "DPT", "PTA"],
    "chiropractic": ["DC"],
    "plastic_surgery": ["MD", "MD", "NP"],
    "oncology": ["MD", "NP", "RN"],
    "primary_care": ["MD", "DO", "NP", "PA-C"],
    "sports_medicine": ["MD", "DO", "ATC"],
    "other": ["MD", "NP"],
}
STAGE_WEIGHTS = {
    "prospect": 20,
    "researched": 10,
    "contacted": 10,
    "meeting": 5,
    "trial": 5,
    "active": 38,
    "dormant": 8,
    "declined": 4,
}
SIZE_WEIGHTS = {"solo": 25, "small": 45, "medium": 22, "large": 8}
EXTRA_CLINICIAN_WEIGHT = {"solo": 0, "small": 1, "medium": 3, "large": 8}
SOURCE_CHOICES = ["client_introduction", "networking_event", "continuing_education", "directory", "walk_in", "other"]
SERVICES = [
    ("Calming post-procedure facial", "facial", 50, "95.00", ["dermatology", "plastic_surgery", "oncology"]),
    ("LED light therapy", "skin", 30, "60.00", ["dermatology"]),
    ("Prenatal massage", "massage", 60, "110.00", ["ob_gyn"]),
    ("Postpartum recovery massage", "massage", 60, "105.00", ["ob_gyn"]),
    ("Deep-tissue recovery massage", "massage", 60, "115.00", ["physical_therapy", "sports_medicine"]),
    ("Sports massage", "massage", 75, "130.00", ["sports_medicine", "physical_therapy", "chiropractic"]),
    ("Lymphatic drainage massage", "massage", 60, "120.00", ["plastic_surgery", "oncology"]),
    ("Oncology-safe facial", "facial", 50, "110.00", ["oncology"]),
    ("Relaxation massage", "massage", 60, "95.00", ["primary_care", "chiropractic", "other"]),
    ("Hydrating facial", "facial", 50, "85.00", ["dermatology", "primary_care"]),
    ("Scalp and neck treatment", "wellness", 30, "55.00", ["chiropractic", "primary_care"]),
    ("Body wrap", "body", 60, "125.00", ["other"]),
]
TOUCHPOINT_KINDS = {
    "phone_call": 20,
    "email": 18,
    "letter": 10,
    "meeting": 8,
    "lunch_presentation": 5,
    "staff_service": 4,
    "check_in": 18,
    "thank_you_note": 9,
    "gift": 3,
    "open_house": 2,
    "networking_event": 3,
}
TOUCHPOINT_STAGE_WEIGHT = {"contacted": 1, "meeting": 2, "trial": 3, "active": 3, "dormant": 1, "declined": 1}
TASK_KINDS = {
    "phone_call": 20,
    "email": 15,
    "letter": 8,
    "meeting": 6,
    "lunch_presentation": 4,
    "check_in": 20,
    "thank_you_note": 12,
    "fresh_approach": 5,
    "follow_up": 10,
}
TASK_SOURCE = {"check_in": "check_in", "thank_you_note": "thank_you", "fresh_approach": "resurface"}
GIFT_KINDS = {"gift": 30, "meal": 40, "complimentary_service": 20, "event_hospitality": 10}


class Random(random.Random):
    """random.Random plus weighted picks from {value: weight} tables."""

    def weighted(self, table, k=None):
        values, weights = list(table), list(table.values())
        if k is None:
            return self.choices(values, weights)[0]
        return self.choices(values, weights, k=k)

    def between(self, start, end):
        """A moment uniformly between two datetimes."""
        return start + (end - start) * self.random()
