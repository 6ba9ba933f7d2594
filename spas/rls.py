"""The second wall: PostgreSQL row-level security on every tenant table, in step with django-scopes.

django-scopes is the first wall: a query on a tenant model outside ``scope(spa=…)`` raises. This module
makes the database enforce the same rule, so a bug that slips past the ORM (a raw query, a forgotten
filter, a save through the wrong path) still cannot read or write another spa's rows.

- **Policies** (``rls_enable``, run after every ``migrate``): each tenant model's table (``TenantModel``) gets
  ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` and one policy ``tenant_isolation``: a row is visible and
  writable only when ``spa_id`` equals the setting ``app.spa_id``, or when ``app.cross_tenant`` is
  ``on``. With neither set a tenant table is empty. Rows without a spa (account emails) are visible
  only cross-tenant. New tenant tables are covered by the next ``migrate`` (tests check every one is).
- **The setting** follows the active django-scopes state: inside ``scope(spa=X)`` (what the tenancy
  middleware, the portal and API checks and the Celery ``SpaTask`` base activate) it is X; inside
  ``scopes_disabled()`` (jobs over all spas, lookups that precede knowing the spa) it is
  cross-tenant; otherwise nothing. A database execute wrapper asserts it on the connection with every
  statement — never cached, so a rolled-back transaction or savepoint cannot leave a stale tenant
  behind. For plain DML (SELECT, INSERT, UPDATE, DELETE, WITH, savepoints) the ``set_config`` travels
  in front of the statement in the same query string, one round trip instead of two (psycopg2 returns
  the last statement's result); anything else (DDL, VACUUM, server-side cursors, executemany) gets it
  as a statement of its own. (It is a session setting re-asserted per statement: do not put a
  transaction-pooling PgBouncer between the app and PostgreSQL.)
- **Roles**: policies bind every role but superusers and roles with BYPASSRLS. The application connects
  as a plain role (``DATABASE_URL``); migrations run as the tables' owner, which grants the app role its
  table privileges (``DATABASE_APP_ROLE``). See README → Tenancy.

SQLite (the embedded default) has no row-level security; nothing here runs there.
"""

import logging
import re

from django.apps import apps
from django.conf import settings
from django.db import connections
from django_scopes.state import get_scope
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from infra.tenant_models import TenantModel

logger = logging.getLogger(__name__)

POLICY = "tenant_isolation"
CONDITION = (
    "current_setting('app.cross_tenant', true) = 'on' "
    "OR spa_id = NULLIF(current_setting('app.spa_id', true), '')::bigint"
)
SET_TENANT = "SELECT set_config('app.spa_id', %s, false), set_config('app.cross_tenant', %s, false)"
# Statements that may share a query string with the setting: they run inside a transaction block (an
# implicit one in autocommit), unlike VACUUM or CREATE INDEX CONCURRENTLY.
_PREFIXABLE = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
_PREFIX_START = "SELECT set_config('app.spa_id', '"


def tenant_tables():
    """The database tables of every concrete tenant model (a subclass of ``infra.tenant_models.TenantModel``)."""
    return sorted(
        {model._meta.db_table for model in apps.get_models() if issubclass(model, TenantModel) and model._meta.managed}
    )


def current_tenant_setting():
    """(app.spa_id, app.cross_tenant) for the django-scopes state active in this context."""
    state = get_scope()
    if not state.get("_enabled", True):
        return "", "on"
    spa = state.get("spa")
    if spa is None or isinstance(spa, list | tuple | set):
        return "", "off"
    return str(getattr(spa, "pk", spa)), "off"


def tenant_prefix(spa_id, cross):
    """The setting as literal SQL to put in front of a statement (no ``%``: safe with or without params)."""
    if not (spa_id == "" or spa_id.isdigit()) or cross not in ("on", "off"):
        raise ValueError(f"Not a tenant setting: {spa_id!r}, {cross!r}")
    return f"{_PREFIX_START}{spa_id}', false), set_config('app.cross_tenant', '{cross}', false); "


def without_tenant_prefix(sql):
    """The statement as the ORM wrote it, for tools that look at executed SQL (EXPLAIN in the bench)."""
    return sql.split("; ", 1)[1] if sql.startswith(_PREFIX_START) else sql


def assert_tenant(execute, sql, params, many, context):
    """Execute wrapper: set the tenant for this statement, then run it.

    Not in a failed transaction (only its ROLLBACK can run there, and it reads no table).
    """
    connection = context["connection"]
    raw = connection.connection
    if raw.get_transaction_status() == TRANSACTION_STATUS_INERROR:
        return execute(sql, params, many, context)
    spa_id, cross = current_tenant_setting()
    named_cursor = getattr(context["cursor"].cursor, "name", None)  # DECLARE … FOR takes one statement
    if not many and not named_cursor and _PREFIXABLE.match(sql):
        return execute(tenant_prefix(spa_id, cross) + sql, params, many, context)
    # Through Django's error wrapping, so a dead connection is noticed and replaced like any other.
    with connection.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(SET_TENANT, [spa_id, cross])
    return execute(sql, params, many, context)


def install(sender=None, connection=None, **kwargs):
    """connection_created handler: wrap every statement of a PostgreSQL connection (once)."""
    if connection is None or connection.vendor != "postgresql":
        return
    if assert_tenant not in connection.execute_wrappers:
        connection.execute_wrappers.append(assert_tenant)


def rls_enable(using="default"):
    """Enable and force row-level security with the tenant policy on every tenant table. Idempotent."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = tenant_tables()
    app_role = getattr(settings, "DATABASE_APP_ROLE", "")
    with connection.cursor() as cursor:
        # Skip what is already walled (flush re-sends post_migrate after every transactional test).
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relrowsecurity AND c.relforcerowsecurity "
            "AND EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname AND p.tablename = c.relname "
            "AND p.policyname = %s)",
            [POLICY],
        )
        walled = {row[0] for row in cursor.fetchall()}
        for table in tables:
            if table in walled:
                continue
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quoted}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {quoted} USING ({CONDITION}) WITH CHECK ({CONDITION})")
        if app_role:
            role = connection.ops.quote_name(app_role)
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return tables


def after_migrate(sender, using="default", **kwargs):
    """post_migrate handler: keep every tenant table walled (new ones included)."""
    if sender.name != "spas":  # sent once per app; every table exists by then, so once is enough
        return
    tables = rls_enable(using=using)
    if tables:
        logger.info("Row-level security on %s tenant tables.", len(tables))
