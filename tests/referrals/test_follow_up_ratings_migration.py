"""The migrations that create the rating figures (referrals 0023) and fill them (0024): a deployment with answers
starts with the right figures.

The database is taken back to referrals 0022 (answers, no figures), answers are stored through that layout's own
models in two spas on two calendars, and the migrations run forward, the filling one on PostgreSQL as a plain role,
whom row-level security binds as it binds the tables' owner who runs ``migrate`` in production: a migration that
forgot to read across tenants would count nothing.
"""

import datetime
import zoneinfo
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scope, scopes_disabled

from referrals.followup import ratings
from referrals.models import RatingMonthFigures
from spas.models import Spa

# The answers' layout before 0023, with the other apps where 0023 found them (their state, for the models here).
BEFORE = [
    ("referrals", "0022_follow_up_channel"),
    ("infra", "0002_outgoing_text"),
    ("partners", "0006_prospect_imports"),
    ("spas", "0010_spa_postal_code_and_coordinates"),
]
TABLE_CREATED = [*BEFORE[1:], ("referrals", "0023_follow_up_rating_figures")]
FILLED = [*BEFORE[1:], ("referrals", "0024_follow_up_ratings_filled")]
PLAIN_ROLE = "spa_ratings_migration_probe"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextmanager
def _as_a_plain_role():
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {PLAIN_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$;"
        )
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {PLAIN_ROLE}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {PLAIN_ROLE}")
        cursor.execute(f"SET ROLE {PLAIN_ROLE}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _answers_in_the_old_layout(old_apps):
    Spa = old_apps.get_model("spas", "Spa")
    Practice = old_apps.get_model("partners", "Practice")
    Referral = old_apps.get_model("referrals", "Referral")
    PatientFollowUp = old_apps.get_model("referrals", "PatientFollowUp")
    SatisfactionResponse = old_apps.get_model("referrals", "SatisfactionResponse")
    made = {}

    def answers(spa, practice, given):
        for index, (score, submitted_at) in enumerate(given):
            referral = Referral.objects.create(
                spa=spa,
                practice=practice,
                channel="phone",
                patient_first_name="Pat",
                patient_last_name=f"Answered {index}",
                consent_method="verbal",
                consent_captured_by="Front desk",
                first_contact_due_at=submitted_at,
                status="completed",
            )
            follow_up = PatientFollowUp.objects.create(
                spa=spa, referral=referral, practice=practice, state="sent", due_at=submitted_at
            )
            SatisfactionResponse.objects.create(
                spa=spa, follow_up=follow_up, practice=practice, score=score, submitted_at=submitted_at
            )

    with scopes_disabled():
        east = Spa.objects.create(name="East Spa", slug="east-spa", timezone="America/New_York")
        tokyo = Spa.objects.create(name="Tokyo Spa", slug="tokyo-spa", timezone="Asia/Tokyo")
        glow = Practice.objects.create(spa=east, name="Glow", specialty="dermatology")
        calm = Practice.objects.create(spa=east, name="Calm", specialty="oncology")
        sakura = Practice.objects.create(spa=tokyo, name="Sakura", specialty="dermatology")
        march_end = datetime.datetime(2026, 3, 31, 22, 0, tzinfo=NEW_YORK)  # April 1, 11:00 in Tokyo
        answers(east, glow, [(5, march_end), (3, march_end), (4, march_end + datetime.timedelta(hours=3))])
        answers(east, calm, [(2, march_end)])
        answers(tokyo, sakura, [(1, march_end), (5, march_end)])
        made.update(east=east.pk, tokyo=tokyo.pk, glow=glow.pk, calm=calm.pk, sakura=sakura.pk)
    return made


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_answers_already_given_on_each_spas_calendar():
    try:
        ids = _answers_in_the_old_layout(_migrate(BEFORE))
        _migrate(TABLE_CREATED)  # DDL: the tables' owner
        with _as_a_plain_role():
            _migrate(FILLED)
    finally:
        _migrate(_latest())  # whatever happened, the next test finds the database as it expects

    march, april = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)
    with scopes_disabled():
        spas = Spa.objects.in_bulk([ids["east"], ids["tokyo"]])
        rows = RatingMonthFigures.objects.order_by("spa_id", "practice_id", "month")
        assert [(row.practice_id, row.month, row.answers, row.score_sum) for row in rows] == [
            (ids["glow"], march, 2, 8),
            (ids["glow"], april, 1, 4),  # 01:00 on April 1 in New York
            (ids["calm"], march, 1, 2),
            (ids["sakura"], april, 2, 6),  # the same moment is April in Tokyo
        ]
    for spa in spas.values():
        with scope(spa=spa):
            assert ratings.differences(spa) == []
