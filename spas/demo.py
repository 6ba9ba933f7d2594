"""Demo data for the spas app: two spas (so isolation is visible) with their owners.

Idempotent: running it again finds what exists and changes nothing.
"""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.utils import timezone
from django_scopes import scope

from .catalog import CATALOG_MODELS, talking_points_for
from .models import Membership, Role, Spa, User

# Phone numbers as the forms store them (E.164, infra/phones.py); the pages show "(617) 555-0142".
DEMO_SPAS = [
    {
        "slug": "serenity-spa",
        "name": "Serenity Day Spa",
        "owner": ("owner@serenity.example", "serenity-demo", "Maya Serenity"),
        "timezone": "America/New_York",
        "address": "120 Elm Street, Brookline, MA 02445",
        "postal_code": "02445",
        "phone": "+16175550142",
        "email": "hello@serenity.example",
        "website": "https://serenity.example",
        "booking_url": "https://serenity.example/book",
        "referral_email": "referrals@serenity.example",
        "referral_phone": "+16175550199",
        "brand_colour": "#2a7a78",
    },
    {
        "slug": "harbor-wellness",
        "name": "Harbor Wellness & Med Spa",
        "owner": ("owner@harbor.example", "harbor-demo", "Sam Harbor"),
        "timezone": "America/Los_Angeles",
        "address": "8 Pier Avenue, Santa Monica, CA 90405",
        "postal_code": "90405",
        "phone": "+13105550110",
        "email": "front@harbor.example",
        "website": "https://harbor.example",
        "booking_url": "",
        "referral_email": "referrals@harbor.example",
        "referral_phone": "+13105550111",
        "brand_colour": "#3b5ba5",
    },
]


def demo_user(email, password, full_name=""):
    """A verified user with a known password (created once, never reset on later runs)."""
    user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def seed_spas():
    """Create the demo spas and owners. Returns [(spa, [(email, password)])]."""
    seeded = []
    for spec in DEMO_SPAS:
        spec = dict(spec)
        email, password, full_name = spec.pop("owner")
        owner = demo_user(email, password, full_name)
        spa, _ = Spa.objects.get_or_create(slug=spec.pop("slug"), defaults=spec)
        with scope(spa=spa):
            Membership.objects.get_or_create(spa=spa, user=owner, defaults={"role": Role.OWNER})
        seeded.append((spa, [(email, password)]))
    return seeded


DEMO_CATALOG = {
    "services": [
        {
            "name": "Calming post-procedure facial",
            "category": "facial",
            "duration_minutes": 50,
            "price": "95.00",
            "specialties": ["dermatology", "plastic_surgery", "oncology"],
            "pregnancy_safe": True,
            "description": "Cool, fragrance-free facial for skin recovering from peels, lasers or injectables.",
            "precautions": "Wait 7 days after a chemical peel or laser resurfacing; not over open skin.",
        },
        {
            "name": "LED light therapy",
            "category": "skin",
            "duration_minutes": 30,
            "price": "60.00",
            "specialties": ["dermatology"],
            "pregnancy_safe": True,
            "description": "Red and blue LED sessions for redness, healing and mild acne.",
        },
        {
            "name": "Prenatal massage",
            "category": "massage",
            "duration_minutes": 60,
            "price": "110.00",
            "specialties": ["ob_gyn"],
            "pregnancy_safe": True,
            "description": "Side-lying and cut-out table massage by certified prenatal therapists, "
            "from the second trimester.",
            "precautions": "Not in the first trimester; physician clearance for high-risk pregnancies.",
        },
        {
            "name": "Postpartum recovery massage",
            "category": "massage",
            "duration_minutes": 60,
            "price": "105.00",
            "specialties": ["ob_gyn"],
            "pregnancy_safe": True,
        },
        {
            "name": "Therapeutic deep-tissue massage",
            "category": "massage",
            "duration_minutes": 60,
            "price": "115.00",
            "specialties": ["physical_therapy", "chiropractic", "sports_medicine"],
            "precautions": "Follow the therapist's precautions; avoid recent injuries and surgical sites.",
        },
        {
            "name": "Hot-stone massage",
            "category": "massage",
            "duration_minutes": 75,
            "price": "130.00",
            "specialties": ["physical_therapy", "primary_care"],
            "precautions": "Not for clients with neuropathy.",
        },
        {
            "name": "Oncology comfort massage",
            "category": "massage",
            "duration_minutes": 45,
            "price": "90.00",
            "specialties": ["oncology"],
            "pregnancy_safe": True,
            "precautions": "Light pressure only; care-team clearance; avoid ports and radiation sites.",
        },
        {
            "name": "Sports recovery massage",
            "category": "massage",
            "duration_minutes": 60,
            "price": "110.00",
            "specialties": ["sports_medicine", "physical_therapy"],
        },
        {
            "name": "Gentle hydrating body wrap",
            "category": "body",
            "duration_minutes": 50,
            "price": "95.00",
            "specialties": ["dermatology", "oncology"],
        },
        {
            "name": "Stress-relief wellness session",
            "category": "wellness",
            "duration_minutes": 60,
            "price": "85.00",
            "specialties": ["primary_care"],
            "pregnancy_safe": True,
        },
    ],
    "offers": [
        {
            "title": "20% off a first visit for referred patients",
            "terms": "For patients referred by a partner practice; one visit per patient; show your referral slip.",
            "specialties": [],
        },
        {
            "title": "Complimentary LED add-on with any post-procedure facial",
            "terms": "For dermatology patients within 30 days of a procedure.",
            "specialties": ["dermatology"],
        },
    ],
    "credentials": [
        {
            "person": "Ana Rivera",
            "credential": "Certified prenatal massage therapist",
            "issuer": "NAPMT",
            "number": "PN-20231",
            "days_valid": 400,
            "specialties": ["ob_gyn"],
        },
        {
            "person": "Ana Rivera",
            "credential": "Licensed massage therapist",
            "issuer": "Massachusetts Board",
            "number": "LMT-55821",
            "days_valid": 45,
            "specialties": [],
        },
        {
            "person": "Jordan Lee",
            "credential": "Licensed esthetician",
            "issuer": "Massachusetts Board",
            "number": "ES-10993",
            "days_valid": 700,
            "specialties": ["dermatology", "plastic_surgery"],
        },
        {
            "person": "Jordan Lee",
            "credential": "Oncology esthetics certification",
            "issuer": "Oncology Spa Solutions",
            "number": "OE-3341",
            "days_valid": 25,
            "specialties": ["oncology"],
        },
    ],
    "equipment": [
        {
            "name": "LED therapy panel",
            "brand": "Celluma",
            "purpose": "Red/blue light for healing and redness.",
            "specialties": ["dermatology"],
        },
        {
            "name": "Prenatal table with belly cut-out",
            "brand": "Earthlite",
            "purpose": "Lets expecting mothers lie face down safely and comfortably.",
            "specialties": ["ob_gyn"],
        },
        {
            "name": "Heated tables and hot stones",
            "brand": "Oakworks",
            "purpose": "Warmth that relaxes muscles before soft-tissue work.",
            "specialties": ["physical_therapy", "chiropractic"],
        },
    ],
    "product-lines": [
        {
            "name": "Fragrance-free sensitive-skin line",
            "brand": "Eminence",
            "purpose": "Post-procedure and sensitive skin.",
            "specialties": ["dermatology", "oncology", "plastic_surgery"],
        },
        {
            "name": "Pregnancy-safe body care",
            "brand": "Mama Mio",
            "purpose": "Stretch-mark and body care safe in pregnancy.",
            "specialties": ["ob_gyn"],
        },
    ],
}


def seed_catalog(spa):
    """The demo catalog (Serenity gets it all, Harbor a few services). Skips what exists."""
    with scope(spa=spa):
        talking_points_for(spa=spa)
        for kind, items in DEMO_CATALOG.items():
            model = CATALOG_MODELS[kind]
            if spa.slug != "serenity-spa" and kind != "services":
                continue
            for spec in items if spa.slug == "serenity-spa" else items[:4]:
                spec = dict(spec)
                if "days_valid" in spec:
                    spec["expires_on"] = timezone.localdate() + timedelta(days=spec.pop("days_valid"))
                lookup = (
                    {"name": spec["name"]}
                    if "name" in spec
                    else {"title": spec["title"]}
                    if "title" in spec
                    else {"person": spec["person"], "credential": spec["credential"]}
                )
                if not model.objects.filter(spa=spa, **lookup).exists():
                    model.objects.create(spa=spa, **spec)
