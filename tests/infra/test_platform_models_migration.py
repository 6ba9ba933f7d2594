"""Issue 16 §1: the platform models moved from spas to infra without touching a table or a row.

The database is taken back to the layout of the last main before the move (spas 0007, outreach 0006, no infra
migration), filled through that layout's own models, and migrated forward; the rows then read back through
the new infra models, a letter batch still reaches its document, and the content types moved with them.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scopes_disabled

from infra.models import AuditEvent, GeneratedDocument, OutgoingEmail
from outreach.models import LetterBatch

BEFORE_THE_MOVE = [
    ("spas", "0007_outgoing_email_context"),
    ("outreach", "0006_partner_health_snapshots"),
    ("infra", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _fill_the_old_layout(old_apps):
    Spa = old_apps.get_model("spas", "Spa")
    spa = Spa.objects.create(name="Moved Spa", slug="moved-spa", timezone="UTC")
    email = old_apps.get_model("spas", "OutgoingEmail").objects.create(
        spa=spa, to="owner@moved.example", subject="Kept", template="referral-received", context={"n": 1}
    )
    audit = old_apps.get_model("spas", "AuditEvent").objects.create(spa=spa, action="spa.created", object_id="1")
    document = old_apps.get_model("spas", "GeneratedDocument").objects.create(
        spa=spa,
        kind="letter_batch",
        title="Letters",
        source_type="outreach.letterbatch",
        source_id="1",
        source_version="1",
        options_key="k",
    )
    template = old_apps.get_model("outreach", "LetterTemplate").objects.create(spa=spa, name="Hello", body="Hi")
    batch = old_apps.get_model("outreach", "LetterBatch").objects.create(spa=spa, template=template, document=document)
    return email.pk, audit.pk, document.pk, batch.pk


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_read_back_through_the_infra_models():
    old_apps = _migrate(BEFORE_THE_MOVE)
    assert "spas_outgoingemail" in connection.introspection.table_names()
    old_content_types = old_apps.get_model("contenttypes", "ContentType")
    assert set(
        old_content_types.objects.filter(model__in=["auditevent", "outgoingemail", "generateddocument"]).values_list(
            "app_label", flat=True
        )
    ) <= {"spas"}
    email_id, audit_id, document_id, batch_id = _fill_the_old_layout(old_apps)
    old_content_types.objects.get_or_create(app_label="spas", model="outgoingemail")

    _migrate(_latest())

    with scopes_disabled():
        email = OutgoingEmail.objects.get(pk=email_id)
        assert (email.subject, email.to, email.context) == ("Kept", "owner@moved.example", {"n": 1})
        assert AuditEvent.objects.get(pk=audit_id).action == "spa.created"
        assert GeneratedDocument.objects.get(pk=document_id).title == "Letters"
        assert LetterBatch.objects.select_related("document").get(pk=batch_id).document.pk == document_id
    assert OutgoingEmail._meta.db_table == "spas_outgoingemail"
    ContentType.objects.clear_cache()
    assert ContentType.objects.filter(app_label="infra", model="outgoingemail").exists()
    assert not ContentType.objects.filter(app_label="spas", model="outgoingemail").exists()
