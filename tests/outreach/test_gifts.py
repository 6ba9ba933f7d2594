"""The gift ledger's rules (outreach/gifts/services.py): the yearly limit, the 80% warning, cash refused, an owner's
override past 100%, calendar years, per-recipient totals, the touchpoint, corrections, concurrency."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope, scopes_disabled
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.gifts import selectors as gifts_selectors
from outreach.gifts import services as gifts_services
from outreach.models import Gift, GiftKind, GiftLimit, Touchpoint, TouchpointParticipant

from ..conftest import postgres_only
from .helpers import make_clinician, make_contact, make_practice, rows

TODAY = "2026-06-15 16:00:00"  # noon in New York


@pytest.fixture
def practice(spa):
    return make_practice(spa, name="Glow Dermatology")


@pytest.fixture
def patel(practice):
    return make_clinician(practice, first_name="Priya", last_name="Patel", credentials="MD")


@pytest.fixture
def rosa(practice):
    return make_contact(practice, name="Rosa Alvarez", role="office_manager")


def record(spa, person, value, *, actor, given_on=datetime.date(2026, 3, 2), kind=GiftKind.MEAL, **extra):
    with scope(spa=spa):
        return gifts_services.gift_record(
            spa=spa,
            practice=extra.pop("practice", person.practice),
            recipient=person,
            given_on=given_on,
            kind=kind,
            description=extra.pop("description", "Lunch at the practice"),
            fair_market_value=Decimal(value) if isinstance(value, str) else value,
            actor=actor,
            **extra,
        )


def refusal(call):
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- the limit of a year ---------------------------------------------------------------------------


def test_the_published_figure_is_the_default_limit(spa):
    with scope(spa=spa):
        limit = gifts_selectors.gift_limit_for(spa=spa, year=2026)
    assert limit.amount == Decimal("535")
    assert limit.source == "published"
    assert "published by CMS" in limit.note
    with scope(spa=spa):
        assert gifts_selectors.gift_limit_for(spa=spa, year=2024).amount == Decimal("507")


def test_a_year_without_a_published_figure_uses_the_latest_one_before_it_and_says_so(spa):
    with scope(spa=spa):
        limit = gifts_selectors.gift_limit_for(spa=spa, year=2027)
    assert limit.amount == Decimal("535")
    assert limit.is_provisional
    assert limit.from_year == 2026
    assert limit.note == "Not yet published for 2027; using 2026's $535.00 — set it when CMS publishes."


def test_the_spas_own_figure_wins_and_carries_into_later_unpublished_years(spa, owner):
    with scope(spa=spa):
        gifts_services.gift_limit_set(spa=spa, year=2027, limit=Decimal("550.00"), actor=owner)
        assert gifts_selectors.gift_limit_for(spa=spa, year=2027).amount == Decimal("550.00")
        assert gifts_selectors.gift_limit_for(spa=spa, year=2027).source == "spa"
        later = gifts_selectors.gift_limit_for(spa=spa, year=2028)
        gifts_services.gift_limit_set(spa=spa, year=2026, limit=Decimal("300"), actor=owner)
        assert gifts_selectors.gift_limit_for(spa=spa, year=2026).amount == Decimal("300")
    assert later.amount == Decimal("550.00")
    assert later.note == "Not yet published for 2028; using your 2027 figure of $550.00 — set it when CMS publishes."
    events = rows(AuditEvent, spa=spa, action="gift_limit.set")
    assert {event.detail["year"] for event in events} == {2026, 2027}


def test_clearing_the_spas_figure_brings_back_the_published_one(spa, owner):
    with scope(spa=spa):
        gifts_services.gift_limit_set(spa=spa, year=2026, limit=Decimal("400"), actor=owner)
        assert gifts_services.gift_limit_clear(spa=spa, year=2026, actor=owner)
        assert gifts_selectors.gift_limit_for(spa=spa, year=2026).amount == Decimal("535")
    assert rows(GiftLimit, spa=spa) == []
    assert len(rows(AuditEvent, spa=spa, action="gift_limit.cleared")) == 1


def test_a_year_before_any_known_figure_uses_the_earliest_and_says_so(spa):
    with scope(spa=spa):
        limit = gifts_selectors.gift_limit_for(spa=spa, year=2019)
    assert limit.amount == Decimal("507")
    assert "No limit is known for 2019" in limit.note


def test_a_limit_is_refused_outside_sensible_years_and_amounts(spa, owner):
    with scope(spa=spa):
        assert "year" in refusal(
            lambda: gifts_services.gift_limit_set(spa=spa, year=1999, limit=Decimal("500"), actor=owner)
        )
        assert "limit" in refusal(
            lambda: gifts_services.gift_limit_set(spa=spa, year=2026, limit=Decimal("-1"), actor=owner)
        )
    assert rows(GiftLimit, spa=spa) == []


def test_a_recorded_gift_counts_against_the_spas_own_limit(spa, owner, manager_user, patel):
    with scope(spa=spa):
        gifts_services.gift_limit_set(spa=spa, year=2026, limit=Decimal("100"), actor=owner)
    with freeze_time(TODAY):
        recorded = record(spa, patel, "80.00", actor=manager_user)
        assert recorded.standing.state == "warning"
        errors = refusal(lambda: record(spa, patel, "20.01", actor=manager_user))
    assert "over the $100.00 limit" in errors["fair_market_value"][0]


# --- warning at 80%, refusal past 100% -------------------------------------------------------------


@freeze_time(TODAY)
def test_a_gift_under_80_percent_is_recorded_without_a_warning(spa, staff_user, patel):
    recorded = record(spa, patel, "427.99", actor=staff_user)
    assert recorded.standing.state == "ok"
    assert not recorded.warning
    assert recorded.standing.total == Decimal("427.99")
    assert recorded.standing.percent == 79


@freeze_time(TODAY)
def test_the_limit_warns_at_80_percent_and_the_gift_is_recorded(spa, staff_user, patel):
    record(spa, patel, "400.00", actor=staff_user)
    recorded = record(spa, patel, "28.00", actor=staff_user)  # 428.00 = 80% of 535.00
    assert recorded.warning
    assert recorded.standing.state == "warning"
    assert recorded.standing.percent == 80
    assert recorded.standing.remaining == Decimal("107.00")
    assert len(rows(Gift, spa=spa)) == 2


@freeze_time(TODAY)
def test_reaching_exactly_the_limit_is_allowed_with_a_warning(spa, staff_user, patel):
    recorded = record(spa, patel, "535.00", actor=staff_user)
    assert recorded.standing.state == "warning"
    assert recorded.gift.override_by is None


@freeze_time(TODAY)
def test_going_over_the_limit_is_refused_for_a_manager_even_with_a_reason(spa, manager_user, patel):
    record(spa, patel, "500.00", actor=manager_user)
    errors = refusal(lambda: record(spa, patel, "35.01", actor=manager_user, override_reason="Retirement party"))
    message = errors["fair_market_value"][0]
    assert "Priya Patel, MD's gifts in 2026 to $535.01, over the $535.00 limit by $0.01" in message
    assert "Going over needs an owner's recorded override with a reason" in message
    assert len(rows(Gift, spa=spa)) == 1
    assert rows(AuditEvent, spa=spa, action="gift.limit_overridden") == []


@freeze_time(TODAY)
def test_going_over_the_limit_is_refused_for_staff(spa, staff_user, patel):
    errors = refusal(lambda: record(spa, patel, "600.00", actor=staff_user, override_reason="Because"))
    assert "owner's recorded override" in errors["fair_market_value"][0]
    assert rows(Gift, spa=spa) == []


@freeze_time(TODAY)
def test_an_owner_going_over_without_a_reason_is_refused_beside_the_reason(spa, owner, patel):
    record(spa, patel, "500.00", actor=owner)
    errors = refusal(lambda: record(spa, patel, "50.00", actor=owner, override_reason="   "))
    assert "Going over needs an owner's recorded override: write the reason" in errors["override_reason"][0]
    assert len(rows(Gift, spa=spa)) == 1


@freeze_time(TODAY)
def test_an_owner_with_a_reason_goes_over_and_the_override_is_recorded_and_audited(spa, owner, patel):
    record(spa, patel, "500.00", actor=owner)
    recorded = record(spa, patel, "50.00", actor=owner, override_reason="Retirement dinner agreed with counsel")
    gift = rows(Gift, spa=spa, pk=recorded.gift.pk)[0]
    assert gift.override_reason == "Retirement dinner agreed with counsel"
    assert gift.override_by == owner
    assert gift.override_at is not None
    assert recorded.overridden
    assert recorded.standing.state == "over"
    assert recorded.standing.over_by == Decimal("15.00")
    [event] = rows(AuditEvent, spa=spa, action="gift.limit_overridden")
    assert event.actor == owner
    assert event.detail == {"reason": "Retirement dinner agreed with counsel", "year_total": "550.00", "limit": "535"}


@freeze_time(TODAY)
def test_a_reason_given_while_under_the_limit_is_not_stored_as_an_override(spa, owner, patel):
    recorded = record(spa, patel, "50.00", actor=owner, override_reason="Just in case")
    assert recorded.gift.override_reason == ""
    assert recorded.gift.override_by is None


# --- cash and cash equivalents ---------------------------------------------------------------------


@freeze_time(TODAY)
@pytest.mark.parametrize("kind", [GiftKind.GIFT_CARD, GiftKind.CASH])
def test_cash_and_gift_cards_are_refused_with_the_reason(spa, owner, patel, kind):
    errors = refusal(lambda: record(spa, patel, "25.00", actor=owner, kind=kind, override_reason="Owner says so"))
    assert "never allowed for referral sources" in errors["kind"][0]
    assert "gift cards" in errors["kind"][0]
    assert rows(Gift, spa=spa) == []
    assert rows(Touchpoint, spa=spa) == []


# --- who and where ---------------------------------------------------------------------------------


@freeze_time(TODAY)
def test_a_recipient_who_does_not_work_at_the_chosen_practice_is_refused(spa, owner, patel):
    elsewhere = make_practice(spa, name="Back Bay OB-GYN")
    errors = refusal(lambda: record(spa, patel, "20.00", actor=owner, practice=elsewhere))
    assert errors["recipient"] == [
        "Priya Patel, MD does not work at Back Bay OB-GYN. Choose someone from this practice."
    ]
    assert rows(Gift, spa=spa) == []


@freeze_time(TODAY)
def test_a_practice_or_person_of_another_spa_is_refused(spa, other_spa, owner, patel):
    foreign_practice = make_practice(other_spa, name="Foreign Dermatology")
    foreign_person = make_clinician(foreign_practice, last_name="Foreigner")
    assert "practice" in refusal(lambda: record(spa, patel, "20.00", actor=owner, practice=foreign_practice))
    assert "recipient" in refusal(lambda: record(spa, foreign_person, "20.00", actor=owner, practice=patel.practice))
    assert rows(Gift) == []


@freeze_time(TODAY)
@pytest.mark.parametrize("value", ["-5", "0", "0.001", "1000000", "NaN", "Infinity", "1e9", "abc", 12.5], ids=str)
def test_bad_amounts_are_refused_beside_the_value(spa, owner, patel, value):
    with scope(spa=spa):
        errors = refusal(
            lambda: gifts_services.gift_record(
                spa=spa,
                practice=patel.practice,
                recipient=patel,
                given_on=datetime.date(2026, 3, 2),
                kind=GiftKind.MEAL,
                description="Lunch",
                fair_market_value=value,
                actor=owner,
            )
        )
    assert list(errors) == ["fair_market_value"]
    assert rows(Gift, spa=spa) == []


@freeze_time(TODAY)
def test_a_gift_dated_in_the_future_or_without_a_description_is_refused(spa, owner, patel):
    errors = refusal(lambda: record(spa, patel, "20.00", actor=owner, given_on=datetime.date(2026, 6, 16)))
    assert "cannot be in the future" in errors["given_on"][0]
    errors = refusal(lambda: record(spa, patel, "20.00", actor=owner, description="  "))
    assert "description" in errors


# --- calendar years and per-recipient totals -------------------------------------------------------


def test_dec_31_and_jan_1_count_in_different_years(spa, owner, patel):
    with freeze_time("2027-01-01 17:00:00"):  # noon on Jan 1 in New York
        record(spa, patel, "500.00", actor=owner, given_on=datetime.date(2026, 12, 31))
        recorded = record(spa, patel, "500.00", actor=owner, given_on=datetime.date(2027, 1, 1))
    assert recorded.standing.year == 2027
    assert recorded.standing.total == Decimal("500.00")
    assert recorded.standing.limit.is_provisional
    with scope(spa=spa):
        assert gifts_selectors.recipient_year_total(spa=spa, recipient=patel, year=2026) == Decimal("500.00")
        assert gifts_selectors.recipient_year_total(spa=spa, recipient=patel, year=2027) == Decimal("500.00")


def test_on_new_years_eve_in_the_spas_time_zone_jan_1_is_still_the_future(spa, owner, patel):
    # 03:00 UTC on Jan 1 is 22:00 on Dec 31 in New York: the spa's calendar decides.
    with freeze_time("2027-01-01 03:00:00"):
        errors = refusal(lambda: record(spa, patel, "20.00", actor=owner, given_on=datetime.date(2027, 1, 1)))
        recorded = record(spa, patel, "20.00", actor=owner, given_on=datetime.date(2026, 12, 31))
    assert "given_on" in errors
    assert recorded.standing.year == 2026


@freeze_time(TODAY)
def test_totals_are_kept_per_recipient(spa, staff_user, patel, rosa):
    colleague = make_clinician(patel.practice, first_name="Marcus", last_name="Chen", credentials="PA-C")
    record(spa, patel, "500.00", actor=staff_user)
    assert record(spa, colleague, "500.00", actor=staff_user).standing.total == Decimal("500.00")
    assert record(spa, rosa, "30.00", actor=staff_user).standing.state == "ok"
    with scope(spa=spa):
        standings = {standing.name: standing for standing in gifts_selectors.recipient_year_totals(spa=spa, year=2026)}
    assert {name: standing.total for name, standing in standings.items()} == {
        "Priya Patel, MD": Decimal("500.00"),
        "Marcus Chen, PA-C": Decimal("500.00"),
        "Rosa Alvarez": Decimal("30.00"),
    }
    assert standings["Rosa Alvarez"].role_label == "Office staff (Office manager)"
    assert standings["Priya Patel, MD"].role_label == "Clinician (MD)"


@freeze_time(TODAY)
def test_a_recipients_total_counts_gifts_given_while_at_another_practice(spa, owner, patel):
    record(spa, patel, "300.00", actor=owner)
    new_practice = make_practice(spa, name="Beacon Skin & Laser")
    with scope(spa=spa):
        patel.practice = new_practice
        patel.save(update_fields=["practice"])
    errors = refusal(lambda: record(spa, patel, "300.00", actor=owner, practice=new_practice))
    assert "over the $535.00 limit" in errors["override_reason"][0]
    with scope(spa=spa):
        [standing] = gifts_selectors.recipient_year_totals(spa=spa, year=2026, recipient=patel)
    assert standing.total == Decimal("300.00")
    assert standing.practice == new_practice


# --- the touchpoint --------------------------------------------------------------------------------


@freeze_time(TODAY)
def test_recording_a_gift_logs_a_gift_touchpoint_with_the_recipient(spa, staff_user, patel, rosa):
    record(spa, patel, "45.00", actor=staff_user, description="Lunch for the practice")
    record(spa, rosa, "18.00", actor=staff_user, kind=GiftKind.GIFT, description="Pastries")
    touchpoints = {tp.notes: tp for tp in rows(Touchpoint, spa=spa, kind="gift")}
    assert set(touchpoints) == {
        "Gift ledger: Meal — Lunch for the practice ($45.00).",
        "Gift ledger: Gift (an item) — Pastries ($18.00).",
    }
    touchpoint = touchpoints["Gift ledger: Meal — Lunch for the practice ($45.00)."]
    assert touchpoint.occurred_on == datetime.date(2026, 3, 2)
    assert touchpoint.logged_by == staff_user
    [participant] = rows(TouchpointParticipant, touchpoint=touchpoint)
    assert participant.clinician == patel
    [participant] = rows(
        TouchpointParticipant, touchpoint=touchpoints["Gift ledger: Gift (an item) — Pastries ($18.00)."]
    )
    assert participant.contact == rosa
    [event] = rows(
        AuditEvent, spa=spa, action="gift.recorded", object_id=str(rows(Gift, recipient_clinician=patel)[0].public_id)
    )
    assert event.detail["fair_market_value"] == "45.00"
    assert event.detail["touchpoint"] == str(touchpoint.public_id)


@freeze_time(TODAY)
def test_a_gift_does_not_close_an_open_task(spa, owner, patel):
    from outreach.activity.services import task_create

    with scope(spa=spa):
        task, _created = task_create(
            spa=spa,
            title="Staff service",
            kind="staff_service",
            due_on=datetime.date(2026, 6, 20),
            practice=patel.practice,
        )
    record(spa, patel, "45.00", actor=owner, kind=GiftKind.COMPLIMENTARY_SERVICE)
    with scopes_disabled():
        task.refresh_from_db()
    assert task.done_at is None


# --- removing and correcting -----------------------------------------------------------------------


@freeze_time(TODAY)
def test_an_owner_removes_an_entry_with_a_reason_and_its_touchpoint_goes_too(spa, owner, patel):
    recorded = record(spa, patel, "45.00", actor=owner)
    with scope(spa=spa):
        gifts_services.gift_delete(gift=recorded.gift, actor=owner, reason="Recorded twice")
    assert rows(Gift, spa=spa) == []
    assert rows(Touchpoint, spa=spa, kind="gift") == []
    [event] = rows(AuditEvent, spa=spa, action="gift.deleted")
    assert event.detail["reason"] == "Recorded twice"
    assert event.detail["fair_market_value"] == "45.00"
    assert event.detail["recipient_name"] == "Priya Patel, MD"


@freeze_time(TODAY)
def test_only_an_owner_removes_an_entry_and_only_with_a_reason(spa, owner, manager_user, patel):
    recorded = record(spa, patel, "45.00", actor=owner)
    with scope(spa=spa):
        with pytest.raises(ValidationError, match="Only an owner"):
            gifts_services.gift_delete(gift=recorded.gift, actor=manager_user, reason="Oops")
        assert "reason" in refusal(lambda: gifts_services.gift_delete(gift=recorded.gift, actor=owner, reason=" "))
    assert len(rows(Gift, spa=spa)) == 1


@freeze_time(TODAY)
def test_a_correction_replaces_the_entry_and_is_checked_without_it(spa, owner, patel):
    record(spa, patel, "300.00", actor=owner)
    wrong = record(spa, patel, "200.00", actor=owner).gift
    values = {
        "practice": patel.practice,
        "recipient": patel,
        "given_on": datetime.date(2026, 3, 3),
        "kind": GiftKind.MEAL,
        "description": "Lunch (corrected bill)",
        "fair_market_value": Decimal("230.00"),
    }
    with scope(spa=spa):
        corrected = gifts_services.gift_correct(gift=wrong, actor=owner, reason="Wrong bill", **values)
    assert corrected.standing.total == Decimal("530.00")
    assert sorted(gift.fair_market_value for gift in rows(Gift, spa=spa)) == [Decimal("230.00"), Decimal("300.00")]
    [event] = rows(AuditEvent, spa=spa, action="gift.corrected")
    assert event.detail == {"replaces": str(wrong.public_id), "reason": "Wrong bill"}
    assert len(rows(Touchpoint, spa=spa, kind="gift")) == 2


@freeze_time(TODAY)
def test_a_correction_that_goes_over_needs_the_reason_and_otherwise_changes_nothing(spa, owner, patel):
    record(spa, patel, "300.00", actor=owner)
    wrong = record(spa, patel, "200.00", actor=owner).gift
    values = {
        "practice": patel.practice,
        "recipient": patel,
        "given_on": datetime.date(2026, 3, 3),
        "kind": GiftKind.MEAL,
        "description": "Lunch",
        "fair_market_value": Decimal("250.00"),
    }
    with scope(spa=spa):
        errors = refusal(lambda: gifts_services.gift_correct(gift=wrong, actor=owner, reason="Wrong bill", **values))
    assert "override_reason" in errors
    assert sorted(gift.fair_market_value for gift in rows(Gift, spa=spa)) == [Decimal("200.00"), Decimal("300.00")]
    assert rows(AuditEvent, spa=spa, action="gift.deleted") == []
    assert len(rows(Touchpoint, spa=spa, kind="gift")) == 2


# --- the practice's people -------------------------------------------------------------------------


@freeze_time(TODAY)
def test_practice_standings_cover_everyone_at_the_practice_for_the_year(spa, owner, patel, rosa):
    record(spa, patel, "450.00", actor=owner)
    record(spa, patel, "99.00", actor=owner, given_on=datetime.date(2025, 12, 31))
    with scope(spa=spa):
        standings = gifts_selectors.practice_year_standings(spa=spa, practice=patel.practice, year=2026)
    assert [(standing.name, standing.total, standing.state) for standing in standings] == [
        ("Priya Patel, MD", Decimal("450.00"), "warning"),
        ("Rosa Alvarez", Decimal("0"), "ok"),
    ]


# --- two gifts at once -----------------------------------------------------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_gifts_recorded_at_once_cannot_both_slip_under_the_limit(spa, owner, patel, monkeypatch):
    real_total = gifts_selectors.recipient_year_total

    def slow_total(**kwargs):
        total = real_total(**kwargs)
        time.sleep(0.5)  # the window in which, without the lock, the other gift would read the same total
        return total

    monkeypatch.setattr(gifts_services, "recipient_year_total", slow_total)
    outcomes = []

    def give(description, delay):
        time.sleep(delay)
        try:
            with scope(spa=spa):
                gifts_services.gift_record(
                    spa=spa,
                    practice=patel.practice,
                    recipient=patel,
                    given_on=datetime.date(2026, 3, 2),
                    kind=GiftKind.MEAL,
                    description=description,
                    fair_market_value=Decimal("300.00"),
                    actor=owner,
                )
            outcomes.append("recorded")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    with freeze_time(TODAY, tick=True):
        threads = [threading.Thread(target=give, args=(name, delay)) for name, delay in (("A", 0), ("B", 0.1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["recorded", "refused"]
    assert len(rows(Gift, spa=spa)) == 1
