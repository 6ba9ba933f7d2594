"""Events dated in the past are recorded only with the "record it anyway" tick, when the date is set or changed;
editing anything else on a past event asks nothing."""

import datetime
import zoneinfo

import pytest
from django_scopes import scope
from freezegun import freeze_time

from outreach.events import services as events
from outreach.models import Event

from .helpers import field_error, page_text, rows, url

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
PAST_MESSAGE = "This date is in the past — record it anyway? Tick the box below to confirm."
LUNCH = {"kind": "lunch_presentation", "title": "Lunch at Glow", "location": "", "notes": ""}


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time("2026-03-10 15:00:00"):  # 11 a.m. in New York
        yield


def test_a_past_event_is_asked_about_then_recorded(staff_client, spa):
    asked = staff_client.post(url("event_create", spa), {**LUNCH, "starts_at": "2026-03-09T12:15"})

    assert asked.status_code == 400
    assert field_error(asked, "starts_at") == PAST_MESSAGE
    assert 'type="checkbox" name="confirm_past_date"' in page_text(asked)
    assert rows(Event) == []

    confirmed = staff_client.post(
        url("event_create", spa), {**LUNCH, "starts_at": "2026-03-09T12:15", "confirm_past_date": "on"}
    )

    assert confirmed.status_code == 302
    (event,) = rows(Event, spa=spa)
    assert event.starts_at == datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK)


def test_an_event_later_today_needs_no_tick(staff_client, spa):
    response = staff_client.post(url("event_create", spa), {**LUNCH, "starts_at": "2026-03-10T12:00"})

    assert response.status_code == 302
    assert len(rows(Event, spa=spa)) == 1


def _past_event(spa):
    with scope(spa=spa):
        return events.event_create(
            spa=spa,
            kind="lunch_presentation",
            title="Lunch at Glow",
            starts_at=datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK),
            actor=None,
        )


def test_editing_the_notes_of_a_past_event_asks_nothing(staff_client, spa):
    event = _past_event(spa)

    response = staff_client.post(
        url("event_edit", spa, event.public_id),
        {**LUNCH, "starts_at": "2026-03-09T12:15", "notes": "Twelve came; bring more sandwiches"},
    )

    assert response.status_code == 302
    assert rows(Event, pk=event.pk)[0].notes == "Twelve came; bring more sandwiches"


def test_moving_an_event_to_another_past_day_asks_again(staff_client, spa):
    event = _past_event(spa)

    response = staff_client.post(url("event_edit", spa, event.public_id), {**LUNCH, "starts_at": "2026-03-02T12:15"})

    assert response.status_code == 400
    assert field_error(response, "starts_at") == PAST_MESSAGE
    assert rows(Event, pk=event.pk)[0].starts_at == datetime.datetime(2026, 3, 9, 12, 15, tzinfo=NEW_YORK)
