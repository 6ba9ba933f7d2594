"""Referral codes: short, unambiguous, unique, one per practice and one per clinician."""

import re

from django_scopes import scope

from partners import services
from partners.models import REFERRAL_CODE_ALPHABET, REFERRAL_CODE_LENGTH, ReferralCode, generate_referral_code

from .helpers import make_clinician, make_practice, rows

AMBIGUOUS = set("0O1IL5S8B")


def test_the_alphabet_leaves_out_characters_that_are_misread():
    assert AMBIGUOUS.isdisjoint(REFERRAL_CODE_ALPHABET)
    assert len(set(REFERRAL_CODE_ALPHABET)) == len(REFERRAL_CODE_ALPHABET)


def test_generated_codes_are_short_and_use_only_the_alphabet():
    codes = {generate_referral_code() for _ in range(2000)}

    assert all(re.fullmatch(f"[{REFERRAL_CODE_ALPHABET}]{{{REFERRAL_CODE_LENGTH}}}", code) for code in codes)
    assert len(codes) > 1990  # random, not a counter
    assert set("".join(codes)) == set(REFERRAL_CODE_ALPHABET)  # the whole alphabet is in use


def test_every_practice_and_clinician_gets_its_own_code(spa, other_spa):
    practices = [make_practice(spa, name=f"Practice {n}") for n in range(15)]
    practices += [make_practice(other_spa, name=f"Theirs {n}") for n in range(5)]
    for practice in practices[:5]:
        with scope(spa=practice.spa):
            services.clinician_save(practice=practice, actor=None, fields={"first_name": "A", "last_name": "B"})

    codes = rows(ReferralCode)

    assert len(codes) == 25
    assert len({code.code for code in codes}) == 25
    for practice in practices:
        practice_codes = [code for code in codes if code.practice_id == practice.pk and code.clinician_id is None]
        assert len(practice_codes) == 1


def test_a_clinicians_code_is_theirs_not_the_practices(spa):
    practice = make_practice(spa, name="Back Bay Dermatology")
    with scope(spa=spa):
        clinician = services.clinician_save(
            practice=practice, actor=None, fields={"first_name": "Priya", "last_name": "Patel"}
        )
        practice = type(practice).objects.get(pk=practice.pk)
        practice_code = practice.referral_code

    (clinician_code,) = rows(ReferralCode, clinician=clinician)
    assert clinician_code.practice_id == practice.pk
    assert practice_code != clinician_code.code
    assert rows(ReferralCode, code=practice_code)[0].clinician is None


def test_a_colliding_code_is_drawn_again(spa, monkeypatch):
    first = make_practice(spa, name="First")
    taken = rows(ReferralCode, practice=first)[0].code
    draws = iter([taken, taken, "QWERTY"])
    monkeypatch.setattr(services, "generate_referral_code", lambda: next(draws))

    second = make_practice(spa, name="Second")

    assert [code.code for code in rows(ReferralCode, practice=second)] == ["QWERTY"]
    assert [code.code for code in rows(ReferralCode, practice=first)] == [taken]


def test_codes_are_unique_across_spas_because_the_landing_page_has_no_spa(spa, other_spa, monkeypatch):
    ours = make_practice(spa, name="Ours")
    taken = rows(ReferralCode, practice=ours)[0].code
    draws = iter([taken, "HJKMNP"])
    monkeypatch.setattr(services, "generate_referral_code", lambda: next(draws))

    theirs = make_practice(other_spa, name="Theirs")

    assert [code.code for code in rows(ReferralCode, practice=theirs)] == ["HJKMNP"]


def test_a_new_clinician_made_by_a_factory_has_no_code_until_the_service_issues_one(spa):
    practice = make_practice(spa, name="Factory-made")
    clinician = make_clinician(practice)
    assert rows(ReferralCode, clinician=clinician) == []

    with scope(spa=spa):
        services.referral_code_issue(spa=spa, practice=practice, clinician=clinician)

    assert len(rows(ReferralCode, clinician=clinician)) == 1
