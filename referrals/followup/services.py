"""Patient follow-up, the writes: schedule a thank-you after a completed referral, send it when due, stop it.

The message goes out a few days after the visit, in the spa's business hours on its own calendar, through an
outbox: by text (infra/sms_outbox.py, Twilio) when the patient prefers texts, gave a valid phone number, and the
spa can send texts (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set, a referral text number assigned); by email
otherwise (selectors.follow_up_route; the channel is planned when scheduled and decided again when sent, and kept
on the follow-up). It holds no health information: the spa's name, a thank-you, and two signed links (links.py);
the email adds how to reach the spa. A revoked authorization, the patient's opt-out or staff stop a scheduled
follow-up in the same transaction; the sender claims a due row under its lock and checks consent again there, so
a revocation committed after the claim still stops the message. A text written to the outbox but not yet claimed
by a worker is cancelled in the revoking (or opting-out, or erasing) transaction: the text outbox cannot read
consent (it sits below this app), so the stop travels to it instead.
"""

import zoneinfo
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.audit import audit_record
from infra.models import OutgoingText
from infra.outbox import email_enqueue
from infra.sms_outbox import text_cancel, text_enqueue

from ..clock import SATURDAY
from ..models import PatientFollowUp, Referral, SatisfactionResponse, Status, TestimonialPermission
from . import ratings
from .links import FEEDBACK, LINK_MAX_AGE, STOP, make_link_token
from .selectors import contact_refusal, follow_up_route

DAYS_AFTER_VISIT = 2
SEND_AT = time(10, 0)  # a reasonable hour to receive a thank-you, on the spa's wall clock
BUSINESS_HOURS = (time(9, 0), time(17, 0))
SEND_BATCH = 100
TEMPLATE = "patient-follow-up"
TEXT_TEMPLATE = "texts/patient-follow-up.txt"
TESTIMONIAL_WORDING = gettext_lazy(
    "Yes, {spa} may share my comment (without my health details) with the practice that referred me, "
    "as a testimonial. I can withdraw this at any time."
)


def _next_business_moment(moment, tz):
    """``moment`` if it falls in the spa's business hours on a weekday, else the next weekday at SEND_AT."""
    local = moment.astimezone(tz)
    opens, closes = BUSINESS_HOURS
    if local.weekday() < SATURDAY and opens <= local.time() < closes:
        return local
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return datetime.combine(day, SEND_AT, tzinfo=tz)


def follow_up_due_at(*, spa, visit_at, now=None):
    """DAYS_AFTER_VISIT calendar days after the visit, at SEND_AT on the spa's clock, moved off weekends; never
    in the past (a completion recorded late sends at the next business moment)."""
    tz = zoneinfo.ZoneInfo(spa.timezone)
    now = now or timezone.now()
    day = visit_at.astimezone(tz).date() + timedelta(days=DAYS_AFTER_VISIT)
    due = _next_business_moment(datetime.combine(day, SEND_AT, tzinfo=tz), tz)
    return due if due > now else _next_business_moment(now, tz)


def follow_up_schedule(*, referral, now=None):
    """Schedule the thank-you for a referral just completed; None (nothing scheduled) when contact is not allowed.

    Called inside the completing transaction (referrals.services.referral_transition).
    """
    if referral.status != Status.COMPLETED or contact_refusal(referral):
        return None
    if PatientFollowUp.objects.filter(spa=referral.spa, referral=referral).exists():
        return None
    visit_at = referral.scheduled_for or referral.closed_at or timezone.now()
    follow_up = PatientFollowUp.objects.create(
        spa=referral.spa,
        referral=referral,
        practice_id=referral.practice_id,
        due_at=follow_up_due_at(spa=referral.spa, visit_at=visit_at, now=now),
        channel=follow_up_route(referral).channel,
    )
    audit_record(
        spa=referral.spa,
        action="follow_up.scheduled",
        obj=follow_up,
        detail={"due_at": str(follow_up.due_at), "channel": follow_up.channel},
    )
    return follow_up


def _end(follow_up, *, state, reason, actor=None, actor_label=""):
    follow_up.state = state
    follow_up.reason = reason
    follow_up.ended_at = timezone.now()
    follow_up.save(update_fields=["state", "reason", "ended_at"])
    audit_record(
        spa=follow_up.spa,
        action=f"follow_up.{state}",
        actor=actor,
        actor_label=actor_label,
        obj=follow_up,
        detail={"reason": reason},
    )


def follow_ups_stop_for_revocation(*, referral):
    """Stop the referral's scheduled follow-up because the patient revoked an authorization (same transaction).

    A row the sender holds is skipped, not waited for: the sender checks consent again under its lock and finds
    this revocation once it commits, so revoking never waits on a mail run.
    """
    follow_up = (
        PatientFollowUp.objects.select_for_update(skip_locked=True)
        .filter(
            spa=referral.spa, referral=referral, state__in=[PatientFollowUp.State.SCHEDULED, PatientFollowUp.State.SENT]
        )
        .first()
    )
    if follow_up is None:
        return None
    # A sent follow-up stops only if its text has not left yet (an email, or a text a worker holds, is gone).
    if follow_up.state == PatientFollowUp.State.SCHEDULED or _text_stop(follow_up, reason="revoked"):
        _end(
            follow_up, state=PatientFollowUp.State.STOPPED, reason=PatientFollowUp.Reason.REVOKED, actor_label="patient"
        )
        return follow_up
    return None


def _text_stop(follow_up, *, reason):
    """Cancel the follow-up's text if it is still waiting in the outbox (the caller's transaction). True if it was."""
    if follow_up.text_message_id is None:
        return False
    stopped = text_cancel(
        spa=follow_up.spa, text_id=follow_up.text_message_id, reason=f"Cancelled before sending: {reason}."
    )
    if stopped:
        audit_record(
            spa=follow_up.spa,
            action="follow_up.text_cancelled",
            actor_label="system",
            obj=follow_up,
            detail={"reason": reason},
        )
    return stopped


@transaction.atomic
def follow_up_cancel(*, follow_up, actor):
    """Staff cancel a scheduled follow-up; anything else is refused with a clear error."""
    follow_up = PatientFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.state != PatientFollowUp.State.SCHEDULED:
        raise ValidationError(
            _("This follow-up is %(state)s; only a scheduled one can be cancelled.")
            % {"state": follow_up.get_state_display().lower()}
        )
    _end(follow_up, state=PatientFollowUp.State.CANCELLED, reason=PatientFollowUp.Reason.STAFF, actor=actor)
    return follow_up


@transaction.atomic
def follow_up_opt_out(*, follow_up):
    """The patient's opt-out link: nothing more is sent, and a testimonial permission is withdrawn. Idempotent."""
    follow_up = PatientFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.state in (PatientFollowUp.State.SCHEDULED, PatientFollowUp.State.SENT):
        _text_stop(follow_up, reason="opt_out")  # a retry of the text that brought the link must not follow it
        _end(
            follow_up, state=PatientFollowUp.State.STOPPED, reason=PatientFollowUp.Reason.OPT_OUT, actor_label="patient"
        )
    _testimonial_withdraw(follow_up)
    return follow_up


# --- sending ------------------------------------------------------------------------------------------------


def follow_ups_send_due(*, spa, now=None):
    """Send every due follow-up of ``spa`` (the beat's job). Returns how many were sent; safe to run twice at once."""
    now = now or timezone.now()
    due_ids = list(
        PatientFollowUp.objects.filter(spa=spa, state=PatientFollowUp.State.SCHEDULED, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:SEND_BATCH]
    )
    sent = 0
    for follow_up_id in due_ids:
        with transaction.atomic():
            follow_up = _claim(spa, follow_up_id, now)
            if follow_up is not None and _send_claimed(follow_up, now):
                sent += 1
    return sent


def _claim(spa, follow_up_id, now):
    """Lock one due follow-up; None if another sender holds it or it is no longer scheduled."""
    return (
        PatientFollowUp.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("spa")
        .filter(spa=spa, pk=follow_up_id, state=PatientFollowUp.State.SCHEDULED, due_at__lte=now)
        .first()
    )


def _send_claimed(follow_up, now):
    """Under the claim: consent read again (a revocation may have committed since), then the email or the stop."""
    referral = Referral.objects.get(spa=follow_up.spa, pk=follow_up.referral_id)
    if contact_refusal(referral):
        _end(
            follow_up,
            state=PatientFollowUp.State.STOPPED,
            reason=PatientFollowUp.Reason.NO_CONSENT,
            actor_label="system",
        )
        return False
    spa = follow_up.spa
    route = follow_up_route(referral)
    if route.channel == PatientFollowUp.Channel.TEXT:
        follow_up.text_message = text_enqueue(
            spa=spa, to=route.to, from_number=route.from_number, body=follow_up_text_body(follow_up)
        )
    else:
        email_enqueue(
            spa=spa,
            to=route.to,
            template_name=TEMPLATE,
            context={
                "spa": spa,
                "feedback_url": _link(follow_up, FEEDBACK),
                "stop_url": _link(follow_up, STOP),
                "spa_contact": " · ".join(
                    filter(None, [spa.referral_phone or spa.phone, spa.referral_email or spa.email])
                ),
                "link_days": LINK_MAX_AGE.days,
            },
        )
    follow_up.state = PatientFollowUp.State.SENT
    follow_up.sent_at = now
    follow_up.channel = route.channel
    follow_up.save(update_fields=["state", "sent_at", "channel", "text_message"])
    audit_record(
        spa=spa, action="follow_up.sent", actor_label="system", obj=follow_up, detail={"channel": route.channel}
    )
    return True


def follow_up_text_body(follow_up):
    """The thank-you as one text: the spa's name, thanks and the two links, nothing about the patient or the visit."""
    body = render_to_string(
        TEXT_TEMPLATE,
        {"spa": follow_up.spa, "feedback_url": _link(follow_up, FEEDBACK), "stop_url": _link(follow_up, STOP)},
    )
    return " ".join(body.split())


def _link(follow_up, purpose):
    name = "public:follow_up_feedback" if purpose == FEEDBACK else "public:follow_up_stop"
    return settings.SITE_URL + reverse(name, args=[make_link_token(follow_up, purpose)])


# --- the patient's answers ------------------------------------------------------------------------------------


def testimonial_wording(spa):
    """The exact sentence the patient ticks, with the spa's name."""
    return str(TESTIMONIAL_WORDING).format(spa=spa.name)


@transaction.atomic
def satisfaction_submit(*, follow_up, score, comment="", share_testimonial=False):
    """Save the patient's one answer (and, only if they ticked it, the testimonial permission) and count it in the
    practice's rating figures (ratings.py).

    Refused (ValidationError, nothing saved) when already answered or when the patient stopped the follow-up.
    """
    follow_up = PatientFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.state != PatientFollowUp.State.SENT:
        raise ValidationError(_("This follow-up is closed; nothing was saved."))
    if SatisfactionResponse.objects.filter(spa=follow_up.spa, follow_up=follow_up).exists():
        raise ValidationError(_("You already answered. Thank you!"))
    if share_testimonial and not (comment or "").strip():
        raise ValidationError({"comment": _("Write the comment you allow us to share, or untick the box.")})
    now = timezone.now()
    response = SatisfactionResponse(
        spa=follow_up.spa,
        follow_up=follow_up,
        practice_id=follow_up.practice_id,
        score=score,
        comment=(comment or "").strip(),
        submitted_at=now,
    )
    response.full_clean()
    response.save()
    ratings.answer_added(response)  # the practice's rating figures, in this transaction
    audit_record(
        spa=follow_up.spa,
        action="satisfaction.submitted",
        actor_label="patient",
        obj=follow_up,
        detail={"score": score},
    )
    if share_testimonial:
        TestimonialPermission.objects.create(
            spa=follow_up.spa,
            follow_up=follow_up,
            practice_id=follow_up.practice_id,
            wording=testimonial_wording(follow_up.spa),
            granted_at=now,
        )
        audit_record(spa=follow_up.spa, action="testimonial.granted", actor_label="patient", obj=follow_up)
    return response


def _testimonial_withdraw(follow_up):
    updated = TestimonialPermission.objects.filter(spa=follow_up.spa, follow_up=follow_up, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit_record(spa=follow_up.spa, action="testimonial.revoked", actor_label="patient", obj=follow_up)
    return bool(updated)


@transaction.atomic
def testimonial_withdraw(*, follow_up):
    """The patient takes back their permission to share the testimonial. Withdrawing twice changes nothing."""
    follow_up = PatientFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    return _testimonial_withdraw(follow_up)


def follow_up_scrub(*, referral, now):
    """On erasure or the retention purge (referrals.patient_rights): a scheduled follow-up stops, the patient's
    comment is blanked (the score stays for the practice's rating) and a testimonial permission ends."""
    PatientFollowUp.objects.filter(spa=referral.spa, referral=referral, state=PatientFollowUp.State.SCHEDULED).update(
        state=PatientFollowUp.State.STOPPED, reason=PatientFollowUp.Reason.NO_CONSENT, ended_at=now
    )
    # The thank-you text carried the patient's number and their two links: a waiting one never leaves, and the row
    # keeps its status and error but neither the number nor the text.
    text_ids = PatientFollowUp.objects.filter(
        spa=referral.spa, referral=referral, text_message__isnull=False
    ).values_list("text_message_id", flat=True)
    for text_id in text_ids:
        text_cancel(
            spa=referral.spa, text_id=text_id, reason="Cancelled before sending: the patient's data was erased."
        )
    OutgoingText.objects.filter(spa=referral.spa, pk__in=list(text_ids)).update(to="", body="")
    SatisfactionResponse.objects.filter(spa=referral.spa, follow_up__referral=referral).update(comment="")
    TestimonialPermission.objects.filter(spa=referral.spa, follow_up__referral=referral, revoked_at=None).update(
        revoked_at=now
    )
