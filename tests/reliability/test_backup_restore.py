"""Issue 17 §7: the backup that docs/operations.md prescribes restores into a working application.

The database is dumped as docs/operations.md says (``pg_dump --format=custom``), restored into a fresh database
(``createdb`` + ``pg_restore``), and the application is started on the copy in a separate process: its checks
pass and a referral written before the dump reads back, row-level security policies included.
"""

import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection
from django_scopes import scope

from spas import rls
from tests.conftest import postgres_only
from tests.factories import PracticeFactory, ReferralFactory

pytestmark = postgres_only


def _client_args(database):
    return [
        "--host",
        database["HOST"] or "127.0.0.1",
        "--port",
        str(database["PORT"] or 5432),
        "--username",
        database["USER"],
    ]


def _run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_serves_a_known_referral(spa, tmp_path):
    with scope(spa=spa):
        practice = PracticeFactory(spa=spa, name="Restored Dermatology")
        referral = ReferralFactory(spa=spa, practice=practice, patient_first_name="Persephone")
    database = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""}
    client = _client_args(database)
    dump = tmp_path / "spa_referrals.dump"
    restored = f"{database['NAME']}_restored_{uuid.uuid4().hex[:8]}"

    _run(["pg_dump", "--format=custom", *client, "--file", str(dump), database["NAME"]], env)
    _run(["createdb", *client, restored], env)
    try:
        _run(["pg_restore", "--exit-on-error", "--no-owner", *client, "--dbname", restored, str(dump)], env)
        app_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "spa_referrals.settings.test",
            "DATABASE_URL": f"postgres://{database['USER']}@{client[1]}:{client[3]}/{restored}",
        }
        code = (
            "import sys\n"
            "import django\n"
            "django.setup()\n"
            "from django.core.management import call_command\n"
            "from django_scopes import scopes_disabled\n"
            "from referrals.models import Referral\n"
            "from spas import rls\n"
            "call_command('check')\n"
            "with scopes_disabled():\n"
            "    referral = Referral.objects.select_related('practice').get(public_id=sys.argv[1])\n"
            "print(referral.patient_first_name, referral.practice.name, sep='|')\n"
            "from django.db import connection\n"
            "with connection.cursor() as cursor:\n"
            "    cursor.execute('SELECT count(*) FROM pg_policies WHERE policyname = %s', [rls.POLICY])\n"
            "    print(cursor.fetchone()[0])\n"
        )
        output = _run([sys.executable, "-c", code, str(referral.public_id)], app_env).strip().splitlines()

        assert output[-2] == "Persephone|Restored Dermatology"
        assert int(output[-1]) == len(rls.tenant_tables())
    finally:
        subprocess.run(["dropdb", "--force", *client, restored], env=env, capture_output=True, timeout=120)
