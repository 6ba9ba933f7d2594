#!/bin/sh
# Runs once, when the compose PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# The web and worker containers connect as this plain role — no superuser, no BYPASSRLS — so the
# row-level security policies (spas/rls.py) bind them. `migrate` runs as POSTGRES_USER (the tables'
# owner) and grants this role its table privileges (DATABASE_APP_ROLE).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE ${APP_DB_USER} LOGIN PASSWORD '${APP_DB_PASSWORD}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT CONNECT ON DATABASE ${POSTGRES_DB} TO ${APP_DB_USER};
GRANT USAGE ON SCHEMA public TO ${APP_DB_USER};
SQL
