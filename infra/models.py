"""The platform's rows, written by every app: audit events, the email and text outboxes and generated documents.

They belong to a spa (row-level security and django-scopes treat them like any tenant row) but to no feature:
the spa is named by its app label, "spas.Spa", so this bottom floor imports no feature app. The tables keep
the names they had when these models lived in spas (``db_table``): moving them changed no table.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from .tenant_models import CreatedAt, PublicId, TenantModel


class AppendOnlyQuerySet(models.QuerySet):
    """Audit rows are written once: bulk updates and deletes are refused too."""

    def update(self, **kwargs):
        raise ValidationError("Audit events are append-only.")

    def delete(self):
        raise ValidationError("Audit events are append-only.")


class AuditEvent(TenantModel):
    """Append-only record of who did what to which object, when and from where."""

    spa = models.ForeignKey("spas.Spa", on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(
        max_length=255, blank=True, help_text="Who acted when it was not a user (API key, patient, system)."
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ScopedManager(_manager_class=models.Manager.from_queryset(AppendOnlyQuerySet), spa="spa")

    class Meta:
        db_table = "spas_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["spa", "object_type", "object_id"], name="audit_object_idx")]

    def __str__(self):
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events are append-only.")


class OutgoingEmail(TenantModel, CreatedAt):
    """One email in the outbox, written in the same transaction as the change that causes it.

    ``spa`` is empty only for account emails (sign-up verification, password
    reset, login codes) that belong to no tenant.

    An email from a template holds the template's name and its context (``infra.email_context``) until the
    worker renders it in ``language`` and ``time_zone``; the rendered subject and bodies then stay on the
    row for the record (``rendered_at``). Account emails arrive rendered.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    spa = models.ForeignKey("spas.Spa", on_delete=models.CASCADE, null=True, blank=True, related_name="outgoing_emails")
    to = models.EmailField()
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    template = models.CharField(max_length=100, blank=True)
    context = models.JSONField(default=dict, blank=True)
    # What the enqueuing request had active: the worker renders in the same language and on the same clock.
    language = models.CharField(max_length=15, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)  # not "timezone": that would hide django's below
    rendered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "spas_outgoingemail"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self):
        return f"{self.subject or self.template} → {self.to} ({self.status})"


class OutgoingText(TenantModel, PublicId, CreatedAt):
    """One text message in the outbox (infra.sms_outbox), written in the same transaction as the change that
    causes it and sent through Twilio by a worker after that transaction commits.

    ``body`` is rendered when the row is written (a text has no template left to render) and never copied into
    ``last_error``, which holds only the provider's status and error code. ``from_number`` is the spa's number at
    the provider, copied here so this floor needs no feature app to know it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled before it was sent")

    # E.164: "+" and at most 15 digits.
    to = models.CharField(max_length=16, blank=True)
    from_number = models.CharField(max_length=16)
    body = models.TextField(max_length=1600, blank=True)  # Twilio's limit for one message
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Twilio's Message SID ("SM…"), for looking the message up in the provider's console.
    provider_message_id = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="text_outbox_due_idx")]

    def __str__(self):
        return f"Text {str(self.public_id)[:8]} ({self.status})"


def document_upload_to(document, filename):
    return f"private/documents/{document.spa.public_id}/{document.public_id}.pdf"


def thumbnail_upload_to(document, filename):
    return f"private/documents/{document.spa.public_id}/{document.public_id}.png"


class GeneratedDocument(TenantModel, PublicId):
    """A PDF the product rendered for a spa (referral pad, leave-behind, letter, batch…).

    ``source_type``/``source_id`` name what it was made from without a foreign key, so any app can
    register document kinds (infra.documents) without this bottom floor importing it. ``source_version``
    changes when the source is edited: an older document is then stale, and asking again renders anew.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    spa = models.ForeignKey("spas.Spa", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    source_type = models.CharField(max_length=60)
    source_id = models.CharField(max_length=64)
    source_version = models.CharField(max_length=64)
    options = models.JSONField(default=dict, blank=True)
    options_key = models.CharField(max_length=64)
    # What the document is about (a practice), as its kind tells (infra.documents.DocumentKind.subject): the
    # documents page filters by it. Blank for documents about no one practice (a specialty's leave-behind).
    subject_id = models.CharField(max_length=64, blank=True)
    subject_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    failure_reason = models.TextField(blank=True)
    file = models.FileField(upload_to=document_upload_to, blank=True)
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    batch = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="parts")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "spas_generateddocument"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spa", "kind", "source_type", "source_id", "source_version", "options_key"],
                condition=models.Q(batch__isnull=True),
                name="document_unique_per_source_version",
            )
        ]
        indexes = [
            models.Index(fields=["spa", "source_type", "source_id"], name="document_source_idx"),
            models.Index(fields=["spa", "subject_id"], name="document_subject_idx"),
        ]

    def __str__(self):
        return self.title
