"""Referrals from every channel, their lifecycle and response clock, the partner portal's people, API keys."""

import functools
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from infra.templatetags.dates import moment
from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from partners.models import Clinician, Practice
from spas.models import Service, Spa, Specialty

# The maintained referral figures (issue 15) live in their own module; imported here so Django finds them.
from .figure_models import (  # noqa: F401
    ChannelMonthFigures,
    ClinicianMonthFigures,
    PracticeMonthFigures,
    ReferralDayFigures,
    ReferralStatusCount,
)
from .followup_models import (  # noqa: F401
    PatientFollowUp,
    RatingMonthFigures,
    SatisfactionResponse,
    TestimonialPermission,
)

# Referrals by email and text (issue 18): drafts until a person confirms them; the outgoing webhooks' rows (issue
# 18). Both live in their rooms; imported here so Django finds them.
from .inbound.models import InboundDraftAttachment, InboundReferralDraft, InboundSignature  # noqa: F401
from .webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint  # noqa: F401

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENT_EXTENSIONS = ["pdf", "png", "jpg", "jpeg", "webp", "gif", "heic"]

# Reasons for referral, per specialty; every specialty also has "other".
REASONS_BY_SPECIALTY = {
    Specialty.DERMATOLOGY: [
        ("post_procedure_skin_care", _("Post-procedure skin care")),
        ("sensitive_skin", _("Sensitive or reactive skin")),
        ("acne_support", _("Acne support treatments")),
    ],
    Specialty.OB_GYN: [
        ("prenatal_comfort", _("Prenatal comfort")),
        ("postpartum_recovery", _("Postpartum recovery")),
    ],
    Specialty.PHYSICAL_THERAPY: [
        ("muscle_tension_recovery", _("Muscle tension and recovery")),
        ("rehab_complement", _("Soft-tissue work between rehab visits")),
    ],
    Specialty.CHIROPRACTIC: [("pre_adjustment_relaxation", _("Muscle relaxation around adjustments"))],
    Specialty.PLASTIC_SURGERY: [("post_operative_care", _("Post-operative skin and comfort care"))],
    Specialty.ONCOLOGY: [("comfort_during_treatment", _("Comfort during or after treatment"))],
    Specialty.PRIMARY_CARE: [("stress_relief", _("Stress relief and relaxation"))],
    Specialty.SPORTS_MEDICINE: [("sports_recovery", _("Sports recovery and flexibility"))],
    Specialty.OTHER: [],
}
OTHER_REASON = ("other", _("Other"))


def reason_choices(specialty=None):
    """Reasons for one specialty (plus "other"), or all of them."""
    if specialty:
        return [*REASONS_BY_SPECIALTY.get(specialty, []), OTHER_REASON]
    seen = {}
    for reasons in REASONS_BY_SPECIALTY.values():
        for value, label in reasons:
            seen[value] = label
    return [*seen.items(), OTHER_REASON]


@functools.cache
def _all_reason_labels():
    """Every reason's (lazily translated) label by value, built once: list pages ask for it per row."""
    return dict(reason_choices())


class Channel(models.TextChoices):
    PORTAL = "portal", _("Partner portal")
    LANDING = "landing", _("Patient landing page")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    FAX = "fax", _("Fax")
    EMAIL = "email", _("Email")
    WALK_IN = "walk_in", _("Walk-in")
    # A text message to the spa's referral number, confirmed by staff (referrals.inbound).
    TEXT = "text", _("Text message")


MANUAL_CHANNELS = [Channel.PHONE, Channel.FAX, Channel.EMAIL, Channel.WALK_IN]


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    CONTACTED = "contacted", _("Contacted")
    SCHEDULED = "scheduled", _("Scheduled")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")
    UNREACHABLE = "unreachable", _("Unreachable")
    # The referring practice took the referral back before the spa accepted it: closed, and not the spa's loss.
    WITHDRAWN = "withdrawn", _("Withdrawn by the practice")


# The legal moves. Logging a contact attempt moves accepted → contacted (reached) or,
# after the spa's number of failed attempts, → unreachable; that is checked in services.
TRANSITIONS = {
    Status.RECEIVED: {Status.ACCEPTED, Status.DECLINED},
    Status.ACCEPTED: {Status.CONTACTED, Status.UNREACHABLE, Status.CANCELLED},
    Status.CONTACTED: {Status.SCHEDULED, Status.CANCELLED},
    Status.SCHEDULED: {Status.SCHEDULED, Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED},
    Status.NO_SHOW: {Status.SCHEDULED, Status.CANCELLED},
    Status.UNREACHABLE: {Status.CONTACTED, Status.CANCELLED},
    Status.DECLINED: set(),
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.WITHDRAWN: set(),
}
OPEN_STATUSES = [
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.CONTACTED,
    Status.SCHEDULED,
    Status.NO_SHOW,
    Status.UNREACHABLE,
]
CLOSED_STATUSES = [Status.DECLINED, Status.COMPLETED, Status.CANCELLED, Status.WITHDRAWN]
# What the referring practice may still take back from the portal: referrals the spa has not accepted yet.
WITHDRAWABLE_STATUSES = [Status.RECEIVED]
AWAITING_FIRST_CONTACT = [Status.RECEIVED, Status.ACCEPTED]


def awaiting_first_contact_rank():
    """0 for a referral still awaiting its first contact attempt, 1 otherwise: the inbox's first sort key on the
    tabs that open on the most urgent. The inbox's open-referrals index holds the same expression, so its order
    is read from the index instead of sorting every open referral (15,000 of them at 100,000: 70 ms a page)."""
    return models.Case(
        # Written as the migration writes it (keywords in alphabetical order), so that the two compare equal.
        models.When(first_contact_attempt_at=None, status__in=AWAITING_FIRST_CONTACT, then=models.Value(0)),
        default=models.Value(1),
        output_field=models.IntegerField(),
    )


# Where contact attempts can be logged: after accepting, until the appointment is booked.
ATTEMPT_STATUSES = [Status.ACCEPTED, Status.CONTACTED, Status.UNREACHABLE]


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    TEXT = "text", _("Text message")
    EMAIL = "email", _("Email")


class ConsentMethod(models.TextChoices):
    PATIENT_ONLINE = "patient_online", _("Patient submitted the online form")
    CLINIC_ATTESTATION = "clinic_attestation", _("Referring office attests the patient agreed")
    VERBAL = "verbal", _("Patient agreed verbally (recorded by spa staff)")
    WRITTEN = "written", _("Patient signed a written form")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    SOON = "soon", _("Within a week")
    URGENT = "urgent", _("Urgent (within 2 days)")


def attachment_upload_to(referral, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"private/referrals/{referral.spa.public_id}/{secrets.token_hex(16)}.{extension}"


class ArchiveReason(models.TextChoices):
    TEST = "test", _("Test referral")
    SPAM = "spam", _("Spam")


class Referral(TenantModel, PublicId):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="referrals")
    clinician = models.ForeignKey(Clinician, on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals")
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    # Patient (health information: scrubbed by the retention purge and on erasure requests).
    patient_first_name = models.CharField(_("first name"), max_length=80, validators=[single_line])
    patient_last_name = models.CharField(_("last name"), max_length=80, validators=[single_line])
    patient_phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[single_line])
    patient_email = models.EmailField(_("email"), blank=True)
    preferred_contact_method = models.CharField(
        _("preferred contact method"), max_length=8, choices=ContactMethod.choices, default=ContactMethod.PHONE
    )
    preferred_contact_time = models.CharField(
        _("best time to reach"), max_length=80, blank=True, validators=[single_line]
    )
    patient_date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    reason_category = models.CharField(_("reason"), max_length=40, default="other")
    reason_text = models.TextField(_("details"), max_length=2000, blank=True)
    precautions = models.TextField(_("precautions / contraindications"), max_length=2000, blank=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    attachment = models.FileField(
        _("attachment"),
        upload_to=attachment_upload_to,
        blank=True,
        validators=[FileExtensionValidator(ATTACHMENT_EXTENSIONS)],
    )
    attachment_name = models.CharField(max_length=120, blank=True)
    # Consent to be contacted: required on every channel.
    consent_to_contact = models.BooleanField(_("the patient agreed to be contacted by the spa"), default=False)
    consent_method = models.CharField(_("how consent was given"), max_length=20, choices=ConsentMethod.choices)
    consent_captured_by = models.CharField(_("consent recorded by"), max_length=255)
    consent_captured_at = models.DateTimeField(default=timezone.now)
    # Lifecycle.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(default=timezone.now)
    first_contact_due_at = models.DateTimeField()
    first_contact_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the spa first reached the patient (moved to Contacted): the funnel's "contacted" step.
    contacted_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # After a text or email was sent and no reply came yet: when the spa owes the patient its next attempt. Set
    # by logging a "message sent" attempt, cleared by the next attempt of another kind, when the patient is
    # reached or when the referral leaves the contact stages. The day's work queue (My day) lists referrals by
    # this, else by first_contact_due_at.
    follow_up_due_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    decline_reason = models.CharField(max_length=255, blank=True, validators=[single_line])
    scheduled_for = models.DateTimeField(null=True, blank=True)
    scheduled_service = models.ForeignKey(Service, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    internal_notes = models.TextField(_("internal notes (never shown to the practice)"), max_length=4000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=255, blank=True)
    health_fields_purged_at = models.DateTimeField(null=True, blank=True)
    # Archived (a test or spam referral): out of the inbox's tabs, counts, badges and My day, kept whole with
    # its consent and audit trail; found again under the inbox's "Archived" filter and restorable.
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_reason = models.CharField(max_length=8, choices=ArchiveReason.choices, blank=True)
    # Optimistic locking: a save based on a stale copy is refused instead of overwriting.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["spa", "status", "received_at"], name="referral_inbox_idx"),
            # Covering (PostgreSQL): the dashboard's and partner health's windows over the spa's referrals
            # are index-only scans (bench: 1 s → 30 ms at 100,000 referrals).
            models.Index(fields=["spa", "received_at"], include=["practice", "status"], name="referral_window_idx"),
            models.Index(fields=["spa", "practice", "received_at"], name="referral_practice_idx"),
            models.Index(fields=["status", "first_contact_due_at"], name="referral_due_idx"),
            # The inbox's open tabs in their order (referrals.selectors.inbox_ordered), so a page reads 50 rows.
            models.Index(
                models.F("spa"),
                awaiting_first_contact_rank(),
                models.F("first_contact_due_at"),
                models.F("received_at"),
                models.F("id"),
                name="referral_open_order_idx",
                condition=models.Q(archived_at__isnull=True, status__in=OPEN_STATUSES),
            ),
            # The overdue ones (referrals.selectors.overdue_condition): the navigation badge, the inbox's Overdue
            # tab and the dashboard count them on a cache miss; a few hundred rows instead of the spa's 100,000.
            models.Index(
                fields=["spa", "first_contact_due_at"],
                name="referral_overdue_idx",
                condition=models.Q(
                    archived_at__isnull=True, first_contact_attempt_at__isnull=True, status__in=AWAITING_FIRST_CONTACT
                ),
            ),
        ]

    def __str__(self):
        return f"Referral {str(self.public_id)[:8]}"

    @property
    def patient_name(self):
        if self.health_fields_purged_at:
            return _("Patient details erased")
        return f"{self.patient_first_name} {self.patient_last_name}".strip()

    @property
    def is_overdue(self):
        return (
            self.status in AWAITING_FIRST_CONTACT
            and self.first_contact_attempt_at is None
            and self.first_contact_due_at < timezone.now()
            and self.archived_at is None
        )

    @property
    def missing_phone_for_preference(self):
        """The patient asked for a call or a text but no phone number was given (shown as a warning)."""
        return (
            self.preferred_contact_method in (ContactMethod.PHONE, ContactMethod.TEXT)
            and not (self.patient_phone or "").strip()
        )

    @property
    def follow_up_overdue(self):
        """A message was sent, no reply came, and the follow-up it scheduled is late."""
        return self.follow_up_due_at is not None and self.follow_up_due_at < timezone.now()

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    def allowed_moves(self):
        return TRANSITIONS.get(self.status, set())

    @property
    def can_log_attempt(self):
        return self.status in ATTEMPT_STATUSES

    # get_FOO_display() rebuilds (and hashes, so translates) every choice on each call; a list page of
    # 50 rows spent a third of its time there. The enum's own label is a lookup.
    @property
    def status_label(self):
        return Status(self.status).label

    @property
    def channel_label(self):
        return Channel(self.channel).label

    def reason_label(self):
        return _all_reason_labels().get(self.reason_category, self.reason_category)


class ReferralService(TenantModel):
    """A catalog service recommended for a referral (the spa is on the row, like every tenant table)."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="recommended")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "service"], name="referral_service_unique")]

    def __str__(self):
        return f"{self.referral_id}:{self.service_id}"


class ReferralEvent(TenantModel, CreatedAt):
    """One line of a referral's timeline: a status change, a contact attempt, an assignment or a note."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        STATUS = "status", _("Status change")
        ATTEMPT = "attempt", _("Contact attempt")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Note")
        # Information the referring practice added from the partner portal: the spa and the practice see it.
        PRACTICE_NOTE = "practice_note", _("Information from the practice")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored from the archive")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached the patient")
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Left a voicemail")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        # Not a failure: the patient may answer it. It schedules its own follow-up (Referral.follow_up_due_at).
        MESSAGE_SENT = "message_sent", _("Sent a message (awaiting reply)")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.kind} {self.to_status or self.outcome}"

    @property
    def is_failed_attempt(self):
        return self.kind == self.Kind.ATTEMPT and self.outcome in FAILED_ATTEMPT_OUTCOMES

    @property
    def visible_to_practice(self):
        """The portal shows status changes and what the practice itself added: no notes, attempts or assignments."""
        return self.kind in (self.Kind.RECEIVED, self.Kind.STATUS, self.Kind.PRACTICE_NOTE)

    @property
    def who(self):
        return self.actor.display_name if self.actor else self.actor_label


class ReferralView(TenantModel):
    """The first time a member of the spa opened a referral's page: a referral is *New* to a member until then.

    Only referrals received after the member joined the spa (``Membership.created_at``, the per-member
    watermark) can be New, so a new colleague does not start with the whole history marked unread.
    """

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "user"], name="referral_view_once_per_user")]

    def __str__(self):
        return f"{self.referral_id} seen by {self.user_id}"


# The outcomes that count toward "unreachable": the spa tried and the patient could not be reached. A sent
# message awaiting a reply is not one of them.
FAILED_ATTEMPT_OUTCOMES = [
    ReferralEvent.Outcome.NO_ANSWER,
    ReferralEvent.Outcome.VOICEMAIL,
    ReferralEvent.Outcome.WRONG_NUMBER,
]


# --- Partner portal ------------------------------------------------------------------------


class PortalAccess(TenantModel, PublicId, CreatedAt):
    """Lets one person from a practice use the spa's partner portal for that practice only."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="portal_accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_accesses")
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The referring clinician this person chose last: the portal form starts with them (front desks mostly
    # send for the same doctor).
    last_clinician = models.ForeignKey(Clinician, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "user"], name="portal_access_one_practice_per_spa")]

    def __str__(self):
        return f"{self.user} → {self.practice}"


def portal_invitation_expiry():
    return timezone.now() + timezone.timedelta(days=14)


class PortalInvitation(TenantModel, PublicId, CreatedAt):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="portal_invitations")
    email = models.EmailField(_("email"))
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField(default=portal_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Portal invitation for {self.email}"

    @property
    def state(self):
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


# --- API keys and idempotency -------------------------------------------------------------

API_KEY_PREFIX = "sk_"


def hash_api_key(raw_key):
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(TenantModel, PublicId, CreatedAt):
    """A practice's credential for the REST API. Only a hash is stored; the key is shown once."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=80, validators=[single_line])
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None


class IdempotencyRecord(TenantModel, CreatedAt):
    """The first response to an API create with a given Idempotency-Key, replayed for repeats."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_unique_key")]

    def __str__(self):
        return self.key


class ReferralSettings(TenantModel):
    """A spa's referral rules: how fast first contact is due and when a patient counts as unreachable."""

    spa = models.OneToOneField(Spa, on_delete=models.CASCADE, related_name="referral_settings")
    # One row per spa, always fetched by its spa (also before a scope exists): a plain manager.
    objects = models.Manager()
    first_contact_business_days = models.PositiveSmallIntegerField(
        _("first contact due within (business days)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    unreachable_after_attempts = models.PositiveSmallIntegerField(
        _("unreachable after this many failed attempts"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    message_follow_up_business_days = models.PositiveSmallIntegerField(
        _("follow up on a sent message after (business days)"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    authorization_validity_months = models.PositiveSmallIntegerField(
        _("authorizations to share outcomes end after (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    # Empty: keep health information until someone erases it on the patient's request.
    health_retention_months = models.PositiveSmallIntegerField(
        _("purge health information of referrals closed more than this many months ago"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
    )

    # The spa's text-message number at the SMS provider (E.164), where clinics text referrals. Set by the
    # operator who owns the provider account (manage.py inbound_sms_number), never by a spa: a number a spa could
    # claim would route another spa's texts to it.
    inbound_sms_number = models.CharField(_("referral text number"), max_length=30, blank=True, editable=False)

    objects = ScopedManager(spa="spa")

    class Meta:
        verbose_name_plural = _("referral settings")
        constraints = [
            models.UniqueConstraint(
                fields=["inbound_sms_number"],
                condition=~models.Q(inbound_sms_number=""),
                name="referral_settings_one_spa_per_sms_number",
            )
        ]

    def __str__(self):
        return f"Referral settings of {self.spa}"


def appointment_after_receipt(referral, scheduled_for):
    """Refuse an appointment dated before the referral was received (a typo in the date, most likely)."""
    if scheduled_for < referral.received_at:
        with timezone.override(referral.spa.timezone):  # said on the spa's clock, wherever it is checked
            received = moment(referral.received_at)
        raise ValidationError(
            {
                "scheduled_for": _(
                    "The appointment cannot be before the referral was received (%(received)s). Check the date."
                )
                % {"received": received}
            }
        )


def referral_settings_for(spa):
    settings_row, _created = ReferralSettings.objects.get_or_create(spa=spa)
    return settings_row


# --- Consent: authorizations to share outcome information (45 CFR 164.508(c)) -------------------


class ConsentTemplate(TenantModel, PublicId, CreatedAt):
    """The spa's authorization wording, versioned: a new save is a new version; old ones stay as signed."""

    version = models.PositiveIntegerField()
    body = models.TextField(_("authorization text"), max_length=20000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["spa", "version"], name="consent_template_unique_version")]

    def __str__(self):
        return f"Consent wording v{self.version}"


def authorization_upload_to(authorization, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"private/authorizations/{authorization.spa.public_id}/{secrets.token_hex(16)}.{extension}"


class Authorization(TenantModel, PublicId):
    """A patient's authorization for one referral, holding every core element of 45 CFR 164.508(c).

    ``text_signed`` is the exact wording the patient agreed to (the template rendered with this
    referral's specifics), so later edits of the template never change what was signed.
    """

    class SignatureMethod(models.TextChoices):
        TYPED = "typed", _("Signed online by the patient (typed name)")
        CLINIC_ATTESTATION = "clinic_attestation", _("Referring office attests, with the signed form uploaded")
        PAPER = "paper", _("Signed on paper at the spa, scan uploaded")

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="authorizations")
    # Scope.
    allows_contact = models.BooleanField(_("the spa may contact the patient"), default=True)
    allows_outcome_sharing = models.BooleanField(_("the spa may share outcome information"), default=False)
    # 164.508(c)(1): what, by whom, to whom, purpose, expiry, signature and date.
    information_disclosed = models.TextField(max_length=2000)
    discloser = models.CharField(max_length=255)
    recipient_practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    recipient_clinician = models.ForeignKey(
        Clinician, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient_label = models.CharField(max_length=255)
    purpose = models.CharField(max_length=500)
    expires_at = models.DateTimeField()
    signature_method = models.CharField(max_length=20, choices=SignatureMethod.choices)
    signer_name = models.CharField(_("full name of the signer"), max_length=160, validators=[single_line])
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    signed_form = models.FileField(upload_to=authorization_upload_to, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=255, blank=True)
    # 164.508(c)(2): the statements, kept verbatim in the signed text.
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="+")
    text_signed = models.TextField()
    # Revocation.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revocation_channel = models.CharField(max_length=20, blank=True)
    revocation_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    revocation_token_expires_at = models.DateTimeField(null=True, blank=True)
    expired_marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self):
        return f"Authorization {str(self.public_id)[:8]}"

    def is_valid(self, at=None):
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at

    def covers_outcome_sharing_with(self, practice, clinician=None, at=None):
        """True while this authorization lets the spa share outcomes with that practice (and clinician)."""
        if not (self.allows_outcome_sharing and self.is_valid(at)):
            return False
        if self.recipient_practice_id != practice.pk:
            return False
        return clinician is None or self.recipient_clinician_id in (None, clinician.pk)


# --- Outcome reports ------------------------------------------------------------------------


class OutcomeReport(TenantModel, PublicId, CreatedAt):
    """What the spa did for a referred patient, shared with the referring office only under an authorization.

    One report per referral; each share of a newer ``version`` (an interim update) is a new delivery.
    ``measures`` holds the patient-reported measures of the practice's specialty (referrals.outcomes).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SHARED = "shared", _("Shared")

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="outcome_report")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    services = models.JSONField(default=list, blank=True)  # public ids of catalog services, as strings
    sessions = models.PositiveSmallIntegerField(
        _("number of sessions"), default=1, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    observations = models.TextField(_("observations"), max_length=4000, blank=True)
    recommendations = models.TextField(_("recommendations and next steps"), max_length=4000, blank=True)
    measures = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1)
    shared_version = models.PositiveIntegerField(null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return f"Outcome report {str(self.public_id)[:8]} v{self.version}"


class OutcomeDelivery(TenantModel, PublicId, CreatedAt):
    """One attempt to deliver one version of a report; ``content`` is exactly what the practice may read."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        DELIVERED = "delivered", _("Delivered")
        REFUSED = "refused", _("Not delivered")

    report = models.ForeignKey(OutcomeReport, on_delete=models.CASCADE, related_name="deliveries")
    report_version = models.PositiveIntegerField()
    content = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=500, blank=True)
    authorization = models.ForeignKey(
        Authorization, on_delete=models.SET_NULL, null=True, blank=True, related_name="outcome_deliveries"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Delivery of {self.report} ({self.status})"


# --- Duplicate form submissions ---------------------------------------------------------------------


class SubmissionToken(TenantModel, CreatedAt):
    """The one-time token of a rendered referral form, claimed in the transaction that creates its referral.

    A second post of the same form (a double click, a browser's resend, 20 at once) finds the claim and is
    answered with the first one's success page instead of creating a second referral (referrals/intake/submissions.py).
    """

    token = models.CharField(max_length=64, unique=True)
    # Which form and who may replay it ("portal:<access>", "landing:<code>", "manual:<user>").
    purpose = models.CharField(max_length=64)
    # A keyed hash of what was posted: the same token with other details is not a repeat.
    fingerprint = models.CharField(max_length=64)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, null=True, related_name="+")

    def __str__(self):
        return f"Submission {self.token[:8]}…"
