"""Planned outreach: campaigns (a segment of practices and a sequence of steps), events with invitees, the
objection library, and the gift ledger with its yearly limit."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from infra.tenant_models import CreatedAt, PublicId, TenantModel
from infra.text import single_line
from partners.models import Clinician, OfficeContact, Practice

from .activity import TaskKind
from .letters import LetterTemplate

# --- campaigns -------------------------------------------------------------------------------------


class Campaign(TenantModel, PublicId, CreatedAt):
    """Practices chosen by segment, worked through the same steps; ``segment`` is the filter as chosen
    ({"specialty": …, "stage": …, "city": …, "tag": …}), kept for the record."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")

    name = models.CharField(_("name"), max_length=120, validators=[single_line])
    description = models.TextField(_("goal"), max_length=2000, blank=True)
    segment = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tasks go to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: each practice's owner."),
    )
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


class CampaignStep(TenantModel):
    """One step of a campaign: its kind, and how many days after the previous step (0 for the first)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(_("step"), max_length=20, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True, validators=[single_line])
    days_after_previous = models.PositiveSmallIntegerField(_("days after the previous step"), default=0)
    letter_template = models.ForeignKey(
        LetterTemplate,
        verbose_name=_("letter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["campaign", "position"], name="campaign_step_position")]

    def __str__(self):
        return self.title or self.get_kind_display()


class CampaignEnrollment(TenantModel):
    """One practice in one campaign and how far it has come."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("In progress")
        COMPLETED = "completed", _("All steps done")
        STOPPED = "stopped", _("Stopped")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrollments")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="campaign_enrollments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    steps_done = models.PositiveSmallIntegerField(default=0)
    enrolled_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["practice__name", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "practice"], name="campaign_practice_once")]

    def __str__(self):
        return f"{self.practice_id} in {self.campaign_id}"


# --- events ----------------------------------------------------------------------------------------


class Event(TenantModel, PublicId, CreatedAt):
    class Kind(models.TextChoices):
        LUNCH_PRESENTATION = "lunch_presentation", _("Lunch presentation")
        OPEN_HOUSE = "open_house", _("Open house")
        OTHER = "other", _("Other event")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=160, validators=[single_line])
    starts_at = models.DateTimeField(_("starts at"))
    location = models.CharField(_("location"), max_length=255, blank=True, validators=[single_line])
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    follow_ups_created_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]

    def __str__(self):
        return self.title


class EventInvitee(TenantModel, PublicId):
    """A practice invited to an event, optionally a named clinician or office contact there."""

    class Rsvp(models.TextChoices):
        PENDING = "pending", _("No answer yet")
        YES = "yes", _("Coming")
        MAYBE = "maybe", _("Maybe")
        NO = "no", _("Not coming")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitees")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="event_invitations")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(OfficeContact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    rsvp = models.CharField(_("RSVP"), max_length=8, choices=Rsvp.choices, default=Rsvp.PENDING)
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["practice__name", "id"]

    def __str__(self):
        return f"{self.practice_id} at {self.event_id}"

    @property
    def person(self):
        return self.clinician or self.contact


# --- objection library -----------------------------------------------------------------------------


class ObjectionCategory(models.TextChoices):
    QUALIFICATIONS = "qualifications", _("Qualifications")
    SAFETY = "safety", _("Treatment safety")
    TOO_BUSY = "too_busy", _("Too busy")
    VALUE_UNCLEAR = "value_unclear", _("Value unclear")
    ETHICS_GIFTS = "ethics_gifts", _("Ethics and gifts")
    OTHER = "other", _("Other")


class ObjectionResponse(TenantModel, PublicId, CreatedAt):
    """A prepared answer to a concern practices raise. Seeded with defaults per spa; editable."""

    category = models.CharField(_("category"), max_length=16, choices=ObjectionCategory.choices)
    objection = models.CharField(_("what they say"), max_length=300, validators=[single_line])
    response = models.TextField(_("how to answer"), max_length=4000)
    archived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "objection", "id"]

    def __str__(self):
        return self.objection


class ObjectionLog(TenantModel, PublicId, CreatedAt):
    """An objection raised at a practice, the response used and how it went."""

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("Resolved")
        PARTLY = "partly", _("Partly resolved")
        UNRESOLVED = "unresolved", _("Not resolved")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="objections")
    category = models.CharField(_("category"), max_length=16, choices=ObjectionCategory.choices)
    raised = models.CharField(_("what was said"), max_length=500, blank=True)
    response = models.ForeignKey(
        ObjectionResponse,
        verbose_name=_("response used"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uses",
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    raised_on = models.DateField(_("date"))
    touchpoint = models.ForeignKey(
        "outreach.Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="objections"
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_on", "-id"]

    def __str__(self):
        return f"{self.get_category_display()} at {self.practice_id}"


# --- gift ledger -----------------------------------------------------------------------------------

# The Stark non-monetary compensation limit per physician per calendar year (CMS publishes it yearly).
# A spa's own figure for a year, once set, wins (GiftLimit); later years start from the latest known.
PUBLISHED_GIFT_LIMITS = {2024: Decimal("507"), 2025: Decimal("519"), 2026: Decimal("535")}
GIFT_WARNING_SHARE = Decimal("0.8")


class GiftKind(models.TextChoices):
    GIFT = "gift", _("Gift (an item)")
    MEAL = "meal", _("Meal")
    COMPLIMENTARY_SERVICE = "complimentary_service", _("Complimentary service")
    EVENT_HOSPITALITY = "event_hospitality", _("Event hospitality")
    # Listed so the refusal can say why: never allowed for referral sources.
    CASH = "cash", _("Cash")
    GIFT_CARD = "gift_card", _("Gift card or voucher (cash equivalent)")


CASH_EQUIVALENT_KINDS = {GiftKind.CASH, GiftKind.GIFT_CARD}


class GiftLimit(TenantModel):
    """The spa's yearly limit per recipient for one calendar year (overrides the published figure)."""

    year = models.PositiveSmallIntegerField(_("year"))
    limit = models.DecimalField(_("limit per recipient"), max_digits=8, decimal_places=2)

    class Meta:
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["spa", "year"], name="gift_limit_once_per_year")]

    def __str__(self):
        return f"{self.year}: {self.limit}"


class Gift(TenantModel, PublicId, CreatedAt):
    """Something of value given to a clinician or office staff member, at fair market value."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="gifts")
    recipient_clinician = models.ForeignKey(
        Clinician, verbose_name=_("clinician"), on_delete=models.CASCADE, null=True, blank=True, related_name="gifts"
    )
    recipient_contact = models.ForeignKey(
        OfficeContact,
        verbose_name=_("office staff"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="gifts",
    )
    given_on = models.DateField(_("date given"))
    kind = models.CharField(_("kind"), max_length=24, choices=GiftKind.choices)
    description = models.CharField(_("description"), max_length=255, validators=[single_line])
    fair_market_value = models.DecimalField(
        _("fair market value"), max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    # Past the yearly limit only with an owner's recorded override.
    override_reason = models.CharField(_("reason for going over the limit"), max_length=500, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-given_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient_clinician__isnull=False, recipient_contact__isnull=True)
                | Q(recipient_clinician__isnull=True, recipient_contact__isnull=False),
                name="gift_one_recipient",
            )
        ]
        indexes = [models.Index(fields=["spa", "given_on"], name="gift_spa_date_idx")]

    def __str__(self):
        return f"{self.description} ({self.fair_market_value})"

    @property
    def recipient(self):
        return self.recipient_clinician or self.recipient_contact
