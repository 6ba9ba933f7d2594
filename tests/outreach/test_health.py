"""Partner health: hand-built partners whose referrals, conversion, contact and check-ins make them healthy,
cooling or at risk, with the reasons in words, and the order of the list (most at risk first)."""

import datetime
import zoneinfo

import pytest
from django_scopes import scope
from freezegun import freeze_time

from outreach.health.selectors import HealthStatus, partner_health_list, practice_health
from outreach.models import CheckInCadence, Touchpoint
from partners.models import Stage
from tests.factories import ReferralFactory, SpaFactory

from .helpers import make_practice
from .test_checkins import at

NOW = at("2026-06-30 12:00")
TODAY = NOW.date()


def ago(days, hour=10):
    return at(f"{(TODAY - datetime.timedelta(days=days)).isoformat()} {hour:02d}:00")


def partner(
    spa,
    name,
    *,
    stage=Stage.ACTIVE,
    in_stage_days=400,
    recent=(),
    before=(),
    contact_days=None,
    check_in_days=None,
    cadence=None,
    **fields,
):
    """A practice in ``stage`` for ``in_stage_days``; ``recent`` / ``before``: statuses of referrals received in
    the last 3 months / the 3 months before (on June 30: April–June / January–March); the last touchpoint
    ``contact_days`` ago; the last check-in ``check_in_days`` ago (a check-in is a touchpoint too)."""
    practice = make_practice(spa, name=name, stage=stage, stage_changed_at=ago(in_stage_days), **fields)
    with scope(spa=spa):
        for index, status in enumerate(recent):
            ReferralFactory(practice=practice, received_at=ago(10 + index), status=status)
        for index, status in enumerate(before):
            ReferralFactory(practice=practice, received_at=ago(100 + index), status=status)
        if contact_days is not None:
            Touchpoint.objects.create(
                spa=spa, practice=practice, kind="phone_call", occurred_on=TODAY - datetime.timedelta(days=contact_days)
            )
        if check_in_days is not None:
            Touchpoint.objects.create(
                spa=spa, practice=practice, kind="check_in", occurred_on=TODAY - datetime.timedelta(days=check_in_days)
            )
        if cadence:
            CheckInCadence.objects.create(spa=spa, practice=practice, cadence_days=cadence)
    return practice


def health_of(practice):
    with scope(spa=practice.spa):
        return practice_health(spa=practice.spa, practice=practice, now=NOW)


def listing(spa, **kwargs):
    with scope(spa=spa):
        return partner_health_list(spa=spa, now=NOW, **kwargs)


COMPLETED = "completed"


def test_a_steady_partner_is_healthy(spa):
    practice = partner(
        spa,
        "Steady Derm",
        recent=[COMPLETED, COMPLETED, "scheduled"],
        before=[COMPLETED, "cancelled", COMPLETED],
        contact_days=10,
        check_in_days=20,
    )
    health = health_of(practice)
    assert health.status == HealthStatus.HEALTHY
    assert health.reasons == []
    assert (health.referrals_recent, health.referrals_before) == (3, 3)
    assert health.trend == "flat"
    assert health.conversion_percent == 67  # 4 of 6 in 6 months
    assert health.last_contact_on == TODAY - datetime.timedelta(days=10)
    assert health.next_check_in_on == TODAY + datetime.timedelta(days=71)
    assert health.check_in_overdue_days == 0


def test_referrals_that_stopped_put_a_partner_at_risk(spa):
    practice = partner(spa, "Stopped Derm", before=[COMPLETED] * 4, contact_days=5, check_in_days=5)
    health = health_of(practice)
    assert health.status == HealthStatus.AT_RISK
    assert health.reasons == ["No referrals in 3 months (4 the 3 months before)"]
    assert health.trend == "down"


def test_an_overdue_check_in_cools_then_endangers(spa):
    cooling = partner(spa, "Late Derm", recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=91 + 12)
    at_risk = partner(spa, "Later Derm", recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=91 + 45)
    assert health_of(cooling).status == HealthStatus.COOLING
    assert health_of(cooling).reasons == ["Check-in overdue by 12 days"]
    assert health_of(cooling).check_in_overdue_days == 12
    assert health_of(at_risk).status == HealthStatus.AT_RISK
    assert health_of(at_risk).reasons == ["Check-in overdue by 45 days"]


def test_a_practice_s_own_cadence_decides_when_a_check_in_is_overdue(spa):
    practice = partner(
        spa, "Monthly Derm", recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=40, cadence=30
    )
    assert health_of(practice).reasons == ["Check-in overdue by 10 days"]
    assert health_of(practice).custom_cadence == 30


def test_silence_cools_then_endangers(spa):
    cooling = partner(spa, "Silent Physio", stage=Stage.TRIAL, recent=[COMPLETED], before=[COMPLETED], contact_days=75)
    at_risk = partner(
        spa, "Silenter Physio", stage=Stage.TRIAL, recent=[COMPLETED], before=[COMPLETED], contact_days=130
    )
    assert (health_of(cooling).status, health_of(cooling).reasons) == (HealthStatus.COOLING, ["No contact for 75 days"])
    assert (health_of(at_risk).status, health_of(at_risk).reasons) == (
        HealthStatus.AT_RISK,
        ["No contact for 130 days"],
    )


def test_a_partner_nobody_ever_contacted_counts_from_its_stage(spa):
    practice = partner(spa, "Forgotten Chiro", stage=Stage.TRIAL, in_stage_days=75, recent=[COMPLETED])
    health = health_of(practice)
    assert health.last_contact_on is None
    assert health.reasons == ["No contact logged in 75 days as a partner"]


def test_halved_referrals_cool_a_partner(spa):
    practice = partner(spa, "Slowing Derm", recent=[COMPLETED], before=[COMPLETED] * 4, contact_days=5, check_in_days=5)
    health = health_of(practice)
    assert health.status == HealthStatus.COOLING
    assert health.reasons == ["Referrals down: 1 in 3 months (4 the 3 months before)"]


def test_referred_patients_who_rarely_complete_cool_a_partner(spa):
    practice = partner(
        spa,
        "Leaky Derm",
        recent=[COMPLETED, "cancelled", "unreachable"],
        before=["declined", "cancelled"],
        contact_days=5,
        check_in_days=5,
    )
    health = health_of(practice)
    assert health.conversion_percent == 20
    assert health.reasons == ["Only 1 of 5 referrals in 6 months completed"]
    assert health.status == HealthStatus.COOLING


def test_a_new_partner_is_not_cooling_for_not_having_referred_yet(spa):
    new = partner(spa, "New Derm", stage=Stage.TRIAL, in_stage_days=30, contact_days=3)
    old = partner(spa, "Never Refers Derm", stage=Stage.TRIAL, in_stage_days=200, contact_days=3)
    assert health_of(new).status == HealthStatus.HEALTHY
    assert health_of(new).conversion_percent is None
    assert health_of(old).reasons == ["No referrals in 6 months"]
    assert health_of(old).status == HealthStatus.COOLING


def test_a_trial_partner_has_no_check_in_cadence(spa):
    practice = partner(spa, "Trial Derm", stage=Stage.TRIAL, recent=[COMPLETED], before=[COMPLETED], contact_days=3)
    health = health_of(practice)
    assert health.next_check_in_on is None
    assert health.status == HealthStatus.HEALTHY


def test_several_reasons_are_all_given(spa):
    practice = partner(spa, "Troubled Derm", before=[COMPLETED] * 3, contact_days=80, check_in_days=91 + 50)
    health = health_of(practice)
    assert health.status == HealthStatus.AT_RISK
    assert health.reasons == [
        "No referrals in 3 months (3 the 3 months before)",
        "Check-in overdue by 50 days",
        "No contact for 80 days",
    ]


def test_the_windows_follow_the_spa_s_calendar(spa):
    """The last 3 months are calendar months on the spa's clock: on June 30, April 1 – June 30 in New York."""
    practice = partner(spa, "Edge Derm", contact_days=1, check_in_days=1)
    with scope(spa=spa):
        ReferralFactory(practice=practice, received_at=at("2026-04-01 00:05"))  # the first minute of April
        ReferralFactory(practice=practice, received_at=at("2026-03-31 23:55"))  # the 3 months before
        ReferralFactory(practice=practice, received_at=at("2026-01-01 00:05"))  # their first minute
        ReferralFactory(practice=practice, received_at=at("2025-12-31 23:55"))  # outside both
    health = health_of(practice)
    assert (health.referrals_recent, health.referrals_before) == (1, 2)


def test_the_list_is_sorted_by_risk_and_counts_each_status(spa, other_spa):
    partner(spa, "A Healthy", recent=[COMPLETED] * 2, before=[COMPLETED] * 2, contact_days=3, check_in_days=3)
    partner(spa, "B Cooling late", recent=[COMPLETED], before=[COMPLETED], contact_days=3, check_in_days=91 + 5)
    partner(spa, "C Cooling later", recent=[COMPLETED], before=[COMPLETED], contact_days=3, check_in_days=91 + 20)
    partner(spa, "D At risk once", before=[COMPLETED] * 2, contact_days=3, check_in_days=3)
    partner(spa, "E At risk twice", before=[COMPLETED] * 2, contact_days=3, check_in_days=91 + 40)
    partner(spa, "F Cooling twice", stage=Stage.TRIAL, recent=[COMPLETED], before=[COMPLETED] * 2, contact_days=70)
    partner(spa, "G Prospect", stage=Stage.PROSPECT)
    partner(spa, "H Declined", stage=Stage.DECLINED, declined_reason="No")
    partner(other_spa, "Outsider At Risk", before=[COMPLETED] * 5)
    listed, counts = listing(spa)
    assert [health.practice.name for health in listed] == [
        "E At risk twice",
        "D At risk once",
        "F Cooling twice",
        "C Cooling later",
        "B Cooling late",
        "A Healthy",
    ]
    assert counts == {"at_risk": 2, "cooling": 3, "healthy": 1, "all": 6}
    at_risk, _counts = listing(spa, status=HealthStatus.AT_RISK)
    assert [health.practice.name for health in at_risk] == ["E At risk twice", "D At risk once"]


def test_the_list_can_show_one_owner_s_partners(spa, owner, staff_user):
    partner(spa, "Owner's Derm", owner=owner, before=[COMPLETED], contact_days=3, check_in_days=3)
    partner(spa, "Staff's Derm", owner=staff_user, recent=[COMPLETED], contact_days=3, check_in_days=3)
    listed, counts = listing(spa, owner=staff_user)
    assert [health.practice.name for health in listed] == ["Staff's Derm"]
    assert counts == {"at_risk": 0, "cooling": 0, "healthy": 1, "all": 1}


def test_practices_outside_trial_and_active_have_no_health(spa):
    practice = partner(spa, "Dormant Derm", stage=Stage.DORMANT)
    assert health_of(practice) is None


@pytest.mark.parametrize("tz", ["Pacific/Auckland", "America/Los_Angeles"])
def test_days_since_contact_use_the_spa_s_today(db, tz):
    spa = SpaFactory(slug=f"health-{tz.split('/')[1].lower()}", timezone=tz)
    practice = make_practice(spa, name="Clock Derm", stage=Stage.TRIAL, stage_changed_at=at("2026-01-01 10:00"))
    with scope(spa=spa):
        Touchpoint.objects.create(spa=spa, practice=practice, kind="email", occurred_on=datetime.date(2026, 4, 20))
        moment = datetime.datetime(2026, 6, 30, 12, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))  # 00:30 Jul 1 in Auckland
        health = practice_health(spa=spa, practice=practice, now=moment)
    expected = 72 if tz == "Pacific/Auckland" else 71
    assert health.days_since_contact == expected
    assert health.reasons[-1] == f"No contact for {expected} days"


def test_the_demo_seed_sets_the_vip_cadence_runs_the_jobs_once_and_is_idempotent(spa, owner):
    from infra.models import OutgoingEmail
    from outreach.health.demo import seed_health
    from outreach.models import Task

    from .helpers import rows

    glow = partner(spa, "Glow Dermatology", owner=owner, in_stage_days=70, recent=[COMPLETED], contact_days=3)
    with scope(spa=spa):
        ReferralFactory(practice=glow, received_at=NOW - datetime.timedelta(days=2))
    with freeze_time(NOW), scope(spa=spa):
        created = seed_health(spa, owner)
        assert seed_health(spa, owner) == 0
    assert rows(CheckInCadence, practice=glow)[0].cadence_days == 60
    kinds = sorted(task.kind for task in rows(Task, spa=spa))
    assert kinds == ["check_in", "thank_you_note"]
    assert created == 2
    assert rows(OutgoingEmail, template="check-in-due") == []
