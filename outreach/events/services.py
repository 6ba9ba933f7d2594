"""Events: lunch presentations and open houses, the practices (and people) invited, RSVPs, attendance, and the
follow-up tasks for the practices that came.

Attendance is part of the practice's history: the first attendee of a practice logs one touchpoint of the
event's kind (a lunch presentation or an open house) with the attending people as participants; later
attendees join it; when no one from the practice is marked attended any more, the touchpoint is removed again
(through the activity service, so a task it closed opens again). Every change to an event runs under a lock on
the event's row, so two clicks at once cannot log a practice's touchpoint twice.

"Create follow-up tasks" makes one task per attending practice, keyed ``event:<event>:<practice>``: asking
twice, or two people at once, creates each task once. The first run stamps ``follow_ups_created_at``; a practice
marked attended afterwards can still get its task by asking again.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from partners.models import Clinician, OfficeContact, Practice
from spas.models import Membership

from ..activity.selectors import spa_today
from ..activity.services import task_create, touchpoint_delete, touchpoint_log
from ..models import Event, EventInvitee, TaskKind, TaskSource, Touchpoint, TouchpointKind, TouchpointParticipant
from .selectors import event_has_started, event_local_date

FOLLOW_UP_AFTER_DAYS = 2
UNCHANGED = object()

TOUCHPOINT_KIND_OF_EVENT = {
    Event.Kind.LUNCH_PRESENTATION: TouchpointKind.LUNCH_PRESENTATION,
    Event.Kind.OPEN_HOUSE: TouchpointKind.OPEN_HOUSE,
    Event.Kind.OTHER: TouchpointKind.NETWORKING_EVENT,
}

_EDITABLE = ["kind", "title", "starts_at", "location", "notes"]


def _locked(event):
    return Event.objects.select_for_update().select_related("spa").get(pk=event.pk)


def _has_attendance(event):
    return EventInvitee.objects.filter(spa=event.spa, event=event, attended=True).exists()


# --- the event --------------------------------------------------------------------------------------


@transaction.atomic
def event_create(*, spa, kind, title, starts_at, actor, location="", notes=""):
    """Plan a lunch presentation, an open house or another event. Returns the event."""
    event = Event(
        spa=spa,
        kind=kind,
        title=title,
        starts_at=starts_at,
        location=location,
        notes=notes,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    event.full_clean(exclude=["created_by"])  # set here, and empty for an event made by the system
    event.save()
    audit_record(spa=spa, action="event.created", actor=actor, obj=event, detail={"kind": kind})
    return event


@transaction.atomic
def event_update(*, event, actor, **fields):
    """Edit an event's kind, title, time, location or notes.

    Once attendance is recorded the event has happened: it cannot move into the future, and a new kind or day
    is carried to the touchpoints its attendance logged.
    """
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    locked = _locked(event)
    before_kind, before_day = locked.kind, event_local_date(locked)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean(exclude=["created_by"])
    attended = _has_attendance(locked)
    if attended and not event_has_started(locked):
        raise ValidationError(
            {"starts_at": _("Attendance is recorded, so the event has taken place: its time can't be in the future.")}
        )
    locked.save(update_fields=sorted(fields))
    audit_record(spa=locked.spa, action="event.updated", actor=actor, obj=locked)
    if attended and (locked.kind != before_kind or event_local_date(locked) != before_day):
        practice_ids = set(
            EventInvitee.objects.filter(spa=locked.spa, event=locked, attended=True).values_list("practice", flat=True)
        )
        for practice in Practice.objects.filter(spa=locked.spa, pk__in=practice_ids):
            _sync_touchpoint(locked, practice, actor=actor, relog=True)
    for name in fields:
        setattr(event, name, getattr(locked, name))
    return locked


@transaction.atomic
def event_delete(*, event, actor):
    """Remove a planned event (a cancelled one). An event with recorded attendance is history and stays."""
    locked = _locked(event)
    if _has_attendance(locked):
        raise ValidationError(
            _("Attendance is recorded for this event, so it stays in the practices' history. Clear it first.")
        )
    audit_record(spa=locked.spa, action="event.deleted", actor=actor, obj=locked)
    locked.delete()


# --- invitees ---------------------------------------------------------------------------------------


def _person_fields(person):
    if person is None:
        return {"clinician": None, "contact": None}
    if isinstance(person, Clinician):
        return {"clinician": person, "contact": None}
    if isinstance(person, OfficeContact):
        return {"clinician": None, "contact": person}
    raise ValueError("A person is a clinician or an office contact.")


def _check_invitation(spa, practice, person):
    if practice.spa_id != spa.pk:
        raise ValidationError({"practices": _("Unknown practice.")})
    if person is not None and (person.spa_id != spa.pk or person.practice_id != practice.pk):
        raise ValidationError(
            {"practices": _("Choose someone who works at %(practice)s.") % {"practice": practice.name}}
        )


@transaction.atomic
def event_invite(*, event, invitations, actor):
    """Invite practices, each optionally with a named clinician or office contact: ``invitations`` is a list
    of (practice, person or None). Someone already invited is skipped. Returns (created invitees, skipped)."""
    event = _locked(event)
    spa = event.spa
    for practice, person in invitations:
        _check_invitation(spa, practice, person)
    existing = set(
        EventInvitee.objects.filter(spa=spa, event=event).values_list("practice_id", "clinician_id", "contact_id")
    )
    created, skipped = [], 0
    for practice, person in invitations:
        fields = _person_fields(person)
        key = (practice.pk, getattr(fields["clinician"], "pk", None), getattr(fields["contact"], "pk", None))
        if key in existing:
            skipped += 1
            continue
        existing.add(key)
        invitee = EventInvitee(spa=spa, event=event, practice=practice, **fields)
        invitee.full_clean()
        created.append(invitee)
    EventInvitee.objects.bulk_create(created)
    if created:
        audit_record(
            spa=spa,
            action="event.invited",
            actor=actor,
            obj=event,
            detail={"invitees": [str(invitee.public_id) for invitee in created]},
        )
    return created, skipped


@transaction.atomic
def event_invitee_update(*, invitee, actor, rsvp=UNCHANGED, attended=UNCHANGED, person=UNCHANGED):
    """Record an invitee's RSVP, attendance (True / False / None for not recorded) or the person named.

    Attendance can be recorded once the event has started; it logs or updates the practice's touchpoint.
    """
    event = _locked(invitee.event)
    invitee = EventInvitee.objects.select_for_update().select_related("practice").get(pk=invitee.pk, event=event)
    changed = []
    if rsvp is not UNCHANGED and rsvp != invitee.rsvp:
        invitee.rsvp = rsvp
        changed.append("rsvp")
    if person is not UNCHANGED:
        _check_invitation(event.spa, invitee.practice, person)
        fields = _person_fields(person)
        if (fields["clinician"], fields["contact"]) != (invitee.clinician, invitee.contact):
            invitee.clinician, invitee.contact = fields["clinician"], fields["contact"]
            changed += ["clinician", "contact"]
    if attended is not UNCHANGED and attended != invitee.attended:
        if not event_has_started(event):
            raise ValidationError({"attended": _("Attendance is recorded once the event has started.")})
        invitee.attended = attended
        changed.append("attended")
    if not changed:
        return invitee
    invitee.full_clean()
    invitee.save(update_fields=changed)
    audit_record(
        spa=event.spa,
        action="event.invitee_updated",
        actor=actor,
        obj=invitee,
        detail={"event": str(event.public_id), "rsvp": invitee.rsvp, "attended": invitee.attended},
    )
    if "attended" in changed or (invitee.attended and "clinician" in changed):
        _sync_touchpoint(event, invitee.practice, actor=actor)
    return invitee


@transaction.atomic
def event_invitee_remove(*, invitee, actor):
    """Take an invitee off the list; if they were marked attended, the practice's touchpoint follows."""
    event = _locked(invitee.event)
    invitee = EventInvitee.objects.select_for_update().select_related("practice").get(pk=invitee.pk, event=event)
    practice, attended = invitee.practice, invitee.attended
    audit_record(
        spa=event.spa,
        action="event.invitee_removed",
        actor=actor,
        obj=invitee,
        detail={"event": str(event.public_id), "practice": str(practice.public_id)},
    )
    invitee.delete()
    if attended:
        _sync_touchpoint(event, practice, actor=actor)


def _sync_touchpoint(event, practice, *, actor, relog=False):
    """Make the practice's touchpoint for this event match who from the practice attended.

    Called with the event's row locked. ``relog``: the event's kind or day changed, log it afresh.
    """
    spa = event.spa
    attending = list(
        EventInvitee.objects.filter(spa=spa, event=event, practice=practice, attended=True).select_related(
            "clinician", "contact"
        )
    )
    touchpoint = Touchpoint.objects.filter(spa=spa, event=event, practice=practice).order_by("id").first()
    if touchpoint is not None and (relog or not attending):
        touchpoint_delete(touchpoint=touchpoint, actor=actor)
        touchpoint = None
    if not attending:
        return
    clinicians = list(
        {invitee.clinician.pk: invitee.clinician for invitee in attending if invitee.clinician_id}.values()
    )
    contacts = list({invitee.contact.pk: invitee.contact for invitee in attending if invitee.contact_id}.values())
    if touchpoint is None:
        touchpoint_log(
            spa=spa,
            practice=practice,
            kind=TOUCHPOINT_KIND_OF_EVENT[event.kind],
            occurred_on=event_local_date(event),
            actor=actor,
            notes=_("Attended “%(title)s”.") % {"title": event.title},
            clinicians=clinicians,
            contacts=contacts,
            event=event,
        )
        return
    # Same touchpoint, new set of people: the participants follow the attendance list.
    TouchpointParticipant.objects.filter(spa=spa, touchpoint=touchpoint).delete()
    TouchpointParticipant.objects.bulk_create(
        [TouchpointParticipant(spa=spa, touchpoint=touchpoint, clinician=person) for person in clinicians]
        + [TouchpointParticipant(spa=spa, touchpoint=touchpoint, contact=person) for person in contacts]
    )
    audit_record(
        spa=spa,
        action="touchpoint.participants_changed",
        actor=actor,
        obj=touchpoint,
        detail={"event": str(event.public_id), "people": len(clinicians) + len(contacts)},
    )


# --- follow-ups -------------------------------------------------------------------------------------


def follow_up_dedupe_key(event, practice):
    return f"event:{event.pk}:{practice.pk}"


@transaction.atomic
def event_follow_ups_create(*, event, actor):
    """One follow-up task per attending practice that has none yet. Returns the tasks created now.

    The task goes to the practice's owner (when still on the team), else the event's creator, else whoever
    asked; it is due two days after the event (today, when that has passed).
    """
    event = _locked(event)
    spa = event.spa
    if not event_has_started(event):
        raise ValidationError(_("Follow-up tasks are created after the event."))
    attending = list(
        EventInvitee.objects.filter(spa=spa, event=event, attended=True)
        .select_related("practice", "practice__owner", "clinician", "contact")
        .order_by("practice__name", "id")
    )
    if not attending:
        raise ValidationError(_("Mark who attended first: follow-ups go to the practices that came."))
    members = set(Membership.objects.filter(spa=spa).values_list("user_id", flat=True))
    by_practice = {}
    for invitee in attending:
        by_practice.setdefault(invitee.practice, []).append(invitee)
    due_on = max(event_local_date(event) + datetime.timedelta(days=FOLLOW_UP_AFTER_DAYS), spa_today(spa))
    fallback = next(
        (user for user in (event.created_by, actor) if user is not None and user.pk in members),
        None,
    )
    created = []
    for practice, invitees in by_practice.items():
        assignee = practice.owner if practice.owner_id in members else fallback
        people = [invitee.person for invitee in invitees if invitee.person is not None]
        notes = _("Thank them for coming to “%(title)s” and ask what would make referring easy.") % {
            "title": event.title
        }
        if people:
            notes += "\n" + _("Attended: %(people)s.") % {"people": ", ".join(str(person) for person in people)}
        task, was_created = task_create(
            spa=spa,
            title=_("Follow up with %(practice)s after “%(title)s”")
            % {"practice": practice.name, "title": event.title},
            kind=TaskKind.FOLLOW_UP,
            due_on=due_on,
            assignee=assignee,
            practice=practice,
            notes=notes,
            source=TaskSource.EVENT,
            dedupe_key=follow_up_dedupe_key(event, practice),
            created_by=actor,
            event=event,
        )
        if was_created:
            created.append(task)
    if event.follow_ups_created_at is None:
        event.follow_ups_created_at = timezone.now()
        event.save(update_fields=["follow_ups_created_at"])
    if created:
        audit_record(
            spa=spa,
            action="event.follow_ups_created",
            actor=actor,
            obj=event,
            detail={"tasks": len(created)},
        )
    return created


# --- reads ------------------------------------------------------------------------------------------
