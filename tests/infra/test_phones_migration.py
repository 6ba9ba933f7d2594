"""Issue 17 §5: the data migrations that rewrite every stored phone number in E.164 (spas 0009, partners 0004,
referrals 0018, with infra/phone_backfill.py).

The database is taken back to the layout before them (spas 0008, partners 0002 with its 10-digit phone key,
referrals 0017), filled through that layout's own models with numbers as people typed them before validation,
and migrated forward. On PostgreSQL the data migrations run as a plain role, not the superuser the suite
connects as: row-level security binds it as it binds the tables' owner who runs ``migrate`` in production, so
a migration that forgot to read across tenants would find no rows and change nothing.
"""

import datetime
import logging
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_scopes import scopes_disabled

from partners.models import Clinician, OfficeContact, Practice
from referrals.models import Referral
from spas.models import Spa

BEFORE_E164 = [
    ("spas", "0008_platform_models_moved_to_infra"),
    ("partners", "0002_single_line_text_fields"),
    ("referrals", "0017_overdue_index"),
]
# The schema change (a wider key column) is DDL, which only the tables' owner may run; the data migrations after it
# are what row-level security concerns.
KEY_WIDENED = [
    ("spas", "0008_platform_models_moved_to_infra"),
    ("partners", "0003_practice_phone_key"),
    ("referrals", "0017_overdue_index"),
]
# The three data migrations themselves; later migrations (new tables, new columns) are DDL again, run as the owner.
E164_REWRITTEN = [
    ("spas", "0009_phones_in_e164"),
    ("partners", "0004_phones_in_e164"),
    ("referrals", "0018_phones_in_e164"),
]
PLAIN_ROLE = "spa_phone_migration_probe"


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@contextmanager
def _as_a_plain_role():
    """As a role without superuser or BYPASSRLS, as row-level security sees the tables' owner (PostgreSQL only)."""
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
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def _fill_the_old_layout(old_apps):
    """Rows as they were stored before validation, in a US and a GB spa; returns their ids by name."""
    Spa = old_apps.get_model("spas", "Spa")
    Practice = old_apps.get_model("partners", "Practice")
    Clinician = old_apps.get_model("partners", "Clinician")
    OfficeContact = old_apps.get_model("partners", "OfficeContact")
    Referral = old_apps.get_model("referrals", "Referral")
    boston = Spa.objects.create(
        name="Boston Spa", slug="boston-spa", country="US", phone="(617) 555-0100", referral_phone="1 617 555 0101 x2"
    )
    london = Spa.objects.create(
        name="London Spa", slug="london-spa", country="GB", phone="020 7946 0958", referral_phone="ring the desk"
    )

    def practice(spa, name, phone, fax=""):
        # phone_normalized as the old rule kept it: the last ten digits
        digits = "".join(character for character in phone if character.isdigit())
        return Practice.objects.create(
            spa=spa, name=name, specialty="dermatology", phone=phone, fax=fax, phone_normalized=digits[-10:]
        )

    def referral(spa, practice, phone):
        now = timezone.now()
        return Referral.objects.create(
            spa=spa,
            practice=practice,
            channel="phone",
            patient_first_name="Pat",
            patient_last_name="Old",
            patient_phone=phone,
            consent_method="verbal",
            consent_captured_by="Front desk",
            first_contact_due_at=now + datetime.timedelta(days=2),
        )

    with scopes_disabled():
        glow = practice(boston, "Glow", "(617) 555-0142 ext. 12", fax="617.555.0143")
        harley = practice(london, "Harley", "020 7946 0959", fax="+44 20 7946 0960")
        unreadable = practice(boston, "Old Ways", "555-0100", fax="fax it to Jo")
        clinician = Clinician.objects.create(
            spa=boston, practice=glow, first_name="Priya", last_name="Patel", phone="6175550144"
        )
        contact = OfficeContact.objects.create(spa=london, practice=harley, name="Jo", phone="07911 123456")
        return {
            "boston": boston.pk,
            "london": london.pk,
            "glow": glow.pk,
            "harley": harley.pk,
            "unreadable": unreadable.pk,
            "clinician": clinician.pk,
            "contact": contact.pk,
            "us_patient": referral(boston, glow, "1-617-555-0177").pk,
            "gb_patient": referral(london, harley, "020 7946 0961 x4").pk,
            "uk_number_at_a_us_spa": referral(boston, glow, "020 7946 0961").pk,  # names no US number
            "no_number": referral(boston, glow, "call after 5").pk,
            "no_phone": referral(boston, glow, "").pk,
        }


@pytest.mark.django_db(transaction=True)
def test_stored_numbers_are_rewritten_in_e164_read_in_each_spas_country(caplog):
    old_apps = _migrate(BEFORE_E164)
    ids = _fill_the_old_layout(old_apps)
    _migrate(KEY_WIDENED)

    with caplog.at_level(logging.INFO, logger="infra.phone_backfill"), _as_a_plain_role():
        _migrate(E164_REWRITTEN)
    _migrate(_latest())

    with scopes_disabled():
        spas = Spa.objects.in_bulk([ids["boston"], ids["london"]])
        assert [(spa.phone, spa.referral_phone) for spa in (spas[ids["boston"]], spas[ids["london"]])] == [
            ("+16175550100", "+16175550101;ext=2"),
            ("+442079460958", "ring the desk"),  # no number: left as typed
        ]
        practices = [Practice.objects.get(pk=ids[name]) for name in ("glow", "harley", "unreadable")]
        assert [(practice.phone, practice.fax, practice.phone_normalized) for practice in practices] == [
            ("+16175550142;ext=12", "+16175550143", "+16175550142"),
            ("+442079460959", "+442079460960", "+442079460959"),
            ("555-0100", "fax it to Jo", "5550100"),  # left as typed; the key is its digits
        ]
        assert Clinician.objects.get(pk=ids["clinician"]).phone == "+16175550144"
        assert OfficeContact.objects.get(pk=ids["contact"]).phone == "+447911123456"
        patients = ["us_patient", "gb_patient", "uk_number_at_a_us_spa", "no_number", "no_phone"]
        assert {name: Referral.objects.get(pk=ids[name]).patient_phone for name in patients} == {
            "us_patient": "+16175550177",
            "gb_patient": "+442079460961;ext=4",
            "uk_number_at_a_us_spa": "020 7946 0961",  # a UK national number names no US number: as typed
            "no_number": "call after 5",
            "no_phone": "",
        }
        assert Referral.objects.get(pk=ids["us_patient"]).version == 1  # the same number: not an edit

    messages = [(record.levelno, record.getMessage()) for record in caplog.records]
    summaries = {message.split(":")[0]: (level, message) for level, message in messages if "rewritten" in message}
    assert "1 left as typed" in summaries["spas_spa"][1]
    assert "2 left as typed" in summaries["partners_practice"][1]
    assert "2 left as typed" in summaries["referrals_referral"][1]
    assert summaries["referrals_referral"][0] == logging.WARNING
    assert summaries["partners_clinician"][0] == logging.INFO  # nothing left behind there
    assert [message for _level, message in messages if message.startswith("referrals_referral row")] == [
        f"referrals_referral row {ids[name]}: patient_phone left as typed (not a valid number in US)."
        for name in ("uk_number_at_a_us_spa", "no_number")
    ]
    assert not any("0961" in message or "call after" in message for _level, message in messages)  # no values
