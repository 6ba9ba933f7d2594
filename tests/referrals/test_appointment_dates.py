"""Appointment dates: one before the referral was received is refused beside the field (by the page and by the
service); one already past is recorded only with the "record it anyway" tick; changing only the service of a
booking asks nothing."""

import datetime
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope
from freezegun import freeze_time

from referrals import services
from referrals.models import ReferralEvent, Status

from ..factories import ServiceFactory
from .spa_helpers import HTMX, action_url, count, field_error, make_referral, page_text, reload

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = "2026-12-05 15:00:00"  # 10 a.m. in New York
RECEIVED = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=NEW_YORK)
BEFORE_RECEIPT = "The appointment cannot be before the referral was received (Dec 1, 9:30 a.m.). Check the date."
PAST_MESSAGE = "This date is in the past — record it anyway? Tick the box below to confirm."


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


def _contacted(spa, **fields):
    return make_referral(spa, status=Status.CONTACTED, received_at=RECEIVED, **fields)


def _book(client, referral, data):
    return client.post(action_url("schedule", referral), {"version": referral.version, **data}, **HTMX)


def test_an_appointment_before_the_referral_arrived_is_refused_beside_the_field(staff_client, spa):
    referral = _contacted(spa)

    response = _book(staff_client, referral, {"scheduled_for": "2026-11-30T14:00", "confirm_past_date": "on"})

    assert response.status_code == 400
    assert field_error(response, "scheduled_for", prefix="schedule_") == BEFORE_RECEIPT
    stored = reload(referral)
    assert (stored.status, stored.scheduled_for, stored.version) == (Status.CONTACTED, None, referral.version)
    assert count(ReferralEvent, referral=referral) == 0


def test_before_receipt_is_said_at_once_without_asking_to_confirm_a_past_date(staff_client, spa):
    referral = _contacted(spa)

    response = _book(staff_client, referral, {"scheduled_for": "2025-12-03T14:00"})  # a typo in the year

    assert field_error(response, "scheduled_for", prefix="schedule_") == BEFORE_RECEIPT
    assert 'type="checkbox" name="confirm_past_date"' not in page_text(response)


def test_the_service_refuses_an_appointment_before_receipt_too(spa, staff_user):
    referral = _contacted(spa)

    with pytest.raises(ValidationError) as refused, scope(spa=spa):
        services.referral_transition(
            referral=referral,
            to_status=Status.SCHEDULED,
            actor=staff_user,
            scheduled_for=RECEIVED - datetime.timedelta(minutes=1),
        )

    assert refused.value.message_dict == {"scheduled_for": [BEFORE_RECEIPT]}
    assert reload(referral).status == Status.CONTACTED


def test_a_past_appointment_needs_the_tick_then_is_recorded(staff_client, spa):
    referral = _contacted(spa)

    asked = _book(staff_client, referral, {"scheduled_for": "2026-12-04T16:00"})

    assert asked.status_code == 400
    assert field_error(asked, "scheduled_for", prefix="schedule_") == PAST_MESSAGE
    assert 'type="checkbox" name="confirm_past_date"' in page_text(asked)
    assert reload(referral).status == Status.CONTACTED

    confirmed = _book(staff_client, referral, {"scheduled_for": "2026-12-04T16:00", "confirm_past_date": "on"})

    assert confirmed.status_code == 200
    stored = reload(referral)
    assert stored.status == Status.SCHEDULED
    assert stored.scheduled_for == datetime.datetime(2026, 12, 4, 16, 0, tzinfo=NEW_YORK)


def test_an_appointment_later_today_or_after_needs_no_tick(staff_client, spa):
    referral = _contacted(spa)

    response = _book(staff_client, referral, {"scheduled_for": "2026-12-05T15:00"})

    assert response.status_code == 200
    assert reload(referral).status == Status.SCHEDULED


def test_changing_only_the_service_of_a_past_booking_asks_nothing(staff_client, spa):
    booked_at = datetime.datetime(2026, 12, 4, 16, 0, tzinfo=NEW_YORK)
    referral = make_referral(spa, status=Status.SCHEDULED, received_at=RECEIVED, scheduled_for=booked_at)
    with scope(spa=spa):
        service = ServiceFactory(spa=spa, name="Lymphatic drainage massage")

    response = _book(staff_client, referral, {"scheduled_for": "2026-12-04T16:00", "service": str(service.public_id)})

    assert response.status_code == 200
    stored = reload(referral)
    assert (stored.scheduled_for, stored.scheduled_service) == (booked_at, service)


def test_moving_a_booking_to_another_past_time_asks_again(staff_client, spa):
    booked_at = datetime.datetime(2026, 12, 4, 16, 0, tzinfo=NEW_YORK)
    referral = make_referral(spa, status=Status.SCHEDULED, received_at=RECEIVED, scheduled_for=booked_at)

    response = _book(staff_client, referral, {"scheduled_for": "2026-12-03T11:00"})

    assert field_error(response, "scheduled_for", prefix="schedule_") == PAST_MESSAGE
    assert reload(referral).scheduled_for == booked_at


def test_another_spas_referral_cannot_be_booked_through_our_address(owner_client, spa, other_spa):
    foreign = make_referral(other_spa, status=Status.CONTACTED, received_at=RECEIVED)

    response = owner_client.post(
        action_url("schedule", foreign).replace(other_spa.slug, spa.slug),
        {"version": foreign.version, "scheduled_for": "2026-12-08T10:00"},
        **HTMX,
    )

    assert response.status_code == 404
    assert reload(foreign).status == Status.CONTACTED
