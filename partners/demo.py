"""Demo practices: about 30 across specialties and stages in serenity-spa, a few in harbor-wellness.

Idempotent: a practice that exists (same name) is left alone.
"""

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope

from infra.phones import normalize_phone
from spas.models import Membership, Role

from . import services
from .models import Practice, Stage, StageChange

# (name, specialty, city, stage, phone, website, clinicians [(first, last, credentials)], contact, tags)
# The README's FHIR example names its referring clinician by this NPI (CMS's documentation example, check digit valid).
DEMO_NPIS = {("Glow Dermatology", "Priya", "Patel"): "1234567893"}
# Each demo city's ZIP code and state, so distances and the map (Partners -> By distance) have places to show.
DEMO_CITY_ZIPS = {
    "Boston": ("02116", "MA"),
    "Brookline": ("02446", "MA"),
    "Cambridge": ("02139", "MA"),
    "Newton": ("02458", "MA"),
    "Somerville": ("02143", "MA"),
    "Watertown": ("02472", "MA"),
    "Santa Monica": ("90401", "CA"),
    "Venice": ("90291", "CA"),
}
SERENITY_PRACTICES = [
    (
        "Glow Dermatology",
        "dermatology",
        "Brookline",
        Stage.ACTIVE,
        "(617) 555-0101",
        "https://glowderm.example",
        [("Priya", "Patel", "MD, FAAD"), ("Marcus", "Chen", "PA-C")],
        ("Rosa Alvarez", "office_manager"),
        ["vip"],
    ),
    (
        "Beacon Skin & Laser",
        "dermatology",
        "Boston",
        Stage.TRIAL,
        "(617) 555-0102",
        "https://beaconskin.example",
        [("Hannah", "Kim", "MD")],
        ("Leo Park", "front_desk"),
        ["lunch done"],
    ),
    (
        "Charles River Dermatology",
        "dermatology",
        "Cambridge",
        Stage.MEETING,
        "(617) 555-0103",
        "",
        [("Samuel", "Okafor", "MD")],
        None,
        [],
    ),
    ("Clear Complexion Clinic", "dermatology", "Newton", Stage.CONTACTED, "(617) 555-0104", "", [], None, []),
    ("Harborview Mohs Surgery", "dermatology", "Boston", Stage.RESEARCHED, "(617) 555-0105", "", [], None, []),
    (
        "Brookline Women's Health",
        "ob_gyn",
        "Brookline",
        Stage.ACTIVE,
        "(617) 555-0111",
        "https://brooklinewomens.example",
        [("Elena", "Garcia", "MD, FACOG"), ("Nora", "Walsh", "CNM")],
        ("Tasha Brooks", "office_manager"),
        ["prenatal"],
    ),
    (
        "Back Bay OB-GYN",
        "ob_gyn",
        "Boston",
        Stage.ACTIVE,
        "(617) 555-0112",
        "",
        [("Grace", "Liu", "MD")],
        ("Ines Duarte", "front_desk"),
        ["prenatal"],
    ),
    (
        "Jamaica Plain Midwives",
        "ob_gyn",
        "Boston",
        Stage.MEETING,
        "(617) 555-0113",
        "",
        [("Abby", "Moreau", "CNM")],
        None,
        ["prenatal"],
    ),
    ("Newton Wellesley Obstetrics", "ob_gyn", "Newton", Stage.PROSPECT, "(617) 555-0114", "", [], None, []),
    (
        "Riverside Physical Therapy",
        "physical_therapy",
        "Cambridge",
        Stage.ACTIVE,
        "(617) 555-0121",
        "https://riversidept.example",
        [("Daniel", "Reyes", "DPT"), ("Kara", "Novak", "PT")],
        ("Mo Haddad", "front_desk"),
        ["sports"],
    ),
    (
        "Motion Rehab Partners",
        "physical_therapy",
        "Somerville",
        Stage.TRIAL,
        "(617) 555-0122",
        "",
        [("Owen", "Fischer", "DPT")],
        None,
        [],
    ),
    (
        "Brookline Spine & Sport PT",
        "physical_therapy",
        "Brookline",
        Stage.CONTACTED,
        "(617) 555-0123",
        "",
        [],
        None,
        [],
    ),
    ("Allston Recovery PT", "physical_therapy", "Boston", Stage.DORMANT, "(617) 555-0124", "", [], None, []),
    (
        "Aligned Chiropractic",
        "chiropractic",
        "Brookline",
        Stage.ACTIVE,
        "(617) 555-0131",
        "",
        [("Ben", "Carter", "DC")],
        None,
        [],
    ),
    ("Coolidge Corner Chiropractic", "chiropractic", "Brookline", Stage.RESEARCHED, "(617) 555-0132", "", [], None, []),
    ("Back in Balance Chiro", "chiropractic", "Watertown", Stage.DECLINED, "(617) 555-0133", "", [], None, []),
    (
        "Contour Plastic Surgery",
        "plastic_surgery",
        "Boston",
        Stage.MEETING,
        "(617) 555-0141",
        "",
        [("Isabel", "Rossi", "MD, FACS")],
        ("Dana White", "office_manager"),
        [],
    ),
    ("Renew Aesthetic Surgery", "plastic_surgery", "Newton", Stage.PROSPECT, "(617) 555-0142", "", [], None, []),
    (
        "Hope Cancer Center",
        "oncology",
        "Boston",
        Stage.TRIAL,
        "(617) 555-0151",
        "",
        [("Miriam", "Shah", "MD"), ("Tom", "Bauer", "NP")],
        ("June Ito", "nurse"),
        ["oncology-safe"],
    ),
    ("Cambridge Oncology Associates", "oncology", "Cambridge", Stage.RESEARCHED, "(617) 555-0152", "", [], None, []),
    (
        "Brookline Family Medicine",
        "primary_care",
        "Brookline",
        Stage.ACTIVE,
        "(617) 555-0161",
        "",
        [("Alan", "Brooks", "MD"), ("Sofia", "Nguyen", "NP")],
        None,
        [],
    ),
    ("Longwood Primary Care", "primary_care", "Boston", Stage.CONTACTED, "(617) 555-0162", "", [], None, []),
    ("Fenway Internal Medicine", "primary_care", "Boston", Stage.PROSPECT, "(617) 555-0163", "", [], None, []),
    ("Watertown Family Practice", "primary_care", "Watertown", Stage.DORMANT, "(617) 555-0164", "", [], None, []),
    (
        "Peak Sports Medicine",
        "sports_medicine",
        "Boston",
        Stage.MEETING,
        "(617) 555-0171",
        "",
        [("Chris", "Adams", "MD")],
        None,
        ["sports"],
    ),
    (
        "Charles River Sports Clinic",
        "sports_medicine",
        "Cambridge",
        Stage.PROSPECT,
        "(617) 555-0172",
        "",
        [],
        None,
        ["sports"],
    ),
    ("Marathon Orthopedics", "sports_medicine", "Newton", Stage.RESEARCHED, "(617) 555-0173", "", [], None, []),
    ("Mind & Body Integrative Health", "other", "Brookline", Stage.CONTACTED, "(617) 555-0181", "", [], None, []),
    ("Somerville Acupuncture Collective", "other", "Somerville", Stage.PROSPECT, "(617) 555-0182", "", [], None, []),
    ("Emerald Necklace Dermatology", "dermatology", "Brookline", Stage.PROSPECT, "(617) 555-0106", "", [], None, []),
]

HARBOR_PRACTICES = [
    (
        "Pacific Coast Dermatology",
        "dermatology",
        "Santa Monica",
        Stage.ACTIVE,
        "(310) 555-0201",
        "",
        [("Lena", "Ortiz", "MD")],
        ("Kim Soto", "front_desk"),
        [],
    ),
    ("Seaside OB-GYN", "ob_gyn", "Venice", Stage.MEETING, "(310) 555-0202", "", [("Ruth", "Hale", "MD")], None, []),
    (
        "Boardwalk Physical Therapy",
        "physical_therapy",
        "Santa Monica",
        Stage.CONTACTED,
        "(310) 555-0203",
        "",
        [],
        None,
        [],
    ),
]

# How far along each stage is, so the stage history reads like a real relationship.
STAGE_PATH = [Stage.PROSPECT, Stage.RESEARCHED, Stage.CONTACTED, Stage.MEETING, Stage.TRIAL, Stage.ACTIVE]


def _history_for(stage):
    if stage in STAGE_PATH:
        return STAGE_PATH[1 : STAGE_PATH.index(stage) + 1]
    return [Stage.RESEARCHED, Stage.CONTACTED, stage]


def _seed(spa, practices):
    owner = Membership.objects.filter(spa=spa, role=Role.OWNER).select_related("user").first().user
    created = 0
    for index, (name, specialty, city, stage, phone, website, clinicians, contact, tags) in enumerate(practices):
        if Practice.objects.filter(spa=spa, name=name).exists():
            continue
        phone = normalize_phone(phone, spa.country)  # stored as the practice form stores it
        practice = services.practice_create(
            spa=spa,
            actor=owner,
            fields={
                "name": name,
                "specialty": specialty,
                "city": city,
                "postal_code": DEMO_CITY_ZIPS.get(city, ("", ""))[0],
                "state": DEMO_CITY_ZIPS.get(city, ("", ""))[1],
                "phone": phone,
                "website": website,
                "address": f"{100 + index * 7} Main Street",
                "owner": owner if index % 3 else None,
                "source": ["client_introduction", "networking_event", "directory", "walk_in"][index % 4],
                "philosophy": "Patient-centred care with attention to comfort and recovery.",
            },
            tag_names=tags,
        )
        for first, last, credentials in clinicians:
            services.clinician_save(
                practice=practice,
                actor=owner,
                fields={
                    "first_name": first,
                    "last_name": last,
                    "credentials": credentials,
                    "email": f"{first.lower()}.{last.lower()}@{_domain(name)}",
                    "npi": DEMO_NPIS.get((name, first, last), ""),
                },
            )
        if contact:
            services.contact_save(
                practice=practice,
                actor=owner,
                fields={
                    "name": contact[0],
                    "role": contact[1],
                    "email": f"{contact[0].split()[0].lower()}@{_domain(name)}",
                    "phone": phone,
                    "preferred_contact_method": "email",
                },
            )
        changed_at = practice.stage_changed_at
        for step, to_stage in enumerate(_history_for(stage)):
            reason = "Too busy to take on new partners this year" if to_stage == Stage.DECLINED else ""
            services.practice_move_stage(practice=practice, to_stage=to_stage, actor=owner, reason=reason)
            # Spread the history over the past year rather than this second, so check-ins, fresh
            # approaches and partner health have a lived-in history to work from.
            changed_at = timezone.now() - timedelta(days=(6 - step) * 60 + index % 5)
            StageChange.objects.filter(practice=practice, to_stage=to_stage).update(changed_at=changed_at)
        Practice.objects.filter(pk=practice.pk).update(stage_changed_at=changed_at)
        created += 1
    return created


def _domain(name):
    return "".join(ch for ch in name.lower() if ch.isalnum())[:20] + ".example"


def seed_partners(spas):
    """Seed practices into the demo spas (a dict slug → Spa). Returns lines for seed_demo to print."""
    lines = []
    for slug, practices in (("serenity-spa", SERENITY_PRACTICES), ("harbor-wellness", HARBOR_PRACTICES)):
        spa = spas.get(slug)
        if spa is None:
            continue
        with scope(spa=spa):
            created = _seed(spa, practices)
            total = Practice.objects.filter(spa=spa).count()
        lines.append(f"  {spa.name}: {total} practices ({created} new)")
    return lines
