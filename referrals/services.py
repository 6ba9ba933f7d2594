"""Writes for referrals: intake from every channel, the lifecycle, contact attempts, assignment.

Every change writes one timeline event and one audit event in the same transaction; every
read of a referral's details writes one audit event (referral_record_view).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from infra.audit import audit_record
from infra.outbox import email_enqueue
from spas.models import Membership, Role

from . import figures
from .clock import add_business_days
from .followup.services import follow_up_schedule
from .models import (
    ATTEMPT_STATUSES,
    FAILED_ATTEMPT_OUTCOMES,
    TRANSITIONS,
    Referral,
    ReferralEvent,
    ReferralService,
    Status,
    appointment_after_receipt,
    reason_choices,
    referral_settings_for,
)
from .selectors import prefetched_set, referral_counts_changed
from .webhooks.events import webhook_event_record

PATIENT_FIELDS = [
    "patient_first_name",
    "patient_last_name",
    "patient_phone",
    "patient_email",
    "preferred_contact_method",
    "preferred_contact_time",
    "patient_date_of_birth",
]
DETAIL_FIELDS = ["reason_category", "reason_text", "precautions", "urgency"]
IN_HAND_RELATIONS = ["spa", "practice", "clinician", "created_by"]
# The moves clinic systems can subscribe to (referral.accepted, …; referrals/webhooks/models.py EventType).
WEBHOOK_STATUSES = {Status.ACCEPTED, Status.SCHEDULED, Status.COMPLETED, Status.DECLINED}


def first_contact_business_days(spa):
    return referral_settings_for(spa).first_contact_business_days


def unreachable_after_attempts(spa):
    return referral_settings_for(spa).unreachable_after_attempts


def message_follow_up_due(spa, sent_at):
    """When a sent message that got no reply is owed its follow-up: the spa's number of business days later."""
    return add_business_days(sent_at, referral_settings_for(spa).message_follow_up_business_days, spa.timezone)


def _check_reason(referral):
    allowed = dict(reason_choices(referral.practice.specialty))
    if referral.reason_category not in allowed:
        raise ValidationError({"reason_category": _("Choose a reason from the list.")})


def _check_clinician(referral):
    if referral.clinician_id and referral.clinician.practice_id != referral.practice_id:
        raise ValidationError({"clinician": _("This clinician is not at the referring practice.")})


def referral_create(
    *,
    spa,
    practice,
    channel,
    patient,
    consent_method,
    consent_captured_by,
    details=None,
    clinician=None,
    services=(),
    attachment=None,
    created_by=None,
    created_by_label="",
    consent_to_contact=True,
    notify=True,
):
    """Receive a referral from any channel. The patient's consent to be contacted is required.

    Everything is checked before the first write, so a refusal (ValidationError) leaves the caller's
    transaction untouched; the writes then share the caller's transaction (no savepoint of their own:
    they only fail on a database error, which aborts that transaction anyway). The referral comes back
    with its services and its first timeline event in hand (``referral.recommended.all()``,
    ``referral.events.all()``), so showing it needs no read-back.
    """
    if practice.spa_id != spa.pk:
        raise ValidationError({"practice": _("Unknown practice.")})
    if not consent_to_contact:
        raise ValidationError({"consent_to_contact": _("The patient must agree to be contacted by the spa.")})
    now = timezone.now()
    referral = Referral(
        spa=spa,
        practice=practice,
        clinician=clinician,
        channel=channel,
        consent_to_contact=True,
        consent_method=consent_method,
        consent_captured_by=consent_captured_by[:255],
        consent_captured_at=now,
        received_at=now,
        first_contact_due_at=add_business_days(now, first_contact_business_days(spa), spa.timezone),
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
        created_by_label=created_by_label[:255],
        **{name: value for name, value in patient.items() if name in PATIENT_FIELDS},
        **{name: value for name, value in (details or {}).items() if name in DETAIL_FIELDS},
    )
    if not (referral.patient_phone or referral.patient_email):
        raise ValidationError({"patient_phone": _("Give a phone number or an email so the spa can reach the patient.")})
    if attachment is not None:
        referral.attachment_name = attachment.name[-120:]
        referral.attachment = attachment
    _check_reason(referral)
    _check_clinician(referral)
    # The related rows are objects the caller read in this spa's scope and checked above (practice in
    # the spa, clinician at the practice), and public_id is a fresh uuid4 under a unique index: asking the
    # database again whether each exists would be four more queries on every referral, from every channel.
    referral.full_clean(exclude=IN_HAND_RELATIONS, validate_unique=False, validate_constraints=False)
    with transaction.atomic(savepoint=False):
        _referral_written(referral, services=services, notify=notify)
    return referral


def _referral_written(referral, *, services, notify):
    """Save a checked referral with its services, first timeline event, audit event and notification,
    and leave the services and the event on it (``recommended.all()``, ``events.all()``) for the caller."""
    spa = referral.spa
    referral.save()
    unique_services = {service.pk: service for service in services if service.spa_id == spa.pk}
    recommended = ReferralService.objects.bulk_create(
        [ReferralService(spa=spa, referral=referral, service=unique_services[pk]) for pk in sorted(unique_services)]
    )
    received = ReferralEvent.objects.create(
        spa=spa,
        referral=referral,
        kind=ReferralEvent.Kind.RECEIVED,
        to_status=Status.RECEIVED,
        actor=referral.created_by,
        actor_label=referral.created_by_label or str(referral.get_channel_display()),
        created_at=referral.received_at,
    )
    audit_record(
        spa=spa,
        action="referral.created",
        actor=referral.created_by,
        actor_label=referral.created_by_label,
        obj=referral,
        detail={"channel": referral.channel, "practice": str(referral.practice.public_id)},
    )
    figures.referral_added(referral)
    referral_counts_changed(spa.pk)
    if notify:
        _notify_new_referral(referral)
    # Clinic systems hear of it through the webhook outbox, in this transaction (referrals/webhooks/).
    webhook_event_record(referral=referral, event_type="referral.received", at=referral.received_at)
    prefetched_set(referral, "recommended", recommended)
    prefetched_set(referral, "events", [received])


def owner_emails(spa):
    """The addresses of the spa's active owners."""
    owners = Membership.objects.filter(spa=spa, role=Role.OWNER, user__is_active=True).select_related("user")
    return [membership.user.email for membership in owners]


def staff_recipients(referral):
    """Who at the spa hears about a referral by email: its assignee if there is one, otherwise the spa's owners.

    Shared by every notice about one referral (new, overdue, a practice's update through the portal)."""
    if referral.assignee_id:
        return [referral.assignee.email]
    return owner_emails(referral.spa)


def _notify_new_referral(referral):
    # No health information in the email: the practice name and a link, nothing about the patient.
    url = settings.SITE_URL + reverse("referrals:detail", args=[referral.spa.slug, referral.public_id])
    for address in staff_recipients(referral):
        email_enqueue(
            spa=referral.spa,
            to=address,
            template_name="referral-new",
            context={
                "spa": referral.spa,
                "practice": referral.practice,
                "channel": referral.get_channel_display(),
                "url": url,
                "due": referral.first_contact_due_at,
            },
        )


def _locked(referral, expected_version):
    """Re-read the referral under a row lock; refuse if someone changed it since the caller read it."""
    current = Referral.objects.select_for_update().select_related("spa", "practice").get(pk=referral.pk)
    if expected_version is not None and int(expected_version) != current.version:
        raise ValidationError(
            _("Someone else changed this referral while you were looking at it. Reload to see the latest.")
        )
    return current


def referral_change_save(referral, fields, *, before):
    """Save a change to a referral the caller locked: ``fields`` plus a new version, the figures moved from
    ``before`` (its ``figures.snapshot`` from before the change) and the inbox counts recomputed. For services
    that already hold the row lock and record their own timeline and audit events."""
    referral.version += 1
    referral.save(update_fields=[*fields, "version", "updated_at"])
    figures.referral_changed(before, referral)
    referral_counts_changed(referral.spa_id)


def referral_event_record(referral, actor, **fields):
    """Append one line to the referral's timeline (a ``ReferralEvent`` with ``fields``: kind, note, statuses…),
    by ``actor`` when it is a signed-in person, otherwise by nobody (``actor_label`` may still name them)."""
    return ReferralEvent.objects.create(
        spa=referral.spa,
        referral=referral,
        actor=actor if actor is not None and actor.is_authenticated else None,
        **fields,
    )


@transaction.atomic
def referral_transition(
    *, referral, to_status, actor, expected_version=None, reason="", scheduled_for=None, service=None
):
    """Move a referral to ``to_status`` if that is a legal move from where it is now."""
    referral = _locked(referral, expected_version)
    before = figures.snapshot(referral)
    if to_status not in Status.values:
        raise ValidationError(_("Unknown status."))
    if to_status not in TRANSITIONS[referral.status]:
        raise ValidationError(
            _("A referral that is %(current)s cannot be marked %(target)s.")
            % {"current": referral.get_status_display().lower(), "target": Status(to_status).label.lower()}
        )
    changed = ["status"]
    reason = (reason or "").strip()[:255]
    if to_status == Status.DECLINED:
        if not reason:
            raise ValidationError({"reason": _("Say why the referral is declined.")})
        referral.decline_reason = reason
        changed.append("decline_reason")
    if to_status == Status.SCHEDULED:
        if scheduled_for is None:
            raise ValidationError({"scheduled_for": _("Choose the appointment date and time.")})
        appointment_after_receipt(referral, scheduled_for)
        if service is not None and service.spa_id != referral.spa_id:
            raise ValidationError({"service": _("Choose a service from your catalog.")})
        referral.scheduled_for = scheduled_for
        referral.scheduled_service = service
        changed += ["scheduled_for", "scheduled_service"]
    if to_status in (Status.CONTACTED, Status.UNREACHABLE) and referral.first_contact_attempt_at is None:
        # Marked contacted without a logged attempt: the clock still stops (and time to first contact counts).
        referral.first_contact_attempt_at = timezone.now()
        changed.append("first_contact_attempt_at")
    if to_status == Status.CONTACTED and referral.contacted_at is None:
        referral.contacted_at = timezone.now()
        changed.append("contacted_at")
    if to_status in (Status.DECLINED, Status.COMPLETED, Status.CANCELLED):
        referral.closed_at = timezone.now()
        changed.append("closed_at")
    if referral.follow_up_due_at and (to_status not in ATTEMPT_STATUSES or to_status == Status.CONTACTED):
        # Reached, booked or closed: no follow-up on a sent message is owed any more.
        referral.follow_up_due_at = None
        changed.append("follow_up_due_at")
    previous = referral.status
    referral.status = to_status
    referral_change_save(referral, changed, before=before)
    referral_event_record(
        referral, actor, kind=ReferralEvent.Kind.STATUS, from_status=previous, to_status=to_status, note=reason
    )
    audit_record(
        spa=referral.spa,
        action="referral.status_changed",
        actor=actor,
        obj=referral,
        detail={"from": previous, "to": to_status},
    )
    if to_status in WEBHOOK_STATUSES:
        webhook_event_record(referral=referral, event_type=f"referral.{to_status}")
    if to_status == Status.COMPLETED:
        # The patient's thank-you, if they allow contact (referrals/followup); scheduled with the completion.
        follow_up_schedule(referral=referral)
    return referral


@transaction.atomic
def referral_log_attempt(*, referral, outcome, actor, note="", expected_version=None):
    """Log one attempt to reach the patient. Reaching them moves the referral to contacted; no answer, a
    voicemail or a wrong number count as failed, and after the spa's number of failed attempts it becomes
    unreachable. A sent message awaiting a reply is not a failure: it schedules a follow-up
    (``follow_up_due_at``) instead, which the next attempt of another kind settles."""
    referral = _locked(referral, expected_version)
    before = figures.snapshot(referral)
    if outcome not in ReferralEvent.Outcome.values:
        raise ValidationError({"outcome": _("Choose what happened.")})
    if referral.status == Status.RECEIVED:
        raise ValidationError(_("Accept the referral before contacting the patient."))
    if referral.status not in ATTEMPT_STATUSES:
        raise ValidationError(
            _("Contact attempts are logged before the appointment is booked; this referral is %(status)s.")
            % {"status": referral.get_status_display().lower()}
        )
    now = timezone.now()
    changed = []
    if referral.first_contact_attempt_at is None:
        referral.first_contact_attempt_at = now
        changed.append("first_contact_attempt_at")
    previous = referral.status
    follow_up_due_at = None
    if outcome == ReferralEvent.Outcome.REACHED:
        referral.status = Status.CONTACTED
        if referral.contacted_at is None:
            referral.contacted_at = now
            changed.append("contacted_at")
    elif outcome == ReferralEvent.Outcome.MESSAGE_SENT:
        follow_up_due_at = message_follow_up_due(referral.spa, now)
    elif outcome in FAILED_ATTEMPT_OUTCOMES and referral.status != Status.CONTACTED:
        referral.failed_attempts += 1
        changed.append("failed_attempts")
        if referral.failed_attempts >= unreachable_after_attempts(referral.spa):
            referral.status = Status.UNREACHABLE
    if referral.follow_up_due_at != follow_up_due_at:
        referral.follow_up_due_at = follow_up_due_at
        changed.append("follow_up_due_at")
    if referral.status != previous:
        changed.append("status")
    referral_change_save(referral, changed, before=before)
    referral_event_record(referral, actor, kind=ReferralEvent.Kind.ATTEMPT, outcome=outcome, note=(note or "")[:2000])
    if referral.status != previous:
        referral_event_record(
            referral, actor, kind=ReferralEvent.Kind.STATUS, from_status=previous, to_status=referral.status
        )
    audit_record(
        spa=referral.spa,
        action="referral.contact_attempted",
        actor=actor,
        obj=referral,
        detail={"outcome": outcome, "status": referral.status},
    )
    return referral


@transaction.atomic
def referral_assign(*, referral, assignee, actor, expected_version=None):
    referral = _locked(referral, expected_version)
    before = figures.snapshot(referral)
    if assignee is not None and not Membership.objects.filter(spa=referral.spa, user=assignee).exists():
        raise ValidationError({"assignee": _("Assign the referral to a member of this spa.")})
    referral.assignee = assignee
    referral_change_save(referral, ["assignee"], before=before)
    label = assignee.display_name if assignee else _("nobody")
    referral_event_record(referral, actor, kind=ReferralEvent.Kind.ASSIGNED, note=str(label))
    audit_record(
        spa=referral.spa,
        action="referral.assigned",
        actor=actor,
        obj=referral,
        detail={"assignee": assignee.email if assignee else None},
    )
    return referral


@transaction.atomic
def referral_add_note(*, referral, note, actor):
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Write the note first.")})
    event = referral_event_record(referral, actor, kind=ReferralEvent.Kind.NOTE, note=note[:2000])
    audit_record(spa=referral.spa, action="referral.note_added", actor=actor, obj=referral)
    return event


def referral_record_attachment_download(*, referral, actor=None):
    """One audit event per download of a referral's attachment."""
    return audit_record(spa=referral.spa, action="referral.attachment_downloaded", actor=actor, obj=referral)


def referral_record_view(*, referral, actor=None, actor_label="", channel="spa"):
    """Exactly one audit event per read of a referral's details (spa page, portal page, API)."""
    return audit_record(
        spa=referral.spa,
        action="referral.viewed",
        actor=actor,
        actor_label=actor_label,
        obj=referral,
        detail={"via": channel},
    )


@transaction.atomic
def referral_settings_update(*, spa, actor, fields):
    """Change a spa's referral rules (they apply to referrals received from now on)."""
    settings_row = referral_settings_for(spa)
    changed = sorted(name for name, value in fields.items() if getattr(settings_row, name) != value)
    if not changed:
        return settings_row
    for name in changed:
        setattr(settings_row, name, fields[name])
    settings_row.full_clean()
    settings_row.save(update_fields=changed)
    audit_record(
        spa=spa,
        action="referral_settings.updated",
        actor=actor,
        obj=settings_row,
        detail={name: fields[name] for name in changed},
    )
    return settings_row
