"""Documents made before GeneratedDocument had a subject: those made from a practice (pads, letters, a
practice's leave-behind) get that practice as their subject, so the documents page can filter them too.

It lives here, not in spas, because it reads partners' practices: migrations follow the apps' direction."""

from django.db import migrations
from django_scopes import scopes_disabled

PRACTICE_SOURCE = "partners.Practice"


def fill_subjects(apps, schema_editor):
    # Across every spa: with row-level security forced, the tables' owner sees rows only cross-tenant.
    with scopes_disabled():
        _fill_subjects(apps)


def _fill_subjects(apps):
    GeneratedDocument = apps.get_model("spas", "GeneratedDocument")
    Practice = apps.get_model("partners", "Practice")
    documents = GeneratedDocument.objects.filter(source_type=PRACTICE_SOURCE, subject_id="")
    source_ids = set(documents.values_list("source_id", flat=True))
    names = {
        str(public_id): name
        for public_id, name in Practice.objects.filter(public_id__in=source_ids).values_list("public_id", "name")
    }
    for source_id, name in names.items():
        documents.filter(source_id=source_id).update(subject_id=source_id, subject_label=name[:200])


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0009_referral_follow_up_due_at"),
        ("spas", "0005_document_subject"),
        ("partners", "0002_single_line_text_fields"),
    ]

    operations = [migrations.RunPython(fill_subjects, migrations.RunPython.noop)]
