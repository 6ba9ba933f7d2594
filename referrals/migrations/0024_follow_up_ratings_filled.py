"""Fill the rating figures (created by 0023) from the answers already given.

Apart from the table's DDL so that it can be tested as a plain role (tests/referrals/
test_follow_up_ratings_migration.py): row-level security binds that role as it binds the tables' owner who runs
``migrate`` in production, so reading the answers must be cross-tenant.
"""

from django.db import migrations

BATCH = 500


def count_existing_answers(apps, schema_editor):
    """Fill the new table from the answers already given, spa by spa, in batches of rows.

    Through this migration's own models (the answers and the table as they are at this step), with the counting
    rule itself from referrals/followup/ratings.py (one GROUP BY per spa, so memory holds one spa's practice-months,
    never its answers). A fresh database (tests, CI) has no answers and writes nothing.
    """
    import zoneinfo

    from django_scopes import scopes_disabled

    from referrals.followup.ratings import count_by_practice_month

    Spa = apps.get_model("spas", "Spa")
    SatisfactionResponse = apps.get_model("referrals", "SatisfactionResponse")
    RatingMonthFigures = apps.get_model("referrals", "RatingMonthFigures")
    with scopes_disabled():  # cross-tenant, also for PostgreSQL's row-level security (spas/rls.py)
        spa_ids = SatisfactionResponse.objects.order_by("spa_id").values_list("spa_id", flat=True).distinct()
        for spa in Spa.objects.filter(pk__in=list(spa_ids)).order_by("pk").only("pk", "timezone"):
            counted = count_by_practice_month(
                SatisfactionResponse.objects.filter(spa_id=spa.pk), zoneinfo.ZoneInfo(spa.timezone)
            )
            RatingMonthFigures.objects.bulk_create(
                [
                    RatingMonthFigures(spa_id=spa.pk, practice_id=practice_id, month=month, **counts)
                    for (practice_id, month), counts in sorted(counted.items())
                ],
                batch_size=BATCH,
            )


class Migration(migrations.Migration):

    dependencies = [
        ("referrals", "0023_follow_up_rating_figures"),
    ]

    operations = [
        migrations.RunPython(count_existing_answers, migrations.RunPython.noop),
    ]
