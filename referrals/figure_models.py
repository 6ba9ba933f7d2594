"""The referral figures' tables: counts kept up to date as referrals change, so that no page has to read all of
a spa's referrals to show them (issue 15). ``referrals/figures.py`` writes them; the dashboard, the inbox's
tabs, partner health, the partners list and the reports read them.

Every row is a count of referrals (or money) under a key, on the spa's calendar: a day or a month is the one
the referral was *received* in — a cohort: when a referral is completed later, its receipt day's and month's
"completed" goes up — except the ``completions`` columns, counted in the month a referral was completed. How
many rows a page reads grows with the days, months, practices and clinicians in its window, never with the
number of referrals.

Imported by ``referrals.models`` (kept apart because that module is long already).
"""

from django.db import models

from infra.tenant_models import TenantModel
from partners.models import Practice


def _count():
    # Not a PositiveIntegerField: were a count ever to drift below zero, its CHECK would fail the referral's own
    # write; a drifted count is repaired by a rebuild instead.
    return models.IntegerField(default=0)


class ReferralStatusCount(TenantModel):
    """How many of the spa's referrals are in each status, archived ones apart: the inbox's tabs."""

    status = models.CharField(max_length=12)
    archived = models.BooleanField()
    referrals = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "status", "archived"], name="referral_status_count_key"),
        ]

    def __str__(self):
        return f"{self.status}{' (archived)' if self.archived else ''}: {self.referrals}"


class ReferralDayFigures(TenantModel):
    """The referrals received on one day from practices of one specialty, and what became of them so far: the
    dashboard's month, same-days and 90-day figures, its weekly chart, and the report by specialty."""

    day = models.DateField()
    specialty = models.CharField(max_length=32)  # the practice's
    received = _count()
    # The spa reached the patient (contacted_at is set) / an appointment was booked (scheduled_for is set).
    contacted = _count()
    scheduled = _count()
    completed = _count()
    # Not closed yet (not declined, completed, cancelled or withdrawn).
    open = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "day", "specialty"], name="referral_day_figures_key"),
        ]

    def __str__(self):
        return f"{self.day} {self.specialty}: {self.received}"


class PracticeMonthFigures(TenantModel):
    """One practice's referrals received in one month (the first of the month on the spa's calendar), what became
    of them, and the referrals it sent that were completed in that month: top practices, partner health, the
    partners list, and the reports by practice, leakage and revenue."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    # Received in the month.
    received = _count()
    completed = _count()
    open = _count()
    declined = _count()
    # Leakage (insights.reports): cancelled or unreachable before the spa ever reached the patient; reached,
    # then cancelled without an appointment; the appointment was missed.
    never_contacted = _count()
    never_booked = _count()
    no_shows = _count()
    # Completed in the month, whenever received; those booked for a catalog service, and those services' prices.
    completions = _count()
    priced_completions = _count()
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "practice", "month"], name="practice_month_figures_key"),
        ]
        # The key serves one practice's months (the partners list); pages over all practices read months.
        indexes = [models.Index(fields=["spa", "month"], name="practice_month_figures_month")]

    def __str__(self):
        return f"{self.practice_id} {self.month:%Y-%m}: {self.received}"


class ClinicianMonthFigures(TenantModel):
    """The referrals of one clinician (or of nobody named, per practice) received in one month: the report by
    clinician."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    # The clinician's id, 0 when the referral names none. Not a foreign key: a unique key treats NULLs as all
    # different on SQLite (and on PostgreSQL before 15), so "nobody named" would never meet its own row.
    clinician_key = models.PositiveBigIntegerField()
    month = models.DateField()
    received = _count()
    completed = _count()
    open = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["spa", "month", "practice", "clinician_key"], name="clinician_month_figures_key"
            ),
        ]

    def __str__(self):
        return f"{self.practice_id}/{self.clinician_key} {self.month:%Y-%m}: {self.received}"


class ChannelMonthFigures(TenantModel):
    """The referrals that came in by one channel in one month: the report by channel."""

    channel = models.CharField(max_length=12)
    month = models.DateField()
    received = _count()
    completed = _count()
    open = _count()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "channel", "month"], name="channel_month_figures_key"),
        ]

    def __str__(self):
        return f"{self.channel} {self.month:%Y-%m}: {self.received}"
