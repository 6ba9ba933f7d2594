"""Issue 17 §5: patients' phone numbers in the stored form (E.164, ";ext=" for an extension), read in the country
of each referral's spa. A value that names no valid number is left as typed, counted and logged by row id, never by
value (infra/phone_backfill.py). Erased referrals have no phone left and are not read.

Batched and not one transaction (``atomic = False``): each batch commits on its own, and running it again after a
stop only finishes the work. A referral's ``version`` is not bumped: the number it holds is the same. The reverse
does nothing: E.164 is a valid way to store every number.
"""

from django.db import migrations
from django_scopes import scopes_disabled

from infra.phone_backfill import normalize_phone_columns


def phones_in_e164(apps, schema_editor):
    # Across every spa: with row-level security forced, the tables' owner sees rows only cross-tenant.
    with scopes_disabled():
        countries = dict(apps.get_model("spas", "Spa").objects.values_list("pk", "country"))
        normalize_phone_columns(apps.get_model("referrals", "Referral"), ["patient_phone"], countries=countries)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0017_overdue_index"),
        ("spas", "0006_spa_country"),
    ]

    operations = [migrations.RunPython(phones_in_e164, migrations.RunPython.noop, elidable=True)]
