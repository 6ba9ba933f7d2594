"""infra/phone_backfill.py: the batches the phone data migrations are made of (their migration test is
test_phones_migration.py)."""

from django_scopes import scopes_disabled

from infra.phone_backfill import normalize_phone_columns
from partners.models import Practice
from referrals.models import Referral
from tests.factories import PracticeFactory, ReferralFactory, SpaFactory


def _countries(*spas):
    return {spa.pk: spa.country for spa in spas}


def test_every_batch_is_rewritten_in_its_spas_country_and_a_second_run_changes_nothing(db):
    boston, london = SpaFactory(country="US"), SpaFactory(country="GB")
    typed = {
        boston: ["(617) 555-0101", "617.555.0102 x3", "+16175550103", "", "call me", "1 617 555 0104"],
        london: ["020 7946 0958", "+1 617 555 0105", "07911 123456", "617-555-0106"],
    }
    with scopes_disabled():
        made = [
            (ReferralFactory(spa=spa, practice=PracticeFactory(spa=spa), patient_phone=phone).pk, spa)
            for spa, phones in typed.items()
            for phone in phones
        ]

        report = normalize_phone_columns(
            Referral, ["patient_phone"], countries=_countries(boston, london), batch_size=2
        )
        stored = [Referral.objects.get(pk=pk).patient_phone for pk, _spa in made]

        assert stored == [
            "+16175550101",
            "+16175550102;ext=3",
            "+16175550103",
            "",
            "call me",
            "+16175550104",
            "+442079460958",
            "+16175550105",
            "+447911123456",
            "617-555-0106",  # a US national number names no UK number: left as typed at a London spa
        ]
        assert (report.rewritten, report.left_as_typed) == (6, 2)

        again = normalize_phone_columns(Referral, ["patient_phone"], countries=_countries(boston, london), batch_size=3)
        assert (again.rewritten, again.left_as_typed) == (0, 2)
        assert [Referral.objects.get(pk=pk).patient_phone for pk, _spa in made] == stored


def test_a_key_column_is_recomputed_from_the_rewritten_phone_even_when_the_phone_was_already_stored(db):
    spa = SpaFactory(country="US")
    with scopes_disabled():
        stored = PracticeFactory(spa=spa, phone="+16175550142")
        typed = PracticeFactory(spa=spa, phone="617-555-0143 ext. 9")
        Practice.objects.filter(pk__in=[stored.pk, typed.pk]).update(phone_normalized="6175550142")  # the old key

        normalize_phone_columns(Practice, ["phone"], countries=_countries(spa), keys={"phone_normalized": "phone"})

        assert list(Practice.objects.filter(spa=spa).order_by("pk").values_list("phone", "phone_normalized")) == [
            ("+16175550142", "+16175550142"),
            ("+16175550143;ext=9", "+16175550143"),
        ]


def test_a_row_of_a_spa_it_was_not_told_about_is_read_as_us(db):
    spa = SpaFactory(country="GB")
    with scopes_disabled():
        referral = ReferralFactory(spa=spa, practice=PracticeFactory(spa=spa), patient_phone="(617) 555-0101")

        normalize_phone_columns(Referral, ["patient_phone"], countries={})

        referral.refresh_from_db()
    assert referral.patient_phone == "+16175550101"
