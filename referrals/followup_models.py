"""Patient follow-up after a completed referral (issue 19 §3): the scheduled thank-you message, the patient's
satisfaction answer and their separate permission to share a testimonial with the referring practice."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from infra.tenant_models import CreatedAt, PublicId, TenantModel
from partners.models import Practice

from .figure_models import _count


class PatientFollowUp(TenantModel, PublicId, CreatedAt):
    """One thank-you/after-care message per completed referral, sent on the spa's calendar through the email or
    the text outbox."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled by the spa")
        STOPPED = "stopped", _("Stopped by the patient")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        TEXT = "text", _("Text message")

    class Reason(models.TextChoices):
        STAFF = "staff", _("Cancelled by staff")
        REVOKED = "revoked", _("The patient revoked their authorization")
        OPT_OUT = "opt_out", _("The patient opted out")
        NO_CONSENT = "no_consent", _("Contact no longer allowed when it was due")

    referral = models.OneToOneField("referrals.Referral", on_delete=models.CASCADE, related_name="patient_follow_up")
    # Copied from the referral so the per-practice roll-up never joins through referrals.
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices, blank=True)
    # How the thank-you goes (planned when scheduled) or went (decided again when sent): by text when the patient
    # prefers texts and the spa can send them (followup.selectors.follow_up_route), else by email.
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    # The text in the outbox, while it waits and once it went (its status and Twilio's error show on the panel).
    text_message = models.ForeignKey(
        "infra.OutgoingText", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            # The beat's question: which scheduled follow-ups are due (a handful among every referral's row).
            models.Index(fields=["spa", "due_at"], name="followup_due_idx", condition=models.Q(state="scheduled")),
        ]

    def __str__(self):
        return f"Follow-up {str(self.public_id)[:8]} ({self.state})"


class SatisfactionResponse(TenantModel, CreatedAt):
    """The patient's one answer to "how did we do?" (1–5 and an optional comment)."""

    follow_up = models.OneToOneField(PatientFollowUp, on_delete=models.CASCADE, related_name="satisfaction")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(max_length=2000, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        # One practice's answers: what a merge moves and recounts (followup/ratings.py). The pages read the rating
        # figures below instead.
        indexes = [models.Index(fields=["spa", "practice"], include=["score"], name="satisfaction_practice_idx")]

    def __str__(self):
        return f"Satisfaction {self.score}/5"


class RatingMonthFigures(TenantModel):
    """The answers given in one month (the first of the month on the spa's calendar) by patients one practice
    referred: how many and the sum of their scores, kept up to date by ``followup/ratings.py`` so that the practice
    page and the report read a row per month instead of every answer. The average is ``score_sum / answers``."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    answers = _count()
    score_sum = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "practice", "month"], name="rating_month_figures_key"),
        ]
        # The key serves one practice's months (the practice page); the report reads a range of months.
        indexes = [models.Index(fields=["spa", "month"], name="rating_month_figures_month")]

    def __str__(self):
        return f"{self.practice_id} {self.month:%Y-%m}: {self.answers} answers"


class TestimonialPermission(TenantModel, CreatedAt):
    """The patient's explicit, separate opt-in to share their comment with the referring practice; revocable."""

    follow_up = models.OneToOneField(PatientFollowUp, on_delete=models.CASCADE, related_name="testimonial")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    # The exact wording the patient ticked, kept as they saw it.
    wording = models.TextField(max_length=1000)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Testimonial permission ({'revoked' if self.revoked_at else 'granted'})"
