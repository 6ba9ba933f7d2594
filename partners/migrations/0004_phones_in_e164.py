"""Issue 17 §5: practices', clinicians' and office contacts' numbers in the stored form (E.164, ";ext=" for an
extension), read in the country of each row's spa, and ``Practice.phone_normalized`` recomputed as the one comparison
key (``infra.phones.phone_key``: E.164 without the extension) from the rewritten phone. A value that names no valid
number is left as typed, counted and logged; its key is its digits (infra/phone_backfill.py).

Batched and not one transaction (``atomic = False``): each batch commits on its own, and running it again after a
stop only finishes the work. The reverse does nothing: the 10-digit keys of before are not needed by anything once
this code runs, and E.164 is a valid way to store every number.
"""

from django.db import migrations
from django_scopes import scopes_disabled

from infra.phone_backfill import normalize_phone_columns


def phones_in_e164(apps, schema_editor):
    # Across every spa: with row-level security forced, the tables' owner sees rows only cross-tenant.
    with scopes_disabled():
        countries = dict(apps.get_model("spas", "Spa").objects.values_list("pk", "country"))
        normalize_phone_columns(
            apps.get_model("partners", "Practice"),
            ["phone", "fax"],
            countries=countries,
            keys={"phone_normalized": "phone"},
        )
        for name in ("Clinician", "OfficeContact"):
            normalize_phone_columns(apps.get_model("partners", name), ["phone"], countries=countries)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("partners", "0003_practice_phone_key"),
        ("spas", "0006_spa_country"),
    ]

    operations = [migrations.RunPython(phones_in_e164, migrations.RunPython.noop, elidable=True)]
