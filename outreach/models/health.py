"""Partner health, maintained (issue 15): one row per trial or active partner with the status the health rules
(outreach/health/selectors.py) gave it and the parts of its place in the "sorted by risk" order, so the dashboard
reads a few rows instead of assessing every partner. ``outreach/health/snapshots.py`` writes them."""

from django.db import models

from infra.tenant_models import TenantModel
from partners.models import Practice


class PartnerHealthSnapshot(TenantModel):
    """What ``health.assess`` decided for one trial or active partner on ``assessed_on`` (the spa's date)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10)  # a HealthStatus value
    # ``PartnerHealth.sort_key`` after the status, as stored numbers and text: how many at-risk and cooling
    # reasons, the silence (days since the last contact plus days the check-in is overdue), the drop in referrals
    # (the 3 months before minus the last 3), and the name lowercased by Python (ordered byte-wise, as Python
    # orders it: ``health_snapshots.BYTEWISE``).
    at_risk_reasons = models.PositiveSmallIntegerField()
    cooling_reasons = models.PositiveSmallIntegerField()
    silence_days = models.IntegerField()
    referral_drop = models.IntegerField()
    sort_name = models.TextField()
    assessed_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["spa", "practice"], name="partner_health_snapshot_key"),
        ]
        indexes = [models.Index(fields=["spa", "status"], name="partner_health_snapshot_status")]

    def __str__(self):
        return f"{self.practice_id}: {self.status} on {self.assessed_on}"
