"""Day-to-day relationship work: touchpoints with practices, follow-up tasks, the morning digest, the
spa's outreach settings and each active partner's check-in cadence."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from partners.models import Clinician, OfficeContact, Practice
from spas.models import Spa


class TouchpointKind(models.TextChoices):
    CLIENT_INTRODUCTION = "client_introduction", _("Client introduction")
    NETWORKING_EVENT = "networking_event", _("Networking event")
    CONTINUING_EDUCATION = "continuing_education", _("Continuing-education course")
    LETTER = "letter", _("Letter sent")
    PHONE_CALL = "phone_call", _("Phone call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    LUNCH_PRESENTATION = "lunch_presentation", _("15-minute lunch presentation")
    STAFF_SERVICE = "staff_service", _("Complimentary staff service")
    OPEN_HOUSE = "open_house", _("Open house")
    CHECK_IN = "check_in", _("Check-in")
    THANK_YOU_NOTE = "thank_you_note", _("Thank-you note")
    GIFT = "gift", _("Gift")


class TouchpointOutcome(models.TextChoices):
    POSITIVE = "positive", _("Went well")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Did not go well")
    NO_RESPONSE = "no_response", _("No response yet")


class Touchpoint(TenantModel, PublicId, CreatedAt):
    """One contact with a practice: a letter, a call, a lunch presentation, a check-in…"""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(_("kind"), max_length=24, choices=TouchpointKind.choices)
    occurred_on = models.DateField(_("date"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=TouchpointOutcome.choices, blank=True)
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    next_step = models.CharField(_("next step"), max_length=255, blank=True, validators=[single_line])
    # Where it came from, when it came from somewhere (a campaign step, an event).
    campaign = models.ForeignKey(
        "outreach.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    event = models.ForeignKey("outreach.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_on", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["spa", "practice", "occurred_on"], name="touchpoint_practice_idx"),
            models.Index(fields=["spa", "occurred_on"], name="touchpoint_spa_date_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.occurred_on}"


class TouchpointParticipant(TenantModel):
    """A clinician or office contact who took part in a touchpoint (exactly one of the two is set)."""

    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="participants")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(OfficeContact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(clinician__isnull=False, contact__isnull=True)
                | Q(clinician__isnull=True, contact__isnull=False),
                name="touchpoint_participant_one_person",
            )
        ]

    def __str__(self):
        return str(self.clinician or self.contact)

    @property
    def person(self):
        return self.clinician or self.contact


class TaskKind(models.TextChoices):
    # The kinds a touchpoint shares keep the same value, so logging the touchpoint can close the task.
    LETTER = "letter", _("Send a letter")
    PHONE_CALL = "phone_call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    LUNCH_PRESENTATION = "lunch_presentation", _("Lunch presentation")
    STAFF_SERVICE = "staff_service", _("Complimentary staff service")
    CHECK_IN = "check_in", _("Check-in")
    THANK_YOU_NOTE = "thank_you_note", _("Thank-you note")
    FRESH_APPROACH = "fresh_approach", _("Fresh approach")
    FOLLOW_UP = "follow_up", _("Follow-up")
    OTHER = "other", _("Other")


class TaskSource(models.TextChoices):
    MANUAL = "manual", _("Added by hand")
    PLAYBOOK = "playbook", _("Playbook")
    CAMPAIGN = "campaign", _("Campaign")
    CHECK_IN = "check_in", _("Check-in cadence")
    THANK_YOU = "thank_you", _("New referral")
    RESURFACE = "resurface", _("Fresh approach")
    EVENT = "event", _("Event follow-up")


class Task(TenantModel, PublicId, CreatedAt):
    """A follow-up someone on the team should do, usually at one practice.

    ``dedupe_key`` names what a scheduled job made it for ("checkin:<practice>:<due date>",
    "thanks:<practice>:<date>", "campaign:<enrollment>:<step>", …): the unique constraint makes a second
    run of the job, or a second beat process, create nothing. ``briefing`` is a snapshot the job wrote
    for the conversation (what is new at the spa, the practice's referral figures).
    """

    title = models.CharField(_("title"), max_length=200, validators=[single_line])
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    due_on = models.DateField(_("due on"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    practice = models.ForeignKey(
        Practice, verbose_name=_("practice"), on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    briefing = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=12, choices=TaskSource.choices, default=TaskSource.MANUAL)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True)
    campaign_enrollment = models.ForeignKey(
        "outreach.CampaignEnrollment", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    campaign_step = models.ForeignKey(
        "outreach.CampaignStep", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    event = models.ForeignKey("outreach.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The touchpoint that closed the task; when marking the task done logged it, undo removes it again.
    touchpoint = models.ForeignKey(
        Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="completed_tasks"
    )
    touchpoint_logged_by_task = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["spa", "dedupe_key"], condition=Q(dedupe_key__isnull=False), name="task_unique_dedupe_key"
            )
        ]
        indexes = [
            models.Index(fields=["spa", "assignee", "done_at", "due_on"], name="task_my_day_idx"),
            models.Index(fields=["spa", "practice", "done_at"], name="task_practice_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def is_done(self):
        return self.done_at is not None


class TaskPractice(TenantModel):
    """A practice that a rolled-up task covers: the week's "Send thank-you notes: Glow Dermatology, Back Bay
    PT, …" has one row per practice (the task itself has no ``practice``).

    ``added_at`` is when the practice was (last) put on the task: it counts as the practice's latest thank-you
    for the once-a-week rule. Marking the task done logs a thank-you-note touchpoint at each practice
    (``touchpoint``, with ``touchpoint_logged_by_task``) or links one logged by hand since; undo removes those
    the task logged.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="covered")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    # What the note acknowledges: the referrals received since the practice's previous thank-you (or, with
    # none before, within the look-back window).
    referral_count = models.PositiveIntegerField(default=0)
    thanked_before = models.BooleanField(default=False)
    added_at = models.DateTimeField(default=timezone.now)
    touchpoint = models.ForeignKey(Touchpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    touchpoint_logged_by_task = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "practice"], name="task_practice_once")]
        indexes = [models.Index(fields=["spa", "practice", "added_at"], name="task_practice_added_idx")]

    def __str__(self):
        return f"{self.task_id}:{self.practice_id}"


class TaskDigest(TenantModel, CreatedAt):
    """One morning digest email to one member on one day of the spa's calendar: the unique row is the claim."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    local_date = models.DateField()
    task_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["spa", "user", "local_date"], name="task_digest_once_per_day")]

    def __str__(self):
        return f"Digest for {self.user_id} on {self.local_date}"


class OutreachSettings(TenantModel):
    """A spa's outreach rhythm: check-in cadence, when declined practices resurface, the digest hour."""

    spa = models.OneToOneField(Spa, on_delete=models.CASCADE, related_name="outreach_settings")
    # One row per spa, always fetched by its spa (also before a scope exists): a plain manager.
    objects = models.Manager()
    check_in_cadence_days = models.PositiveSmallIntegerField(
        _("check in with active partners every (days)"),
        default=91,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
    )
    resurface_after_months = models.PositiveSmallIntegerField(
        _("suggest a fresh approach to declined or dormant practices after (months)"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(36)],
    )
    digest_hour = models.PositiveSmallIntegerField(
        _("send the morning task digest at (hour, spa time)"),
        default=7,
        validators=[MinValueValidator(0), MaxValueValidator(23)],
    )

    objects = ScopedManager(spa="spa")

    class Meta:
        verbose_name_plural = _("outreach settings")

    def __str__(self):
        return f"Outreach settings of {self.spa}"


def outreach_settings_for(spa):
    settings_row, _created = OutreachSettings.objects.get_or_create(spa=spa)
    return settings_row


class CheckInCadence(TenantModel):
    """When an active partner is next due a check-in. ``cadence_days`` empty: the spa's default."""

    practice = models.OneToOneField(Practice, on_delete=models.CASCADE, related_name="check_in_cadence")
    cadence_days = models.PositiveSmallIntegerField(
        _("check in every (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
    )
    next_due_on = models.DateField(_("next check-in due"), null=True, blank=True)
    last_check_in_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["spa", "next_due_on"], name="check_in_due_idx")]

    def __str__(self):
        return f"Check-ins for {self.practice_id}"
