"""Demo events: a lunch presentation that took place (attendance recorded, follow-up tasks created) and an open
house coming up with invitations out and RSVPs coming in.

Idempotent: a spa that already has events is left alone. Works with the demo practices of partners/demo.py
and falls back to the spa's own practices when those names are not there.
"""

import datetime
import zoneinfo

from django.utils import timezone
from django_scopes import scope

from partners.models import Practice, Stage

from ..activity.selectors import spa_today
from ..models import Event, EventInvitee
from .services import event_create, event_follow_ups_create, event_invite, event_invitee_update

LUNCH_PRACTICE = "Beacon Skin & Laser"
# (practice name, RSVP)
OPEN_HOUSE_GUESTS = [
    ("Glow Dermatology", "yes"),
    ("Brookline Women's Health", "maybe"),
    ("Riverside Physical Therapy", "yes"),
    ("Aligned Chiropractic", "pending"),
    ("Hope Cancer Center", "no"),
    ("Brookline Family Medicine", "pending"),
]


def _at(spa, day, hour, minute):
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(spa.timezone))


def _is_physician(clinician):
    return bool({"MD", "DO"} & {token.strip().upper() for token in clinician.credentials.split(",")})


def _people(practice):
    return [*practice.clinicians.all(), *practice.contacts.all()]


def seed_events(spa, owner):
    """Seed the two demo events. Returns how many events were created."""
    with scope(spa=spa):
        if Event.objects.filter(spa=spa).exists():
            return 0
        practices = list(Practice.objects.filter(spa=spa).prefetch_related("clinicians", "contacts").order_by("name"))
        if not practices:
            return 0
        by_name = {practice.name: practice for practice in practices}
        warm = [practice for practice in practices if practice.stage in (Stage.ACTIVE, Stage.TRIAL, Stage.MEETING)]
        today = spa_today(spa)

        host = by_name.get(LUNCH_PRACTICE) or (warm or practices)[0]
        lunch = event_create(
            spa=spa,
            kind=Event.Kind.LUNCH_PRESENTATION,
            title=f"Lunch presentation at {host.name}",
            starts_at=_at(spa, today - datetime.timedelta(days=12), 12, 15),
            location=host.address or host.city,
            notes=(
                "Fifteen minutes on post-procedure facials and our fragrance-free product lines, then questions. "
                "Salads and sandwiches for eight; one vegetarian, one gluten-free."
            ),
            actor=owner,
        )
        people = _people(host) or [None]
        lunch_guests, _skipped = event_invite(
            event=lunch, invitations=[(host, person) for person in people], actor=owner
        )
        for invitee in lunch_guests:
            event_invitee_update(invitee=invitee, rsvp=EventInvitee.Rsvp.YES, attended=True, actor=owner)
        event_follow_ups_create(event=lunch, actor=owner)

        guests = [(by_name[name], rsvp) for name, rsvp in OPEN_HOUSE_GUESTS if name in by_name]
        if not guests:
            guests = [
                (practice, rsvp) for practice, (_name, rsvp) in zip(warm or practices, OPEN_HOUSE_GUESTS, strict=False)
            ]
        open_house = event_create(
            spa=spa,
            kind=Event.Kind.OPEN_HOUSE,
            title="Spring open house for partner practices",
            starts_at=_at(spa, today + datetime.timedelta(days=16), 17, 30),
            location=spa.address,
            notes=(
                "Tour of the treatment rooms and the new prenatal tables, mini hand treatments for office staff, "
                "light refreshments. Guests RSVP to the front desk by phone or email."
            ),
            actor=owner,
        )
        invitations = []
        for practice, _rsvp in guests:
            # The physician when there is one (an MD or DO), else whoever is on file.
            clinicians = sorted(practice.clinicians.all(), key=lambda person: not _is_physician(person))
            invitations.append((practice, clinicians[0] if clinicians else None))
        invited, _skipped = event_invite(event=open_house, invitations=invitations, actor=owner)
        rsvps = {practice.pk: rsvp for practice, rsvp in guests}
        for invitee in invited:
            if rsvps[invitee.practice_id] != EventInvitee.Rsvp.PENDING:
                event_invitee_update(invitee=invitee, rsvp=rsvps[invitee.practice_id], actor=owner)
        # Spread the invitations over the past days rather than this second.
        EventInvitee.objects.filter(spa=spa, event=open_house).update(
            invited_at=timezone.now() - datetime.timedelta(days=5)
        )
        return 2
