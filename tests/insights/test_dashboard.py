"""The dashboard's numbers against a small fixture computed by hand, with a spa in Los Angeles so that
"this month" and "this week" follow its calendar, not UTC's; its query budget; who may see it."""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from insights.dashboard import dashboard_figures, format_duration, month_starts
from outreach.activity.services import task_create
from outreach.models import Gift
from partners.demo import seed_partners
from partners.models import Stage
from referrals.demo import seed_referrals
from referrals.models import Referral
from spas.demo import seed_catalog, seed_spas
from spas.models import Membership, Role
from tests.factories import (
    ClinicianFactory,
    CredentialFactory,
    MembershipFactory,
    PracticeFactory,
    ReferralFactory,
    SpaFactory,
    UserFactory,
)

UTC = datetime.UTC
# 23:30 on November 30 in Los Angeles (PST, UTC−8): it is already December 1 in UTC.
NOW = datetime.datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
ONE_DAY = datetime.timedelta(days=1)


def at(text):
    """A UTC instant written as 'YYYY-MM-DD HH:MM'."""
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.fixture
def la_spa(db):
    return SpaFactory(name="Venice Beach Spa", slug="venice", timezone="America/Los_Angeles")


@pytest.fixture
def la_owner(la_spa):
    return MembershipFactory(spa=la_spa, role=Role.OWNER, user=UserFactory(email="owner@venice.example")).user


@pytest.fixture
def world(la_spa, la_owner):
    """Six referrals around the November/October boundaries, tasks, a credential and a gift."""
    spa = la_spa
    with scope(spa=spa):
        derm = PracticeFactory(spa=spa, name="Venice Dermatology", specialty="dermatology", stage=Stage.ACTIVE)
        obgyn = PracticeFactory(spa=spa, name="Santa Monica OB-GYN", specialty="ob_gyn", stage=Stage.TRIAL)
        PracticeFactory(spa=spa, name="Declined Clinic", specialty="other", stage=Stage.DECLINED, declined_reason="x")

        def referral(practice, received, **fields):
            return ReferralFactory(spa=spa, practice=practice, received_at=at(received), **fields)

        # November 30, 23:00 in LA — December 1 in UTC — belongs to November.
        referral(derm, "2026-12-01 07:00", first_contact_attempt_at=at("2026-12-01 07:30"))
        # November 1, 08:30 in LA: reached, booked and completed; first contact two hours later.
        referral(
            derm,
            "2026-11-01 16:30",
            status="completed",
            first_contact_attempt_at=at("2026-11-01 18:30"),
            contacted_at=at("2026-11-01 18:30"),
            scheduled_for=at("2026-11-05 18:00"),
            closed_at=at("2026-11-05 19:00"),
        )
        # October 31, 23:30 in LA — November 1 in UTC — belongs to October; reached, then cancelled.
        referral(
            obgyn,
            "2026-11-01 06:30",
            status="cancelled",
            first_contact_attempt_at=at("2026-11-01 07:00"),
            contacted_at=at("2026-11-01 07:00"),
            closed_at=at("2026-11-02 07:00"),
        )
        # October 1, 00:10 in LA: completed.
        referral(
            obgyn,
            "2026-10-01 07:10",
            status="completed",
            first_contact_attempt_at=at("2026-10-01 09:00"),
            contacted_at=at("2026-10-01 09:00"),
            scheduled_for=at("2026-10-03 17:00"),
            closed_at=at("2026-10-03 18:00"),
        )
        # September 30, 23:00 in LA: in the last 90 days, in neither month.
        referral(obgyn, "2026-10-01 06:00", status="declined", decline_reason="x", closed_at=at("2026-10-02 06:00"))
        # June: never contacted, long overdue.
        referral(derm, "2026-06-01 16:00", first_contact_due_at=at("2026-06-03 16:00"))

        staff = MembershipFactory(spa=spa, role=Role.STAFF).user
        today = datetime.date(2026, 11, 30)
        task_create(spa=spa, title="Mine today", due_on=today, assignee=la_owner)
        task_create(spa=spa, title="Staff today", due_on=today, assignee=staff)
        task_create(spa=spa, title="Check in", due_on=today - datetime.timedelta(days=1), kind="check_in")
        task_create(spa=spa, title="Tomorrow", due_on=today + datetime.timedelta(days=1), assignee=la_owner)
        CredentialFactory(spa=spa, person="Ana Rivera", expires_on=today + datetime.timedelta(days=20))
        CredentialFactory(spa=spa, person="Far Future", expires_on=today + datetime.timedelta(days=400))
        clinician = ClinicianFactory(spa=spa, practice=derm, first_name="Priya", last_name="Patel")
        Gift.objects.create(
            spa=spa,
            practice=derm,
            recipient_clinician=clinician,
            given_on=datetime.date(2026, 5, 2),
            kind="meal",
            description="Dinner",
            fair_market_value=Decimal("450.00"),
        )
    return {"spa": spa, "derm": derm, "obgyn": obgyn}


def figures(spa, user):
    with freeze_time(NOW), scope(spa=spa):
        return dashboard_figures(spa=spa, user=user, fresh=True)


def test_month_boundaries_follow_the_spa_s_calendar():
    assert month_starts(datetime.date(2026, 11, 30)) == (
        datetime.date(2026, 10, 1),
        datetime.date(2026, 11, 1),
        datetime.date(2026, 12, 1),
    )
    assert month_starts(datetime.date(2026, 1, 15))[0] == datetime.date(2025, 12, 1)


def test_the_numbers_match_the_hand_count(world, la_owner):
    result = figures(world["spa"], la_owner)
    referrals = result["referrals"]
    assert result["today"] == datetime.date(2026, 11, 30)
    assert (referrals["month_label"], referrals["this_month"], referrals["last_month"]) == ("November", 2, 2)
    # November 1–30 until 23:30 against October 1–30 until 23:30: October 31's referral is not in it yet.
    assert (referrals["same_days_label"], referrals["last_month_to_date"], referrals["change"]) == ("Oct 1–30", 1, 100)
    # The last 90 days: five referrals (not June's); three reached, two booked, two completed.
    assert (referrals["received"], referrals["contacted"], referrals["scheduled"], referrals["completed"]) == (
        5,
        3,
        2,
        2,
    )
    assert referrals["conversion"] == 40
    # Last 30 days with a first contact: 30 minutes and 2 hours, too few for a median.
    assert result["first_contact"] == {"median": None, "sample": 2}
    assert result["overdue_count"] == 1
    assert result["active_partners"] == 1
    assert {value: count for value, _label, count in result["pipeline"]}["declined"] == 1
    # Due today or earlier: two today (one the owner's) and yesterday's check-in; tomorrow's is not due.
    assert result["tasks"] == {"due": 3, "due_today": 2, "overdue": 1, "mine": 1, "check_ins_due": 1}
    assert [(row["practice__name"], row["count"]) for row in result["top_practices"]] == [
        ("Santa Monica OB-GYN", 3),
        ("Venice Dermatology", 2),
    ]


def _received_on(spa, practice, *local_times, zone="America/Los_Angeles"):
    """Referrals received at wall-clock times in ``zone`` ("YYYY-MM-DD HH:MM")."""
    tz = zoneinfo.ZoneInfo(zone)
    with scope(spa=spa):
        for text in local_times:
            received = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
            ReferralFactory(spa=spa, practice=practice, received_at=received)


def _month_figures(spa, user, local_now, zone="America/Los_Angeles"):
    now = datetime.datetime.strptime(local_now, "%Y-%m-%d %H:%M").replace(tzinfo=zoneinfo.ZoneInfo(zone))
    with freeze_time(now), scope(spa=spa):
        return dashboard_figures(spa=spa, user=user, fresh=True)["referrals"]


def test_a_month_so_far_is_compared_with_the_same_days_of_last_month(la_spa, la_owner):
    """On December 5 at 09:00, December 1–5 is set against November 1–5 until 09:00, not all of November."""
    with scope(spa=la_spa):
        practice = PracticeFactory(spa=la_spa)
    _received_on(la_spa, practice, "2026-11-02 10:00", "2026-11-05 08:00")  # in November 1–5 by 09:00
    _received_on(la_spa, practice, "2026-11-05 10:00", "2026-11-20 10:00", "2026-11-28 10:00")  # later
    _received_on(la_spa, practice, "2026-12-01 00:05", "2026-12-03 12:00", "2026-12-05 08:30")
    referrals = _month_figures(la_spa, la_owner, "2026-12-05 09:00")
    assert (referrals["this_month"], referrals["last_month_to_date"], referrals["last_month"]) == (3, 2, 5)
    assert referrals["same_days_label"] == "Nov 1–5"
    assert referrals["change"] == 50  # not −40 % against all five of November's


def test_a_longer_month_is_compared_with_all_of_a_shorter_one(la_spa, la_owner):
    """March 30 has no February 30: March 1–30 is set against February 1–28, all of it."""
    with scope(spa=la_spa):
        practice = PracticeFactory(spa=la_spa)
    _received_on(la_spa, practice, "2027-02-01 00:00", "2027-02-28 23:50", "2027-03-01 00:00", "2027-03-30 08:00")
    referrals = _month_figures(la_spa, la_owner, "2027-03-30 09:00")
    assert (referrals["same_days_label"], referrals["last_month_to_date"], referrals["last_month"]) == (
        "Feb 1–28",
        2,
        2,
    )
    assert (referrals["this_month"], referrals["change"]) == (2, 0)
    # On the 1st, the comparison is one day long, until the same time; across the new year it carries the year.
    assert _month_figures(la_spa, la_owner, "2027-03-01 09:00")["same_days_label"] == "Feb 1"
    assert _month_figures(la_spa, la_owner, "2027-01-05 09:00")["same_days_label"] == "Dec 1–5, 2026"


def test_the_median_time_to_first_contact_needs_five_referrals(la_spa, la_owner, client_for):
    """Four first contacts make no median ("—" with the count); the fifth does: the middle one, 2 hours."""
    with scope(spa=la_spa):
        practice = PracticeFactory(spa=la_spa)
        for minutes in (10, 30, 120, 180):
            received = NOW - datetime.timedelta(days=3)
            ReferralFactory(
                spa=la_spa,
                practice=practice,
                received_at=received,
                first_contact_attempt_at=received + datetime.timedelta(minutes=minutes),
            )
        ReferralFactory(spa=la_spa, practice=practice, received_at=NOW - datetime.timedelta(days=2))  # not yet
    assert figures(la_spa, la_owner)["first_contact"] == {"median": None, "sample": 4}
    with freeze_time(NOW):
        body = client_for(la_owner).get(reverse("insights:dashboard", args=["venice"]) + "?fresh=1").content.decode()
    assert 'id="kpi-median">—<' in body and "(4 referrals: too few for a median)" in body
    with scope(spa=la_spa):
        received = NOW - datetime.timedelta(days=1)
        ReferralFactory(
            spa=la_spa, practice=practice, received_at=received, first_contact_attempt_at=received + ONE_DAY
        )
    assert figures(la_spa, la_owner)["first_contact"] == {"median": datetime.timedelta(hours=2), "sample": 5}
    with freeze_time(NOW):
        body = client_for(la_owner).get(reverse("insights:dashboard", args=["venice"]) + "?fresh=1").content.decode()
    assert 'id="kpi-median">2 h<' in body and "5 referrals, last 30 days" in body


def test_waiting_times_read_as_people_say_them():
    hours = datetime.timedelta(hours=1)
    assert [format_duration(value) for value in (hours * 1.25, hours * 2, hours * 5.5, hours * 48, hours * 36)] == [
        "75 min",
        "2 h",
        "5.5 h",
        "2 days",
        "1.5 days",
    ]
    assert format_duration(None) == "—"


def test_the_demo_s_first_contacts_take_hours_not_zero_minutes(db):
    """The demo played each referral's story in one instant: every first contact came as the referral arrived
    and the median read "0 min". Its referrals now wait hours for their first call, as real ones do."""
    spas = {spa.slug: spa for spa, _logins in seed_spas()}  # seed_demo up to the referrals (outreach is slow)
    for spa in spas.values():
        seed_catalog(spa)
    seed_partners(spas)
    seed_referrals(spas)
    spa = spas["serenity-spa"]
    with scope(spa=spa):
        owner = Membership.objects.filter(spa=spa, role=Role.OWNER).first().user
        waits = [
            referral.first_contact_attempt_at - referral.received_at
            for referral in Referral.objects.filter(spa=spa, first_contact_attempt_at__isnull=False)
        ]
        first_contact = dashboard_figures(spa=spa, user=owner, fresh=True)["first_contact"]
    assert waits and min(waits) >= datetime.timedelta(hours=1)
    assert first_contact["sample"] >= 5 and first_contact["median"] >= datetime.timedelta(hours=1)


def test_weeks_are_the_spa_s_weeks(world, la_owner):
    weekly = figures(world["spa"], la_owner)["weekly"]
    weeks = weekly["weeks"]
    assert weeks[-1] == datetime.date(2026, 11, 30)  # Monday of this (local) week
    series = dict(weekly["series"])
    # November 30 (local) is in this week, though UTC already says December 1.
    assert series["Dermatology"][-1] == 1
    # October 31 (local, a Saturday) is in the week of October 26, not in November's first week.
    assert series["OB-GYN"][weeks.index(datetime.date(2026, 10, 26))] == 1
    assert series["OB-GYN"][weeks.index(datetime.date(2026, 9, 28))] == 2  # Sep 30 and Oct 1


def test_needs_attention_lists_overdue_referrals_expiring_credentials_and_gifts_near_the_limit(world, la_owner):
    attention = figures(world["spa"], la_owner)["attention"]
    kinds = [item.kind for item in attention]
    assert kinds.count("referral") == 1 and kinds.count("credential") == 1 and kinds.count("gift") == 1
    gift = next(item for item in attention if item.kind == "gift")
    assert gift.label == "Gifts to Priya Patel (Venice Dermatology)"
    assert gift.detail == "$450.00 of the $535.00 yearly limit"
    credential = next(item for item in attention if item.kind == "credential")
    assert "Ana Rivera" in credential.label and credential.detail == "Expires Dec 20"  # this year: no year
    referral = next(item for item in attention if item.kind == "referral")
    assert referral.url.startswith("/s/venice/referrals/")
    assert referral.detail == "First contact was due Jun 3, 9 a.m."  # on the spa's clock (16:00 UTC)


def test_a_new_month_starts_at_local_midnight(world, la_owner):
    """An hour later it is December 1, 00:30 in Los Angeles: November becomes "last month"."""
    with freeze_time(NOW + datetime.timedelta(hours=1)), scope(spa=world["spa"]):
        referrals = dashboard_figures(spa=world["spa"], user=la_owner, fresh=True)["referrals"]
    assert (referrals["month_label"], referrals["this_month"], referrals["last_month"]) == ("December", 0, 2)


def test_the_page_shows_the_figures_and_the_charts(world, la_owner, client_for):
    with freeze_time(NOW):
        response = client_for(la_owner).get(reverse("insights:dashboard", args=["venice"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="kpi-this-month">2<' in body and 'id="kpi-conversion">40%<' in body
    assert '+100% vs <span class="text-nowrap">Oct 1–30</span> (1)' in body and "2 in all of October" in body
    assert 'id="kpi-median">—<' in body and "(2 referrals: too few for a median), last 30 days" in body
    assert 'id="kpi-overdue">1<' in body
    assert 'id="kpi-tasks">3<' in body and "2 today · 1 overdue · 1 yours" in body
    assert body.count('<svg class="chart"') == 5  # the weekly chart twice: wide, and narrow for phones
    assert "Referral funnel, last 90 days" in body and 'id="funnel-table"' in body
    assert "Gifts to Priya Patel" in body


def test_an_empty_spa_gets_friendly_empty_states(owner_client, spa):
    body = owner_client.get(reverse("insights:dashboard", args=[spa.slug])).content.decode()
    assert "No referrals in the last twelve weeks" in body
    assert "Nothing needs you right now" in body
    assert "Getting started" in body


def _count_dashboard_queries(client, slug):
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("insights:dashboard", args=[slug])).status_code == 200
    return len(captured)


def test_the_dashboard_costs_the_same_number_of_queries_whatever_the_data(world, la_owner, client_for):
    client = client_for(la_owner)
    with freeze_time(NOW):
        _count_dashboard_queries(client, "venice")  # the session's first request reads a few things once
        small = _count_dashboard_queries(client, "venice")
        spa = world["spa"]
        with scope(spa=spa):
            for index in range(60):
                practice = PracticeFactory(spa=spa, name=f"Grown practice {index}", stage=Stage.ACTIVE)
                for days in (1, 9, 40, 80):
                    ReferralFactory(spa=spa, practice=practice, received_at=NOW - datetime.timedelta(days=days))
                task_create(spa=spa, title=f"Task {index}", due_on=datetime.date(2026, 11, 30), assignee=la_owner)
                CredentialFactory(spa=spa, expires_on=datetime.date(2026, 12, 10))
        large = _count_dashboard_queries(client, "venice")
    assert large == small
    assert large <= 25


def test_the_figures_are_cached_for_a_minute_and_refresh_on_request(world, la_owner, client_for):
    client = client_for(la_owner)
    url = reverse("insights:dashboard", args=["venice"])
    with freeze_time(NOW):
        _count_dashboard_queries(client, "venice")  # the session's first request reads a few things once
        cold = _count_dashboard_queries(client, "venice")
        with CaptureQueriesContext(connection) as warm:
            client.get(url)
        with CaptureQueriesContext(connection) as fresh:
            client.get(url + "?fresh=1")
    assert len(warm) < cold - 8
    assert len(fresh) == cold - 2  # everything recomputed but the navigation badges (New, overdue), cached on their own


def test_every_member_sees_the_dashboard_and_outsiders_do_not(world, la_owner, client_for, outsider_client, client):
    staff = MembershipFactory(spa=world["spa"], role=Role.STAFF).user
    assert client_for(staff).get(reverse("insights:dashboard", args=["venice"])).status_code == 200
    assert outsider_client.get(reverse("insights:dashboard", args=["venice"])).status_code == 404
    assert client.get(reverse("insights:dashboard", args=["venice"])).status_code == 302


def test_the_cache_never_crosses_spas(spa, other_spa, owner, outsider, client_for):
    with scope(spa=spa):
        ReferralFactory(spa=spa, practice=PracticeFactory(spa=spa, name="Ours Dermatology"))
    ours = client_for(owner).get(reverse("insights:dashboard", args=[spa.slug])).content.decode()
    theirs = client_for(outsider).get(reverse("insights:dashboard", args=[other_spa.slug])).content.decode()
    assert "Ours Dermatology" in ours and "Ours Dermatology" not in theirs
