"""Event reads: the list with its counts, an event's invitees and tallies, the people to invite, its follow-ups.
Nothing here writes."""

import zoneinfo

from django.db.models import Count, Q
from django.utils import timezone

from partners.models import Clinician, OfficeContact

from ..models import Event, EventInvitee, Task, TaskSource

Rsvp = EventInvitee.Rsvp


def event_local_date(event):
    """The day the event happens on the spa's wall clock."""
    return timezone.localtime(event.starts_at, zoneinfo.ZoneInfo(event.spa.timezone)).date()


def event_has_started(event, now=None):
    return event.starts_at <= (now or timezone.now())


def _with_counts(events):
    return events.annotate(
        invited_count=Count("invitees"),
        coming_count=Count("invitees", filter=Q(invitees__rsvp=Rsvp.YES)),
        maybe_count=Count("invitees", filter=Q(invitees__rsvp=Rsvp.MAYBE)),
        pending_count=Count("invitees", filter=Q(invitees__rsvp=Rsvp.PENDING)),
        declined_count=Count("invitees", filter=Q(invitees__rsvp=Rsvp.NO)),
        attended_count=Count("invitees", filter=Q(invitees__attended=True)),
    )


def event_list(*, spa, when="upcoming", now=None):
    """Upcoming events soonest first, or past events latest first, with their RSVP and attendance counts."""
    now = now or timezone.now()
    events = _with_counts(Event.objects.filter(spa=spa)).select_related("created_by")
    if when == "past":
        return events.filter(starts_at__lt=now).order_by("-starts_at", "-id")
    return events.filter(starts_at__gte=now).order_by("starts_at", "id")


def event_counts(*, spa, now=None):
    """How many events are upcoming and past (the list's tabs). One query."""
    now = now or timezone.now()
    return Event.objects.filter(spa=spa).aggregate(
        upcoming=Count("id", filter=Q(starts_at__gte=now)), past=Count("id", filter=Q(starts_at__lt=now))
    )


def event_invitees(*, spa, event):
    """The event's invitees with their practice and person loaded, by practice name."""
    return list(
        EventInvitee.objects.filter(spa=spa, event=event)
        .select_related("practice", "clinician", "contact")
        .order_by("practice__name", "practice_id", "id")
    )


def people_by_practice(*, spa, practice_ids):
    """{practice id: (clinicians, contacts)} for the person menus. Two queries."""
    people = {practice_id: ([], []) for practice_id in practice_ids}
    for clinician in Clinician.objects.filter(spa=spa, practice_id__in=practice_ids).order_by(
        "last_name", "first_name"
    ):
        people[clinician.practice_id][0].append(clinician)
    for contact in OfficeContact.objects.filter(spa=spa, practice_id__in=practice_ids).order_by("name"):
        people[contact.practice_id][1].append(contact)
    return people


def invitee_tallies(invitees):
    """RSVP and attendance counts for a list of invitees (no query)."""
    tallies = {
        "invited": len(invitees),
        "coming": 0,
        "maybe": 0,
        "pending": 0,
        "declined": 0,
        "attended": 0,
        "absent": 0,
        "unrecorded": 0,
    }
    rsvp_names = {Rsvp.YES: "coming", Rsvp.MAYBE: "maybe", Rsvp.PENDING: "pending", Rsvp.NO: "declined"}
    practices_attending = set()
    for invitee in invitees:
        tallies[rsvp_names[invitee.rsvp]] += 1
        if invitee.attended is True:
            tallies["attended"] += 1
            practices_attending.add(invitee.practice_id)
        elif invitee.attended is False:
            tallies["absent"] += 1
        else:
            tallies["unrecorded"] += 1
    tallies["practices_attending"] = len(practices_attending)
    tallies["attending_practice_ids"] = practices_attending
    return tallies


def event_follow_up_tasks(*, spa, event):
    """The follow-up tasks the event created, with practice and assignee loaded."""
    return list(
        Task.objects.filter(spa=spa, event=event, source=TaskSource.EVENT)
        .select_related("practice", "assignee")
        .order_by("practice__name", "id")
    )
