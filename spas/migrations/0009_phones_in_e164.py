"""Issue 17 §5: the spa's own phone numbers in the stored form (E.164, ";ext=" for an extension), read in the spa's
country. A value that names no valid number there is left as typed, counted and logged (infra/phone_backfill.py).

Batched and not one transaction (``atomic = False``): each batch commits on its own, and running it again after a
stop only finishes the work. The reverse does nothing: E.164 is a valid way to store every number, and the typed
form is not needed to read one back.
"""

from django.db import migrations
from django_scopes import scopes_disabled

from infra.phone_backfill import normalize_phone_columns


def phones_in_e164(apps, schema_editor):
    Spa = apps.get_model("spas", "Spa")
    with scopes_disabled():  # cross-tenant, like every data migration here (spas/rls.py)
        countries = dict(Spa.objects.values_list("pk", "country"))
        normalize_phone_columns(Spa, ["phone", "referral_phone"], countries=countries, spa_field="pk")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("spas", "0008_platform_models_moved_to_infra"),
    ]

    operations = [migrations.RunPython(phones_in_e164, migrations.RunPython.noop, elidable=True)]
