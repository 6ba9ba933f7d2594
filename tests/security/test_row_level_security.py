"""The second wall: PostgreSQL row-level security on every tenant table (spas/rls.py).

The suite connects as a superuser, whom PostgreSQL exempts from row-level security; these tests switch
their connection to a plain role (no superuser, no BYPASSRLS — what production's app connects as) to see
what the application would see. They need PostgreSQL.
"""

import uuid

import pytest
from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from infra.models import AuditEvent
from infra.tenant_models import TenantModel
from referrals.api.services import api_key_create
from referrals.models import Referral
from spas import rls
from spas.models import Membership
from spas.tenancy import SpaTask
from tests.conftest import postgres_only
from tests.factories import PracticeFactory, ReferralCodeFactory, ReferralFactory

pytestmark = postgres_only

APP_ROLE = "spa_rls_probe"


@pytest.fixture
def world(spa, other_spa, owner, outsider):  # owner and outsider: each spa has a member
    """Two spas with rows in many tenant tables each."""
    made = {}
    for tenant in (spa, other_spa):
        with scope(spa=tenant):
            practice = PracticeFactory(spa=tenant, name=f"{tenant.name} Dermatology")
            ReferralFactory(spa=tenant, practice=practice, patient_last_name=f"Patient-of-{tenant.slug}")
            ReferralCodeFactory(spa=tenant, practice=practice, code=f"C{tenant.pk}XYZ"[:6].upper())
            made[tenant.slug] = practice
    return made


@pytest.fixture
def as_app_role(db):
    """Run the rest of the test as a plain role, as production's web and worker processes connect."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        )
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"SET ROLE {APP_ROLE}")
    yield APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def raw_count(table, *, spa_id="", cross="off", spa_filter=None):
    """count(*) of ``table`` by raw SQL (no ORM, no django-scopes), with the given tenant setting."""
    connection.execute_wrappers.remove(rls.assert_tenant)  # set the values ourselves
    try:
        with connection.cursor() as cursor:
            cursor.execute(rls.SET_TENANT, [spa_id, cross])
            where = " WHERE spa_id = %s" if spa_filter is not None else ""
            cursor.execute(
                f"SELECT count(*) FROM {connection.ops.quote_name(table)}{where}",  # noqa: S608 - our own table names
                [spa_filter] if where else [],
            )
            return cursor.fetchone()[0]
    finally:
        connection.execute_wrappers.append(rls.assert_tenant)


def test_every_tenant_table_is_walled(db):
    tables = rls.tenant_tables()
    assert "referrals_referral" in tables and "spas_auditevent" in tables and "outreach_gift" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relrowsecurity AND relforcerowsecurity",
            [tables],
        )
        forced = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT tablename FROM pg_policies WHERE policyname = %s", [rls.POLICY])
        with_policy = {row[0] for row in cursor.fetchall()}
    assert set(tables) - forced == set()
    assert set(tables) - with_policy == set()


def test_every_model_with_a_spa_is_a_tenant_model_so_no_table_slips_past_the_wall():
    """RLS finds its tables as TenantModel's subclasses (issue 16): a spa column declared by hand would be missed."""
    spa_model = apps.get_model(settings.TENANT_MODEL)
    with_a_spa = {
        model._meta.label
        for model in apps.get_models()
        if any(field.name == "spa" and field.related_model is spa_model for field in model._meta.concrete_fields)
    }
    tenant_models = {model._meta.label for model in apps.get_models() if issubclass(model, TenantModel)}

    assert with_a_spa == tenant_models
    assert len(tenant_models) >= 50
    assert set(rls.tenant_tables()) == {apps.get_model(label)._meta.db_table for label in tenant_models}


def test_the_probe_role_is_what_production_connects_as(as_app_role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_without_the_setting_every_tenant_table_is_empty(world, as_app_role):
    for table in rls.tenant_tables():
        assert raw_count(table) == 0, table


def test_with_one_spa_s_setting_no_row_of_another_spa_is_visible(world, spa, other_spa, as_app_role):
    seen_something = set()
    for table in rls.tenant_tables():
        assert raw_count(table, spa_id=str(spa.pk), spa_filter=other_spa.pk) == 0, table
        if raw_count(table, spa_id=str(spa.pk)):
            seen_something.add(table)
    # The wall is not a wall of nothing: the spa's own rows are there.
    assert {"referrals_referral", "partners_practice", "spas_membership"} <= seen_something


def test_cross_tenant_sees_every_spa(world, spa, other_spa, as_app_role):
    assert raw_count("referrals_referral", cross="on") == 2


def test_a_write_into_another_spa_is_refused(world, spa, other_spa, as_app_role):
    connection.execute_wrappers.remove(rls.assert_tenant)
    try:
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(rls.SET_TENANT, [str(spa.pk), "off"])
            cursor.execute(
                "INSERT INTO spas_auditevent (spa_id, action, object_type, object_id, actor_label, detail, "
                "created_at) VALUES (%s, 'x', '', '', '', '{}', now())",
                [other_spa.pk],
            )
    finally:
        connection.execute_wrappers.append(rls.assert_tenant)


def test_an_update_of_another_spa_s_rows_changes_nothing(world, spa, other_spa, as_app_role):
    connection.execute_wrappers.remove(rls.assert_tenant)
    try:
        with connection.cursor() as cursor:
            cursor.execute(rls.SET_TENANT, [str(spa.pk), "off"])
            cursor.execute(
                "UPDATE referrals_referral SET patient_last_name = 'hacked' WHERE spa_id = %s", [other_spa.pk]
            )
            assert cursor.rowcount == 0
    finally:
        connection.execute_wrappers.append(rls.assert_tenant)


# --- the application, running as the plain role --------------------------------------------------------


def test_the_workspace_works_and_stays_in_its_spa(world, spa, owner, other_spa, outsider, client_for, as_app_role):
    inbox = client_for(owner).get(reverse("referrals:inbox", args=[spa.slug]))
    assert inbox.status_code == 200
    body = inbox.content.decode()
    assert f"Patient-of-{spa.slug}" in body and f"Patient-of-{other_spa.slug}" not in body
    assert client_for(outsider).get(reverse("referrals:inbox", args=[spa.slug])).status_code == 404
    dashboard = client_for(owner).get(reverse("insights:dashboard", args=[spa.slug]))
    assert dashboard.status_code == 200


def test_writes_through_the_app_land_in_the_right_spa(world, spa, owner, client_for, as_app_role):
    practice = world[spa.slug]
    response = client_for(owner).post(
        reverse("outreach:touchpoint_log", args=[spa.slug, practice.public_id]),
        {"kind": "phone_call", "occurred_on": "2026-01-05"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        assert AuditEvent.objects.filter(spa=spa, action="touchpoint.logged").count() == 1


def test_the_landing_page_resolves_a_code_across_spas_and_saves_in_the_code_s_spa(world, other_spa, as_app_role):
    code = f"C{other_spa.pk}XYZ"[:6].upper()
    page = Client().get(f"/r/{code}")
    assert page.status_code == 200
    assert other_spa.name in page.content.decode()


def test_the_api_works_inside_its_key_s_spa(world, spa, owner, as_app_role):
    practice = world[spa.slug]
    with scope(spa=spa):
        _key, raw_key = api_key_create(spa=spa, practice=practice, name="probe", actor=owner)
        referral = Referral.objects.get(spa=spa)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get(f"/api/v1/referrals/{referral.public_id}/").status_code == 200
    assert client.get(f"/api/v1/referrals/{uuid.uuid4()}/").status_code == 404


@shared_task(base=SpaTask, name="tests.rls_membership_probe")
def membership_probe(spa_id):
    """What a task of ``spa_id`` can see of the memberships table: only its own spa's rows."""
    return sorted(set(Membership.objects.values_list("spa_id", flat=True)))


def test_a_spa_task_runs_inside_its_spa(world, spa, other_spa, as_app_role):
    assert membership_probe.apply(args=[spa.pk]).get() == [spa.pk]
    assert membership_probe.apply(args=[other_spa.pk]).get() == [other_spa.pk]


# --- how the setting travels: in front of plain statements, on its own before anything else ----------------


def _statements_sent(run):
    """(result of run(), the SQL each statement reached the driver with)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):  # inside spas.rls's wrapper: sees what it passes on
        result = run()
    return result, sent


def test_a_plain_statement_carries_its_tenant_setting_in_the_same_query(world, spa, other_spa, as_app_role):
    with scope(spa=spa):
        names, sent = _statements_sent(lambda: list(Referral.objects.values_list("patient_last_name", flat=True)))

    assert names == [f"Patient-of-{spa.slug}"]
    [statement] = sent
    assert statement.startswith(rls.tenant_prefix(str(spa.pk), "off"))
    assert rls.without_tenant_prefix(statement).startswith('SELECT "referrals_referral"."patient_last_name"')


def test_a_server_side_cursor_gets_its_setting_as_a_statement_of_its_own(world, spa, as_app_role):
    # DECLARE … CURSOR FOR takes exactly one statement: a prefix there would be a syntax error.
    with scope(spa=spa), transaction.atomic():
        names, sent = _statements_sent(
            lambda: [referral.patient_last_name for referral in Referral.objects.iterator(chunk_size=1)]
        )

    assert names == [f"Patient-of-{spa.slug}"]
    assert not any(statement.startswith("SELECT set_config") for statement in sent)


def test_a_statement_that_cannot_share_a_query_string_gets_the_setting_before_it(world, spa, as_app_role):
    with scope(spa=spa), connection.cursor() as cursor:
        cursor.execute("SHOW app.spa_id")
        assert cursor.fetchone() == (str(spa.pk),)
    with scopes_disabled(), connection.cursor() as cursor:
        cursor.execute("SHOW app.cross_tenant")
        assert cursor.fetchone() == ("on",)


def test_the_prefix_is_only_ever_a_spa_id_and_a_flag(db):
    assert rls.tenant_prefix("42", "off") == (
        "SELECT set_config('app.spa_id', '42', false), set_config('app.cross_tenant', 'off', false); "
    )
    for spa_id, cross in [("42'; DROP TABLE x; --", "off"), ("", "maybe"), ("4%s", "on")]:
        with pytest.raises(ValueError, match="Not a tenant setting"):
            rls.tenant_prefix(spa_id, cross)
    assert rls.without_tenant_prefix(rls.tenant_prefix("", "on") + "SELECT 1") == "SELECT 1"
    assert rls.without_tenant_prefix("SELECT 1") == "SELECT 1"
