"""Demo gift ledger in serenity-spa: a year of meals, complimentary services, event hospitality and small
gifts to the demo practices' people. Dr. Priya Patel (Glow Dermatology) is at about 90% of this year's
limit, so the ledger's warning shows; her office manager Rosa Alvarez is well under it. A few entries
from last year fill the yearly report's other year.

Idempotent: does nothing once the spa has gifts. Every entry goes through ``gift_record``, so the
practices' timelines show the gift touchpoints and the audit trail holds them too.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django_scopes import scope

from partners.models import Clinician, OfficeContact, Practice

from ..activity.selectors import spa_today
from ..models import Gift, GiftKind
from .selectors import gift_limit_for
from .services import gift_record

NEAR_LIMIT_SHARE = Decimal("0.90")

# This year's entries: (practice, clinician last name or contact name, share of the year elapsed, kind,
# description, fair market value). ``None`` as the value: whatever brings the person to NEAR_LIMIT_SHARE.
THIS_YEAR = [
    (
        "Glow Dermatology",
        "Patel",
        0.10,
        GiftKind.MEAL,
        "Lunch presentation at the practice (her share, 8 attending)",
        "28.50",
    ),
    (
        "Glow Dermatology",
        "Chen",
        0.10,
        GiftKind.MEAL,
        "Lunch presentation at the practice (his share, 8 attending)",
        "28.50",
    ),
    (
        "Glow Dermatology",
        "Rosa Alvarez",
        0.10,
        GiftKind.MEAL,
        "Lunch presentation at the practice (her share, 8 attending)",
        "28.50",
    ),
    (
        "Glow Dermatology",
        "Patel",
        0.30,
        GiftKind.COMPLIMENTARY_SERVICE,
        "Signature hydrating facial (retail price)",
        "145.00",
    ),
    (
        "Brookline Women's Health",
        "Garcia",
        0.35,
        GiftKind.MEAL,
        "Working lunch to plan the prenatal program (her share)",
        "32.00",
    ),
    (
        "Brookline Women's Health",
        "Tasha Brooks",
        0.38,
        GiftKind.COMPLIMENTARY_SERVICE,
        "Calming facial for the office manager (retail price)",
        "110.00",
    ),
    (
        "Glow Dermatology",
        "Patel",
        0.45,
        GiftKind.EVENT_HOSPITALITY,
        "Spring open house: catering and a take-home skincare kit",
        "62.00",
    ),
    (
        "Riverside Physical Therapy",
        "Reyes",
        0.50,
        GiftKind.EVENT_HOSPITALITY,
        "Coffee and lunch at the myofascial release course",
        "40.00",
    ),
    (
        "Glow Dermatology",
        "Patel",
        0.60,
        GiftKind.GIFT,
        "Orchid for the practice's 10th anniversary (her share)",
        "75.00",
    ),
    (
        "Brookline Women's Health",
        "Garcia",
        0.70,
        GiftKind.COMPLIMENTARY_SERVICE,
        "Prenatal massage demonstration session (retail price)",
        "95.00",
    ),
    (
        "Glow Dermatology",
        "Patel",
        0.80,
        GiftKind.COMPLIMENTARY_SERVICE,
        "60-minute deep-tissue massage (retail price)",
        "120.00",
    ),
    (
        "Glow Dermatology",
        "Rosa Alvarez",
        0.85,
        GiftKind.GIFT,
        "Box of pastries for the front office (her share)",
        "18.00",
    ),
    (
        "Glow Dermatology",
        "Patel",
        0.90,
        GiftKind.MEAL,
        "Dinner after the continuing-education evening (her share)",
        None,
    ),
]
# Last year's entries: (practice, person, month, day, kind, description, value).
LAST_YEAR = [
    ("Glow Dermatology", "Patel", 10, 15, GiftKind.MEAL, "Lunch-and-learn on post-peel care (her share)", "26.00"),
    ("Glow Dermatology", "Patel", 12, 12, GiftKind.GIFT, "Holiday basket of fragrance-free products", "65.00"),
    (
        "Riverside Physical Therapy",
        "Novak",
        11,
        20,
        GiftKind.COMPLIMENTARY_SERVICE,
        "Sports massage (retail price)",
        "95.00",
    ),
    (
        "Brookline Women's Health",
        "Tasha Brooks",
        12,
        5,
        GiftKind.GIFT,
        "Holiday treats for the front office (her share)",
        "20.00",
    ),
]


def _person(spa, practice, name):
    clinician = Clinician.objects.filter(spa=spa, practice=practice, last_name=name).first()
    return clinician or OfficeContact.objects.filter(spa=spa, practice=practice, name=name).first()


def seed_gifts(spa, owner):
    """The demo spa's gift ledger; returns how many gifts were recorded (0 when it already has some)."""
    with scope(spa=spa):
        if Gift.objects.filter(spa=spa).exists():
            return 0
        practices = {practice.name: practice for practice in Practice.objects.filter(spa=spa)}
        today = spa_today(spa)
        jan_first = datetime.date(today.year, 1, 1)
        elapsed = (today - jan_first).days
        target = (gift_limit_for(spa=spa, year=today.year).amount * NEAR_LIMIT_SHARE).quantize(Decimal("0.01"))
        given_this_year = {}
        entries = []
        for practice_name, name, month, day, kind, description, value in LAST_YEAR:
            entries.append((practice_name, name, datetime.date(today.year - 1, month, day), kind, description, value))
        for practice_name, name, share, kind, description, value in THIS_YEAR:
            given_on = jan_first + datetime.timedelta(days=round(share * elapsed))
            entries.append((practice_name, name, given_on, kind, description, value))
        created = 0
        for practice_name, name, given_on, kind, description, value in entries:
            practice = practices.get(practice_name)
            person = _person(spa, practice, name) if practice else None
            if person is None:
                continue
            key = (type(person), person.pk)
            if value is None:  # the entry that brings her to about 90% of this year's limit
                amount = max(target - given_this_year.get(key, Decimal("0")), Decimal("10.00"))
            else:
                amount = Decimal(value)
            try:
                gift_record(
                    spa=spa,
                    practice=practice,
                    recipient=person,
                    given_on=given_on,
                    kind=kind,
                    description=description,
                    fair_market_value=amount,
                    actor=owner,
                )
            except ValidationError:  # a spa with a lower limit of its own: leave that entry out
                continue
            if given_on.year == today.year:
                given_this_year[key] = given_this_year.get(key, Decimal("0")) + amount
            created += 1
        return created
