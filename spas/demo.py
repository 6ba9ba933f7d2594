"""Demo data for the spas app: two spas (so isolation is visible) with their owners.

Idempotent: running it again finds what exists and changes nothing.
"""

from allauth.account.models import EmailAddress
from django_scopes import scope

from .models import Membership, Role, Spa, User

DEMO_SPAS = [
    {
        "slug": "serenity-spa",
        "name": "Serenity Day Spa",
        "owner": ("owner@serenity.example", "serenity-demo", "Maya Serenity"),
        "timezone": "America/New_York",
        "address": "120 Elm Street, Brookline, MA 02445",
        "phone": "(617) 555-0142",
        "email": "hello@serenity.example",
        "website": "https://serenity.example",
        "booking_url": "https://serenity.example/book",
        "referral_email": "referrals@serenity.example",
        "referral_phone": "(617) 555-0199",
        "brand_colour": "#2a7a78",
    },
    {
        "slug": "harbor-wellness",
        "name": "Harbor Wellness & Med Spa",
        "owner": ("owner@harbor.example", "harbor-demo", "Sam Harbor"),
        "timezone": "America/Los_Angeles",
        "address": "8 Pier Avenue, Santa Monica, CA 90405",
        "phone": "(310) 555-0110",
        "email": "front@harbor.example",
        "website": "https://harbor.example",
        "booking_url": "",
        "referral_email": "referrals@harbor.example",
        "referral_phone": "(310) 555-0111",
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
