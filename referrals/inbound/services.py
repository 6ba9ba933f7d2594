"""Writes for referrals by email and text: a draft per message, confirming it into a referral, discarding it.

All or nothing: a message's drafts, their attachment rows and the webhook signature's claim share one transaction,
and files written to storage by a transaction that fails are deleted before the error goes on. A draft is no
referral: nobody is emailed, no figure moves, and the patient hears nothing until a person confirms it — then
``referral_create`` runs exactly as for manual entry (its "new referral" email to staff included), with the
consent recorded as the referring office's attestation, to be confirmed with the patient.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from infra.audit import audit_record
from infra.file_deletion import delete_after_commit
from infra.phones import normalize_phone, without_extension

from ..attachments import attachment_check
from ..models import Channel, ConsentMethod, ReferralEvent, ReferralSettings, referral_settings_for
from ..services import referral_create, referral_event_record
from . import selectors
from .mime import clean_text
from .models import (
    ATTACHMENTS_PER_DRAFT,
    InboundChannel,
    InboundDraftAttachment,
    InboundReferralDraft,
    InboundSignature,
)
from .signatures import TOLERANCE_SECONDS

logger = logging.getLogger(__name__)

EMAIL_LABEL = "Inbound email"
SMS_LABEL = "Inbound text message"
MATCH_FIELDS = ["spa", "practice", "clinician", "contact", "referral", "decided_by"]
REFERRAL_CHANNELS = {InboundChannel.EMAIL: Channel.EMAIL, InboundChannel.SMS: Channel.TEXT}


class ReplayedSignature(Exception):
    """This exact signed request was accepted before."""


class DraftDecided(Exception):
    """The draft was confirmed or discarded already (by someone else, or by a double submit)."""

    def __init__(self, draft):
        super().__init__(draft.status)
        self.draft = draft


@contextmanager
def _files_removed_on_failure():
    """Yield a list for (storage, name) of files written; if the block fails, delete them and re-raise."""
    written = []
    try:
        yield written
    except BaseException:
        for storage, name in written:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - whatever the storage raises, the original error is the one to see
                logger.error("Could not delete the unused file %s.", name, exc_info=True)
        raise


def _signature_claim(digest):
    """Record a webhook signature as used; ReplayedSignature when it was used before (also by a request running
    at this moment: its insert waits on the unique index and fails once the first commits)."""
    InboundSignature.objects.filter(seen_at__lt=timezone.now() - timedelta(seconds=2 * TOLERANCE_SECONDS)).delete()
    try:
        with transaction.atomic():
            InboundSignature.objects.create(digest=digest)
    except IntegrityError:
        raise ReplayedSignature() from None


# --- a draft per message -------------------------------------------------------------------------------------


def _checked_attachments(attachments):
    """([(name, ContentFile)] to keep, [{"name", "reason"}] not kept): the manual-entry checks, and a cap."""
    kept, refused = [], []
    for name, data in attachments:
        if len(kept) >= ATTACHMENTS_PER_DRAFT:
            reason = _("More attachments than a draft keeps (%(count)d).") % {"count": ATTACHMENTS_PER_DRAFT}
            refused.append({"name": name, "reason": reason})
            continue
        upload = ContentFile(data, name=name)
        try:
            attachment_check(upload)
        except ValidationError as error:
            refused.append({"name": name, "reason": " ".join(error.messages)})
        else:
            kept.append((name, upload))
    return kept, refused


def _existing(spa, channel, provider_message_id):
    return InboundReferralDraft.objects.filter(
        spa=spa, channel=channel, provider_message_id=provider_message_id
    ).first()


def _draft_create(*, spa, channel, provider_message_id, sender, match, content, attachments, written, actor_label):
    """One draft (or the one this message made before: created False), its attachments and its audit event."""
    existing = _existing(spa, channel, provider_message_id)
    if existing is not None:
        return existing, False
    kept, refused = _checked_attachments(attachments)
    draft = InboundReferralDraft(
        spa=spa,
        channel=channel,
        provider_message_id=provider_message_id,
        sender=sender[:255],
        practice=match.practice,
        clinician=match.clinician,
        contact=match.contact,
        needs_review=match.needs_review,
        attachments_refused=[*content.pop("attachments_refused", []), *refused],
        **content,
    )
    # The matches were read in this spa a moment ago and the message id is checked by its unique index below.
    draft.full_clean(exclude=MATCH_FIELDS, validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            draft.save()
    except IntegrityError:  # the same message, saved by a request that ran at the same time?
        existing = _existing(spa, channel, provider_message_id)
        if existing is None:
            raise
        return existing, False
    for name, upload in kept:
        attachment = InboundDraftAttachment(spa=spa, draft=draft, name=name, size=upload.size)
        attachment.file.save(name, upload, save=False)
        written.append((attachment.file.storage, attachment.file.name))
        attachment.save()
    audit_record(
        spa=spa,
        action="inbound_draft.received",
        actor_label=actor_label,
        obj=draft,
        detail={"channel": channel, "matched": not match.needs_review, "attachments": len(kept)},
    )
    selectors.drafts_changed(spa.pk)
    return draft, True


def inbound_email_accept(*, message, spas, signature_digest=None, actor_label=EMAIL_LABEL):
    """Make a draft of an email (``mime.InboundEmail``) in each of ``spas``; [(spa, draft, created)].

    With ``signature_digest`` the webhook's signature is claimed in the same transaction: ReplayedSignature when
    it was used before, and nothing is written."""
    results = []
    with _files_removed_on_failure() as written, transaction.atomic():
        if signature_digest:
            _signature_claim(signature_digest)
        for spa in spas:
            with scope(spa=spa):
                content = {"sender_name": message.sender_name, "subject": message.subject, "body": message.body}
                draft, created = _draft_create(
                    spa=spa,
                    channel=InboundChannel.EMAIL,
                    provider_message_id=message.message_id,
                    sender=message.sender,
                    match=selectors.sender_match_by_email(spa=spa, address=message.sender),
                    content=content,
                    attachments=message.attachments,
                    written=written,
                    actor_label=actor_label,
                )
            results.append((spa, draft, created))
    return results


def sms_sender(number, spa):
    """A text's sender as stored: E.164 when it is a phone number, else as sent (a short code, a name)."""
    try:
        return normalize_phone(number, spa.country) or number
    except ValidationError:
        return " ".join((number or "").split())[:40]


@transaction.atomic
def inbound_sms_accept(*, spa, sender, body, message_sid, media_count=0):
    """A draft of a text to the spa's number (or the one this MessageSid made before); (draft, created)."""
    sender = sms_sender(sender, spa)
    refused = []
    if media_count:
        # Fetching the pictures means calling the provider with the account's credentials, from a request the
        # provider waits on; the draft says they exist and staff ask for them by email instead.
        refused.append(
            {
                "name": _("%(count)d picture(s) sent with the text") % {"count": media_count},
                "reason": _("Pictures sent by text are not fetched. Ask the practice to email them."),
            }
        )
    return _draft_create(
        spa=spa,
        channel=InboundChannel.SMS,
        provider_message_id=message_sid[:255],
        sender=sender,
        match=selectors.sender_match_by_phone(spa=spa, number=sender),
        content={"body": clean_text(body or ""), "attachments_refused": refused},
        attachments=[],  # (a text carries no files: nothing is written to storage)
        written=[],
        actor_label=SMS_LABEL,
    )


# --- confirming and discarding ---------------------------------------------------------------------------------


def _locked_pending(draft):
    locked = InboundReferralDraft.objects.select_for_update().select_related("spa").get(pk=draft.pk)
    if locked.status != InboundReferralDraft.Status.PENDING:
        raise DraftDecided(locked)
    return locked


def _channel_in_a_sentence(draft):
    """The draft's channel as it reads mid-sentence: "email", "text message"."""
    return draft.get_channel_display().lower()


def _consent_label(draft, actor):
    channel = _channel_in_a_sentence(draft)
    return _(
        "Referring office attests by %(channel)s from %(sender)s, to be confirmed with the patient; "
        "entered by %(name)s <%(email)s>"
    ) % {"channel": channel, "sender": draft.sender, "name": actor.display_name, "email": actor.email}


@transaction.atomic
def inbound_draft_confirm(
    *, draft, actor, practice, patient, details, clinician=None, services=(), attachment=None, consent_to_contact
):
    """Make the referral a person completed from ``draft``: ``referral_create`` as for manual entry (the staff
    email goes out now, and only now), consent as the referring office's attestation to be confirmed with the
    patient, ``attachment`` (one of the draft's) copied onto it. DraftDecided if the draft is no longer pending."""
    locked = _locked_pending(draft)
    if attachment is not None and attachment.draft_id != locked.pk:
        raise ValidationError({"attachment": _("Choose one of this message's attachments.")})
    copy = None
    if attachment is not None:
        try:
            with attachment.file.open("rb") as handle:
                copy = ContentFile(handle.read(), name=attachment.name)
        except OSError:  # the file went missing from storage (a restore without media, say)
            raise ValidationError(
                {"attachment": _("This attachment's file is missing. Choose another one, or none.")}
            ) from None
    referral = referral_create(
        spa=locked.spa,
        practice=practice,
        clinician=clinician,
        channel=REFERRAL_CHANNELS[locked.channel],
        patient=patient,
        details=details,
        services=services,
        attachment=copy,
        consent_to_contact=consent_to_contact,
        consent_method=ConsentMethod.CLINIC_ATTESTATION,
        consent_captured_by=_consent_label(locked, actor),
        created_by=actor,
        created_by_label=actor.display_name,
    )
    referral_event_record(
        referral,
        actor,
        kind=ReferralEvent.Kind.NOTE,
        note=_(
            "Arrived by %(channel)s from %(sender)s. The referring office's word that the patient agreed to be "
            "contacted is to be confirmed with the patient at first contact."
        )
        % {"channel": _channel_in_a_sentence(locked), "sender": locked.sender},
    )
    locked.status = InboundReferralDraft.Status.CONFIRMED
    locked.referral = referral
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["status", "referral", "decided_by", "decided_at"])
    audit_record(
        spa=locked.spa,
        action="inbound_draft.confirmed",
        actor=actor,
        obj=locked,
        detail={"referral": str(referral.public_id)},
    )
    selectors.drafts_changed(locked.spa_id)
    return referral


def _content_erased(draft, now):
    """Empty a draft of its content (text, attachments); returns the files to delete once the change commits."""
    attachments = list(InboundDraftAttachment.objects.filter(spa=draft.spa_id, draft=draft))
    files = [(row.file.storage, row.file.name) for row in attachments if row.file]
    InboundDraftAttachment.objects.filter(pk__in=[row.pk for row in attachments]).delete()
    draft.sender_name, draft.subject, draft.body, draft.attachments_refused = "", "", "", []
    draft.content_erased_at = now
    return files


@transaction.atomic
def inbound_draft_discard(*, draft, actor):
    """Discard a draft: its content and attachments go (the files once this commits), a row without content stays
    so the same message is not taken again. DraftDecided if it is no longer pending."""
    locked = _locked_pending(draft)
    now = timezone.now()
    files = _content_erased(locked, now)
    locked.status = InboundReferralDraft.Status.DISCARDED
    locked.decided_by, locked.decided_at = actor, now
    locked.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "sender_name",
            "subject",
            "body",
            "attachments_refused",
            "content_erased_at",
        ]
    )
    audit_record(spa=locked.spa, action="inbound_draft.discarded", actor=actor, obj=locked)
    selectors.drafts_changed(locked.spa_id)
    delete_after_commit(files)
    return locked


def inbound_draft_content_erase(*, referral, now):
    """The message a referral was confirmed from goes with the referral's health fields (erasure, retention purge);
    returns the files to delete after commit. For ``referrals.patient_rights``, inside its transaction."""
    draft = InboundReferralDraft.objects.filter(spa=referral.spa_id, referral=referral, content_erased_at=None).first()
    if draft is None:
        return []
    files = _content_erased(draft, now)
    draft.save(update_fields=["sender_name", "subject", "body", "attachments_refused", "content_erased_at"])
    return files


def inbound_draft_record_view(*, draft, actor):
    """One audit event per read of a draft's content (it may hold a patient's details)."""
    return audit_record(spa=draft.spa, action="inbound_draft.viewed", actor=actor, obj=draft)


def inbound_draft_record_attachment_download(*, attachment, actor):
    return audit_record(
        spa=attachment.spa,
        action="inbound_draft.attachment_downloaded",
        actor=actor,
        obj=attachment.draft,
        detail={"attachment": str(attachment.public_id)},
    )


# --- the spa's text number (the operator's) ----------------------------------------------------------------------


@transaction.atomic
def inbound_sms_number_assign(*, spa, number, actor_label="operator"):
    """Give the spa its referral text number at the provider (typed in any form; "" takes it away). Refused when
    the number is not a real one or is another spa's."""
    stored = without_extension(normalize_phone(number, spa.country)) if number else ""
    with scopes_disabled():
        taken = (
            ReferralSettings.objects.filter(inbound_sms_number=stored).exclude(spa=spa).exists() if stored else False
        )
    if taken:
        raise ValidationError({"number": _("This number is another spa's referral text number.")})
    with scope(spa=spa):
        row = referral_settings_for(spa)
        previous = row.inbound_sms_number
        row.inbound_sms_number = stored
        try:
            with transaction.atomic():
                row.save(update_fields=["inbound_sms_number"])
        except IntegrityError:  # another spa took it at this very moment
            raise ValidationError({"number": _("This number is another spa's referral text number.")}) from None
        audit_record(
            spa=spa,
            action="referral_settings.sms_number_assigned",
            actor_label=actor_label,
            obj=row,
            object_id=str(spa.public_id),
            detail={"number": stored, "previous": previous},
        )
    return stored
