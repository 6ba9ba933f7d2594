"""The response clock: first contact due N business days after receipt, on the spa's wall clock."""

import datetime
import zoneinfo

import pytest
from django_scopes import scope
from freezegun import freeze_time

from referrals.clock import add_business_days
from referrals.models import ReferralSettings

from ..factories import SpaFactory
from .spa_helpers import receive_referral, reload

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def local(tz, *parts):
    return datetime.datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Monday morning → Wednesday, same time.
        (local(NEW_YORK, 2025, 6, 2, 10, 15), local(NEW_YORK, 2025, 6, 4, 10, 15)),
        # Friday afternoon → Tuesday, same time (the weekend does not count).
        (local(NEW_YORK, 2025, 6, 6, 15, 30), local(NEW_YORK, 2025, 6, 10, 15, 30)),
        # Thursday late evening → Monday, same time.
        (local(NEW_YORK, 2025, 6, 5, 23, 50), local(NEW_YORK, 2025, 6, 9, 23, 50)),
        # Saturday (any time) counts from Monday 09:00 → Wednesday 09:00.
        (local(NEW_YORK, 2025, 6, 7, 0, 5), local(NEW_YORK, 2025, 6, 11, 9, 0)),
        (local(NEW_YORK, 2025, 6, 7, 16, 45), local(NEW_YORK, 2025, 6, 11, 9, 0)),
        # Sunday likewise.
        (local(NEW_YORK, 2025, 6, 8, 22, 0), local(NEW_YORK, 2025, 6, 11, 9, 0)),
    ],
)
def test_first_contact_is_due_two_business_days_later_at_the_same_local_time(received, due):
    assert add_business_days(received.astimezone(datetime.UTC), 2, "America/New_York") == due


def test_a_friday_referral_before_spring_forward_is_due_tuesday_at_the_same_wall_clock_time():
    # US clocks go forward on Sunday 9 March 2025: 15:00 EST is 20:00 UTC, 15:00 EDT is 19:00 UTC.
    received = local(NEW_YORK, 2025, 3, 7, 15, 0)

    due = add_business_days(received, 2, "America/New_York")

    assert due == local(NEW_YORK, 2025, 3, 11, 15, 0)
    assert due.astimezone(datetime.UTC) == datetime.datetime(2025, 3, 11, 19, 0, tzinfo=datetime.UTC)
    assert due.astimezone(datetime.UTC) - received.astimezone(datetime.UTC) == datetime.timedelta(days=4, hours=-1)


def test_a_friday_referral_before_fall_back_is_due_tuesday_at_the_same_wall_clock_time():
    # US clocks go back on Sunday 2 November 2025.
    received = local(NEW_YORK, 2025, 10, 31, 15, 0)

    due = add_business_days(received, 2, "America/New_York")

    assert due.astimezone(datetime.UTC) == datetime.datetime(2025, 11, 4, 20, 0, tzinfo=datetime.UTC)
    assert due.astimezone(datetime.UTC) - received.astimezone(datetime.UTC) == datetime.timedelta(days=4, hours=1)


def test_a_saturday_referral_across_the_european_dst_change_is_due_wednesday_at_nine():
    # Central Europe springs forward on Sunday 30 March 2025.
    received = local(BERLIN, 2025, 3, 29, 11, 0)

    due = add_business_days(received, 2, "Europe/Berlin")

    assert due == local(BERLIN, 2025, 4, 2, 9, 0)
    assert due.astimezone(datetime.UTC) == datetime.datetime(2025, 4, 2, 7, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(("days", "due_day"), [(1, 9), (3, 11), (5, 13)])
def test_the_number_of_business_days_is_respected(days, due_day):
    friday = local(NEW_YORK, 2025, 6, 6, 15, 30)

    assert add_business_days(friday, days, "America/New_York") == local(NEW_YORK, 2025, 6, due_day, 15, 30)


@pytest.fixture
def tokyo_spa(db):
    return SpaFactory(name="Ginza Calm", slug="ginza-calm", timezone="Asia/Tokyo")


@freeze_time("2025-06-06 23:30:00+00:00")  # Friday 19:30 in New York, Saturday 08:30 in Tokyo
def test_the_same_moment_is_a_weekday_for_one_spa_and_the_weekend_for_another(spa, tokyo_spa):
    new_york_referral = receive_referral(spa)
    tokyo_referral = receive_referral(tokyo_spa)

    assert reload(new_york_referral).first_contact_due_at == local(NEW_YORK, 2025, 6, 10, 19, 30)
    assert reload(tokyo_referral).first_contact_due_at == local(TOKYO, 2025, 6, 11, 9, 0)


@freeze_time("2025-06-06 19:30:00+00:00")  # Friday 15:30 in New York
def test_a_spa_can_give_itself_more_business_days(spa):
    with scope(spa=spa):
        ReferralSettings.objects.create(spa=spa, first_contact_business_days=3)

    referral = receive_referral(spa)

    assert reload(referral).first_contact_due_at == local(NEW_YORK, 2025, 6, 11, 15, 30)


@freeze_time("2025-06-06 19:30:00+00:00")
def test_the_default_rule_is_two_business_days(spa):
    referral = receive_referral(spa)

    stored = reload(referral)
    assert stored.received_at == datetime.datetime(2025, 6, 6, 19, 30, tzinfo=datetime.UTC)
    assert stored.first_contact_due_at == local(NEW_YORK, 2025, 6, 10, 15, 30)
