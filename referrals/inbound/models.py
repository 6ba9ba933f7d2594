"""Drafts of referrals that arrived by email or text, their attachments, and the webhook signatures already used.

Imported by ``referrals.models`` (so Django finds them); they name the referral by its label, since that module
is still loading when this one is read.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.tenant_models import CreatedAt, PublicId, TenantModel
from partners.models import Clinician, OfficeContact, Practice

# What the draft keeps of a message's text, and how many attachments it takes: a referral is a few lines and a
# form or two; a longer message is cut (and says so), further attachments are listed as not kept.
BODY_MAX_CHARS = 10_000
SUBJECT_MAX_CHARS = 200
ATTACHMENTS_PER_DRAFT = 10


class InboundChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


def draft_attachment_upload_to(attachment, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"private/inbound/{attachment.spa.public_id}/{secrets.token_hex(16)}.{extension}"


class InboundReferralDraft(TenantModel, PublicId, CreatedAt):
    """A message to the spa's referral address or text number, waiting for a person to confirm or discard it.

    ``provider_message_id`` (the email's Message-ID, the text's MessageSid) is unique per spa and channel: a
    provider's retry or a replayed delivery finds this row and creates nothing. The sender is matched to a
    practice (and a clinician or office contact) of this spa by address or number; ``needs_review`` says the
    match is missing or ambiguous. Discarding empties the content (subject, text, attachments) and keeps the row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("To confirm")
        CONFIRMED = "confirmed", _("Confirmed")
        DISCARDED = "discarded", _("Discarded")

    channel = models.CharField(max_length=8, choices=InboundChannel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    provider_message_id = models.CharField(max_length=255)
    sender = models.CharField(_("from"), max_length=255)
    sender_name = models.CharField(max_length=160, blank=True)
    practice = models.ForeignKey(Practice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    clinician = models.ForeignKey(Clinician, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(OfficeContact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    needs_review = models.BooleanField(default=False)
    # Health information: emptied when the draft is discarded, or when its referral is erased or purged.
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS, blank=True)
    body = models.TextField(blank=True)
    # Attachments the message carried that were not kept: [{"name": …, "reason": …}].
    attachments_refused = models.JSONField(default=list, blank=True)
    referral = models.OneToOneField(
        "referrals.Referral", on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_draft"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    content_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spa", "channel", "provider_message_id"], name="inbound_draft_once_per_message"
            )
        ]
        indexes = [models.Index(fields=["spa", "status", "created_at"], name="inbound_draft_list_idx")]

    def __str__(self):
        return f"Inbound draft {str(self.public_id)[:8]}"

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING


class InboundDraftAttachment(TenantModel, PublicId, CreatedAt):
    """A PDF or image a message carried, checked like a manual entry's attachment and stored privately."""

    draft = models.ForeignKey(InboundReferralDraft, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=draft_attachment_upload_to)
    name = models.CharField(max_length=120)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.name


class InboundSignature(models.Model):
    """A webhook signature that was accepted once: the same signed request again is a replay.

    Not a tenant row: it is checked before the message says which spa it is for. Written in the transaction that
    creates the drafts, so a request that failed leaves its signature usable for the provider's retry. Rows older
    than the signature's time window are useless (an old timestamp is refused anyway) and are deleted as new
    ones arrive.
    """

    digest = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.digest[:12]
