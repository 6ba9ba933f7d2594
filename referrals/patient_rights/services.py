"""Patient rights over their health information: find everything the spa holds about one patient, export
it (JSON and a readable PDF), erase it on request, and the retention purge of closed referrals.

Erasing keeps the shape of the history — the referral row with its practice, channel, status and dates,
the timeline's status changes, the audit events — so the spa's figures stay right, but scrubs every field
that says who the patient is or anything about their health: names, contact details, date of birth,
reasons, notes, precautions, attachments and signed forms, the signed authorization text, outcome report
text and measures, what deliveries shared, PDFs made from them and emails addressed to the patient.
Audit events never hold such content (they name objects by id), so they are kept as they are.
"""

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.audit import audit_record
from infra.file_deletion import delete_after_commit
from infra.models import AuditEvent, GeneratedDocument, OutgoingEmail

from ..followup.services import follow_up_scrub
from ..inbound.services import inbound_draft_content_erase
from ..models import (
    CLOSED_STATUSES,
    Authorization,
    OutcomeDelivery,
    OutcomeReport,
    Referral,
    ReferralEvent,
    referral_settings_for,
)
from ..outcomes.selectors import report_content

PURGE_BATCH = 500
ERASED_EMAIL_NOTE = "Recipient erased at the patient's request."


class ErasureRequestChannel:
    CHOICES = [
        ("in_writing", gettext_lazy("In writing (letter or form)")),
        ("email", gettext_lazy("By email")),
        ("phone", gettext_lazy("By phone")),
        ("in_person", gettext_lazy("In person")),
    ]


# --- export ----------------------------------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value else None


def _authorization_export(authorization):
    return {
        "id": str(authorization.public_id),
        "allows_contact": authorization.allows_contact,
        "allows_outcome_sharing": authorization.allows_outcome_sharing,
        "information_disclosed": authorization.information_disclosed,
        "discloser": authorization.discloser,
        "recipient": authorization.recipient_label,
        "purpose": authorization.purpose,
        "expires_at": _iso(authorization.expires_at),
        "signature_method": authorization.get_signature_method_display(),
        "signer_name": authorization.signer_name,
        "signed_at": _iso(authorization.signed_at),
        "ip_address": authorization.ip_address,
        "user_agent": authorization.user_agent,
        "signed_form_on_file": bool(authorization.signed_form),
        "consent_wording_version": authorization.template.version,
        "text_signed": authorization.text_signed,
        "revoked_at": _iso(authorization.revoked_at),
        "revocation_channel": authorization.revocation_channel,
    }


def _report_export(report):
    deliveries = [
        {
            "version": delivery.report_version,
            "status": delivery.get_status_display(),
            "requested_at": _iso(delivery.created_at),
            "delivered_at": _iso(delivery.delivered_at),
            "reason": delivery.reason,
            "recipient": delivery.authorization.recipient_label if delivery.authorization else "",
            "content": delivery.content,
        }
        for delivery in report.deliveries.select_related("authorization").order_by("created_at", "id")
    ]
    return {
        "id": str(report.public_id),
        "status": report.get_status_display(),
        "current": report_content(report),
        "deliveries": deliveries,
    }


def _referral_export(referral, access_log):
    report = OutcomeReport.objects.filter(spa=referral.spa, referral=referral).first()
    return {
        "id": str(referral.public_id),
        "received_at": _iso(referral.received_at),
        "channel": referral.get_channel_display(),
        "referring_practice": referral.practice.name,
        "referring_clinician": referral.clinician.display_name if referral.clinician else "",
        "patient": {
            "first_name": referral.patient_first_name,
            "last_name": referral.patient_last_name,
            "phone": referral.patient_phone,
            "email": referral.patient_email,
            "date_of_birth": _iso(referral.patient_date_of_birth),
            "preferred_contact_method": referral.get_preferred_contact_method_display(),
            "preferred_contact_time": referral.preferred_contact_time,
        },
        "reason": str(referral.reason_label()),
        "details": referral.reason_text,
        "precautions": referral.precautions,
        "urgency": referral.get_urgency_display(),
        "recommended_services": [row.service.name for row in referral.recommended.select_related("service")],
        "attachment_on_file": referral.attachment_name if referral.attachment else "",
        "consent_to_contact": {
            "given": referral.consent_to_contact,
            "method": referral.get_consent_method_display(),
            "recorded_by": referral.consent_captured_by,
            "recorded_at": _iso(referral.consent_captured_at),
        },
        "status": referral.get_status_display(),
        "scheduled_for": _iso(referral.scheduled_for),
        "scheduled_service": referral.scheduled_service.name if referral.scheduled_service else "",
        "closed_at": _iso(referral.closed_at),
        "decline_reason": referral.decline_reason,
        "internal_notes": referral.internal_notes,
        "timeline": [
            {
                "at": _iso(event.created_at),
                "kind": event.get_kind_display(),
                "from": event.get_from_status_display() if event.from_status else "",
                "to": event.get_to_status_display() if event.to_status else "",
                "outcome": event.get_outcome_display() if event.outcome else "",
                "note": event.note,
                "by": event.who,
            }
            for event in referral.events.select_related("actor")
        ],
        "authorizations": [
            _authorization_export(authorization)
            for authorization in referral.authorizations.select_related("template").order_by("signed_at", "id")
        ],
        "outcome_report": _report_export(report) if report else None,
        "access_log": access_log,
    }


def _access_logs(spa, referrals):
    """Who read or changed each referral, its authorizations and its report: {referral pk: [entries]}."""
    owner_of = {}
    for referral in referrals:
        owner_of[str(referral.public_id)] = referral.pk
        for authorization in referral.authorizations.all():
            owner_of[str(authorization.public_id)] = referral.pk
        report = OutcomeReport.objects.filter(spa=spa, referral=referral).first()
        if report:
            owner_of[str(report.public_id)] = referral.pk
    logs = {referral.pk: [] for referral in referrals}
    events = (
        AuditEvent.objects.filter(spa=spa, object_id__in=list(owner_of))
        .select_related("actor")
        .order_by("created_at", "id")
    )
    for event in events:
        logs[owner_of[event.object_id]].append(
            {
                "at": _iso(event.created_at),
                "action": event.action,
                "by": (event.actor.display_name if event.actor else event.actor_label) or "",
                "detail": event.detail,
            }
        )
    return logs


def patient_export(*, spa, referrals, actor, export_format="json"):
    """Everything the spa holds about one patient's referrals, as plain data; one audit event per referral."""
    referrals = list(referrals)
    logs = _access_logs(spa, referrals)
    data = {
        "exported_at": timezone.now().isoformat(),
        "spa": {"name": spa.name, "email": spa.referral_email or spa.email, "phone": spa.referral_phone or spa.phone},
        "referrals": [_referral_export(referral, logs[referral.pk]) for referral in referrals],
    }
    for referral in referrals:
        audit_record(
            spa=spa,
            action="referral.exported",
            actor=actor,
            obj=referral,
            detail={"as": export_format},
        )
    return data


# --- erasure ---------------------------------------------------------------------------------------

REFERRAL_SCRUB = {
    "patient_first_name": "",
    "patient_last_name": "",
    "patient_phone": "",
    "patient_email": "",
    "preferred_contact_time": "",
    "patient_date_of_birth": None,
    "reason_category": "other",
    "reason_text": "",
    "precautions": "",
    "decline_reason": "",
    "internal_notes": "",
    "attachment": "",
    "attachment_name": "",
}


def _scrub_referral(referral, *, now, files, cancel_pending_emails):
    """Blank one referral's health fields and everything hanging off it. Files are collected for deletion.

    ``cancel_pending_emails``: on an erasure request, emails still waiting for the patient are not sent;
    the retention purge leaves waiting ones alone (they belong to a newer referral of the same person).
    """
    spa = referral.spa
    if referral.attachment:
        files.append((referral.attachment.storage, referral.attachment.name))
    patient_email = referral.patient_email.strip()
    Referral.objects.filter(pk=referral.pk).update(
        **REFERRAL_SCRUB, health_fields_purged_at=now, version=referral.version + 1, updated_at=now
    )
    ReferralEvent.objects.filter(spa=spa, referral=referral).exclude(note="").update(note="")
    # The email or text the referral was confirmed from holds the same details (referrals.inbound).
    files.extend(inbound_draft_content_erase(referral=referral, now=now))

    for authorization in Authorization.objects.filter(spa=spa, referral=referral):
        if authorization.signed_form:
            files.append((authorization.signed_form.storage, authorization.signed_form.name))
    # Nothing more may be shared for a patient who asked to be forgotten: open authorizations are revoked.
    Authorization.objects.filter(spa=spa, referral=referral, revoked_at=None).update(
        revoked_at=now, revocation_channel="erasure"
    )
    Authorization.objects.filter(spa=spa, referral=referral).update(
        signer_name="",
        text_signed="",
        ip_address=None,
        user_agent="",
        signed_form="",
        revocation_token_hash="",
        revocation_token_expires_at=None,
    )

    report = OutcomeReport.objects.filter(spa=spa, referral=referral).first()
    if report is not None:
        OutcomeReport.objects.filter(pk=report.pk).update(
            services=[], observations="", recommendations="", measures={}, updated_at=now
        )
        OutcomeDelivery.objects.filter(spa=spa, report=report).update(content={})
        documents = GeneratedDocument.objects.filter(
            spa=spa, source_type__iexact="referrals.OutcomeReport", source_id=str(report.public_id)
        )
        for document in documents:
            for stored in (document.file, document.thumbnail):
                if stored:
                    files.append((stored.storage, stored.name))
        documents.delete()

    follow_up_scrub(referral=referral, now=now)

    if patient_email:
        # The confirmation email carried the revocation link, the thank-you its two links: both are the patient's.
        emails = OutgoingEmail.objects.filter(spa=spa, to__iexact=patient_email)
        waiting = [OutgoingEmail.Status.PENDING, OutgoingEmail.Status.SENDING]
        if cancel_pending_emails:
            emails.filter(status__in=waiting).update(status=OutgoingEmail.Status.FAILED, last_error=ERASED_EMAIL_NOTE)
        emails.exclude(status__in=waiting).update(to="", subject="", body_text="", body_html="", context={})


@transaction.atomic
def patient_erase(*, spa, referrals, actor, request_channel):
    """Erase the health fields of these referrals (one patient's, at their request). Returns how many.

    Irreversible. Each referral gets one "referral.erased" audit event naming how the patient asked.
    """
    if request_channel not in dict(ErasureRequestChannel.CHOICES):
        raise ValidationError({"request_channel": _("Say how the patient asked.")})
    ids = [referral.pk for referral in referrals]
    locked = list(
        Referral.objects.select_for_update()
        .filter(spa=spa, pk__in=ids, health_fields_purged_at=None)
        .select_related("spa")
        .order_by("pk")
    )
    now = timezone.now()
    files = []
    for referral in locked:
        _scrub_referral(referral, now=now, files=files, cancel_pending_emails=True)
        audit_record(
            spa=spa,
            action="referral.erased",
            actor=actor,
            obj=referral,
            detail={"requested": request_channel},
        )
    delete_after_commit(files)
    return len(locked)


def closed_referrals_purge(*, spa, now=None):
    """The retention purge: erase health fields of referrals closed longer ago than the spa's setting.

    Off (returns 0) unless the spa set a retention period. Safe to run twice: purged rows are skipped.
    """
    months = referral_settings_for(spa).health_retention_months
    if not months:
        return 0
    now = now or timezone.now()
    cutoff = now - relativedelta(months=months)
    purged = 0
    while True:
        with transaction.atomic():
            batch = list(
                Referral.objects.select_for_update(skip_locked=True)
                .filter(spa=spa, status__in=CLOSED_STATUSES, closed_at__lt=cutoff, health_fields_purged_at=None)
                .select_related("spa")
                .order_by("pk")[:PURGE_BATCH]
            )
            if not batch:
                return purged
            files = []
            for referral in batch:
                _scrub_referral(referral, now=now, files=files, cancel_pending_emails=False)
                audit_record(
                    spa=spa,
                    action="referral.purged",
                    actor_label="retention",
                    obj=referral,
                    detail={"months": months},
                )
            delete_after_commit(files)
        purged += len(batch)
