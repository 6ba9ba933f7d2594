"""The webhook rows: where a spa's events go (endpoints), the outbox of deliveries, and the log of attempts."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from partners.models import Practice


class EventType(models.TextChoices):
    REFERRAL_RECEIVED = "referral.received", _("A referral arrived")
    REFERRAL_ACCEPTED = "referral.accepted", _("A referral was accepted")
    REFERRAL_SCHEDULED = "referral.scheduled", _("An appointment was booked")
    REFERRAL_COMPLETED = "referral.completed", _("A referral was completed")
    REFERRAL_DECLINED = "referral.declined", _("A referral was declined")
    OUTCOME_SENT = "outcome.sent", _("An outcome report was delivered to the referring office")


# Sent only by an owner's "Send a test event", to one endpoint, whatever events it chose.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(TenantModel, PublicId, CreatedAt):
    """A receiver of the spa's events. With a practice, it is that practice's system and hears only about the
    practice's referrals; without one, it hears about every referral of the spa (ids and status only).

    The secret signs every delivery (Standard Webhooks: ``whsec_`` + base64). It must be readable to sign, so it
    is kept encrypted under a key derived from ``SECRET_KEY`` (``signing.py``), shown once when made or rotated.
    After a rotation the previous secret signs too, beside the new one, until ``previous_secret_expires_at``, so
    the receiver can switch without losing a delivery.
    """

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_endpoints"
    )
    url = models.URLField(_("endpoint URL"), max_length=500)
    description = models.CharField(_("description"), max_length=120, blank=True, validators=[single_line])
    events = models.JSONField(_("events"), default=list)
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)
    # Why it stopped, when it was not an owner's choice (the receiver answered 410 Gone).
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["spa", "active"], name="webhook_endpoint_active_idx")]

    def __str__(self):
        return self.description or self.url

    @property
    def event_labels(self):
        labels = dict(EventType.choices)
        return [labels.get(event, event) for event in self.events]

    @property
    def previous_secret_signs(self):
        """True while a rotation's overlap lasts: the previous secret signs deliveries beside the current one."""
        overlap_until = self.previous_secret_expires_at
        return bool(self.previous_secret_encrypted and overlap_until and overlap_until > timezone.now())

    def wants(self, event_type, practice_id):
        """True when this endpoint takes ``event_type`` about a referral of the practice ``practice_id``."""
        if not self.active or event_type not in self.events:
            return False
        return self.practice_id is None or self.practice_id == practice_id


class WebhookDelivery(TenantModel, PublicId, CreatedAt):
    """One event for one endpoint: the outbox row, written in the transaction that caused the event.

    ``payload`` is what every endpoint may read (ids and status). Patient details are never stored here: when the
    endpoint belongs to the referring practice, they are added at each attempt while the patient's authorization
    still covers that practice (``delivery.py``). The ``webhook-id`` header is ``msg_`` + ``public_id``, the same
    on every retry, so a receiver can drop a repeat.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERING = "delivering", _("Delivering")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed, will retry")
        DEAD = "dead", _("Gave up")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    event_id = models.UUIDField()
    referral = models.ForeignKey(
        "referrals.Referral", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def message_id(self):
        return f"msg_{self.public_id.hex}"


class WebhookAttempt(TenantModel, CreatedAt):
    """One try at delivering: the endpoint's answer (status code and the first bytes of its body) or the error."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="attempts")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_snippet = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="webhook_attempt_endpoint_idx")]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}: {self.response_code or self.error}"

    @property
    def succeeded(self):
        return self.response_code is not None and 200 <= self.response_code < 300
