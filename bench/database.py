"""The bench database: created when missing, dropped for a reseed, and a marker row saying what was seeded.

The marker lives in the database itself (table ``bench_seed_marker``, outside the app's migrations), so it can
never describe a database other than the one it is in.
"""

import json

import psycopg2
from django.conf import settings
from django.db import connection
from psycopg2 import sql

MARKER_TABLE = "bench_seed_marker"


def _server_connection():
    """A connection to the server's maintenance database, for CREATE / DROP DATABASE."""
    database = settings.DATABASES["default"]
    connection_ = psycopg2.connect(
        dbname="postgres",
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
    )
    connection_.autocommit = True
    return connection_


def database_name():
    return settings.DATABASES["default"]["NAME"]


def ensure_database(*, drop=False):
    """Create the bench database (dropping it first when ``drop``). Returns True when it was (re)created."""
    connection.close()  # DROP DATABASE refuses while a session is connected; this process holds one at most
    name = database_name()
    server = _server_connection()
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cursor.fetchone() is not None
            if exists and drop:
                cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
                exists = False
            if not exists:
                cursor.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8'").format(sql.Identifier(name)))
                return True
    finally:
        server.close()
    return False


def read_marker():
    """The parameters the database was seeded with, or None (not seeded, or seeding never finished)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT params, seeded_at FROM {MARKER_TABLE} WHERE key = 'seed'")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    params, seeded_at = row
    return {"params": params if isinstance(params, dict) else json.loads(params), "seeded_at": seeded_at}


def write_marker(params):
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} "
            "(key text PRIMARY KEY, params jsonb NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (key, params) VALUES ('seed', %s) "  # noqa: S608
            "ON CONFLICT (key) DO UPDATE SET params = EXCLUDED.params, seeded_at = now()",
            [json.dumps(params, sort_keys=True)],
        )


def vacuum_analyze():
    """Fresh statistics and visibility maps, so the planner and index-only scans see the seeded data as
    a long-running database would (autovacuum would get there, but not before the first measurement)."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
