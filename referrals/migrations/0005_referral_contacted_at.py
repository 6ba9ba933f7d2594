from django.db import migrations, models
from django.db.models import Min, OuterRef, Subquery

REACHED_OR_BEYOND = ["contacted", "scheduled", "completed", "no_show"]


def backfill_contacted_at(apps, schema_editor):
    """Existing referrals: the time of their first move to Contacted, from the timeline; referrals past
    Contacted with no such event (entered before the timeline recorded it) fall back to the first attempt."""
    Referral = apps.get_model("referrals", "Referral")
    ReferralEvent = apps.get_model("referrals", "ReferralEvent")
    first_reached = (
        ReferralEvent.objects.filter(referral=OuterRef("pk"), kind="status", to_status="contacted")
        .values("referral")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    Referral.objects.filter(contacted_at=None).update(contacted_at=Subquery(first_reached))
    Referral.objects.filter(contacted_at=None, status__in=REACHED_OR_BEYOND).exclude(
        first_contact_attempt_at=None
    ).update(contacted_at=models.F("first_contact_attempt_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_retention_and_authorization_validity"),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="contacted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill_contacted_at, migrations.RunPython.noop),
    ]
