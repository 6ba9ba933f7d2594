"""The referral lifecycle: every legal and illegal move (services and pages), attempts, assignment,
notes, optimistic locking, and one audit event per change."""

import datetime
import re
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope
from freezegun import freeze_time

from referrals import services
from referrals.models import TRANSITIONS, ReferralEvent, Status

from ..factories import ServiceFactory
from .spa_helpers import (
    HTMX,
    action_url,
    alerts,
    audit_actions,
    count,
    field_error,
    make_referral,
    page_text,
    reload,
    rows,
    set_unreachable_after,
    url,
)

ALL_PAIRS = [(source, target) for source in Status.values for target in Status.values]
LEGAL = [(source, target) for source, target in ALL_PAIRS if target in TRANSITIONS[source]]
ILLEGAL = [(source, target) for source, target in ALL_PAIRS if target not in TRANSITIONS[source]]
STALE_MESSAGE = "Someone else changed this referral while you were looking at it. Reload to see the latest."


def _service_extras(target):
    if target == Status.DECLINED:
        return {"reason": "Outside what we offer"}
    if target == Status.SCHEDULED:
        return {"scheduled_for": timezone.now() + datetime.timedelta(days=5)}
    return {}


def _label(status):
    return Status(status).label.lower()


# --- the state machine through the services -------------------------------------------------------


def test_the_table_covers_every_status_and_closed_ones_go_nowhere():
    assert set(TRANSITIONS) == set(Status.values)
    assert TRANSITIONS[Status.DECLINED] == TRANSITIONS[Status.COMPLETED] == TRANSITIONS[Status.CANCELLED] == set()
    assert len(LEGAL) + len(ILLEGAL) == len(Status.values) ** 2


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_every_legal_move_is_made_by_the_service_and_recorded_with_who_and_when(spa, staff_user, source, target):
    referral = make_referral(spa, status=source, received_at=datetime.datetime(2025, 6, 2, 14, 0, tzinfo=datetime.UTC))

    with freeze_time("2025-06-03 14:00:00+00:00"), scope(spa=spa):
        moved = services.referral_transition(
            referral=referral,
            to_status=target,
            actor=staff_user,
            expected_version=referral.version,
            **_service_extras(target),
        )

    stored = reload(referral)
    assert moved.status == stored.status == target
    assert stored.version == referral.version + 1
    events = rows(ReferralEvent, referral=referral)
    assert [(event.kind, event.from_status, event.to_status, event.actor) for event in events] == [
        ("status", source, target, staff_user)
    ]
    assert events[0].created_at == datetime.datetime(2025, 6, 3, 14, 0, tzinfo=datetime.UTC)
    assert audit_actions(spa) == ["referral.status_changed"]


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_every_illegal_move_is_refused_by_the_service_with_a_clear_message(spa, staff_user, source, target):
    referral = make_referral(spa, status=source)

    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        services.referral_transition(referral=referral, to_status=target, actor=staff_user, **_service_extras(target))

    assert refused.value.messages == [f"A referral that is {_label(source)} cannot be marked {_label(target)}."]
    assert reload(referral).status == source
    assert reload(referral).version == referral.version
    assert count(ReferralEvent, referral=referral) == 0
    assert audit_actions(spa) == []


def test_declining_needs_a_reason(spa, staff_user):
    referral = make_referral(spa)

    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        services.referral_transition(referral=referral, to_status=Status.DECLINED, actor=staff_user, reason="   ")

    assert refused.value.message_dict == {"reason": ["Say why the referral is declined."]}
    assert reload(referral).status == Status.RECEIVED


def test_scheduling_needs_a_date(spa, staff_user):
    referral = make_referral(spa, status=Status.CONTACTED)

    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        services.referral_transition(referral=referral, to_status=Status.SCHEDULED, actor=staff_user)

    assert refused.value.message_dict == {"scheduled_for": ["Choose the appointment date and time."]}
    assert reload(referral).status == Status.CONTACTED


def test_closing_moves_stamp_the_closing_time(spa, staff_user):
    referral = make_referral(spa, status=Status.SCHEDULED)

    with freeze_time("2025-06-03 14:00:00+00:00"), scope(spa=spa):
        services.referral_transition(referral=referral, to_status=Status.COMPLETED, actor=staff_user)

    assert reload(referral).closed_at == datetime.datetime(2025, 6, 3, 14, 0, tzinfo=datetime.UTC)


def test_marking_contacted_without_a_logged_attempt_still_stops_the_clock(spa, staff_user):
    referral = make_referral(spa, status=Status.ACCEPTED)

    with scope(spa=spa):
        services.referral_transition(referral=referral, to_status=Status.CONTACTED, actor=staff_user)

    stored = reload(referral)
    assert stored.first_contact_attempt_at is not None
    assert not stored.is_overdue


# --- contact attempts ---------------------------------------------------------------------------


def _attempt(referral, outcome, actor, note=""):
    with scope(spa=referral.spa):
        return services.referral_log_attempt(referral=referral, outcome=outcome, actor=actor, note=note)


def test_reaching_the_patient_moves_an_accepted_referral_to_contacted(spa, staff_user):
    referral = make_referral(spa, status=Status.ACCEPTED)

    _attempt(referral, "reached", staff_user, note="Booked a call back for Tuesday")

    stored = reload(referral)
    assert stored.status == Status.CONTACTED
    assert stored.first_contact_attempt_at is not None
    events = rows(ReferralEvent, referral=referral)
    assert [(event.kind, event.outcome, event.to_status, event.note) for event in events] == [
        ("attempt", "reached", "", "Booked a call back for Tuesday"),
        ("status", "", Status.CONTACTED, ""),
    ]
    assert audit_actions(spa) == ["referral.contact_attempted"]


@pytest.mark.parametrize("allowed", [1, 3, 5])
def test_the_configured_number_of_failed_attempts_makes_a_referral_unreachable(spa, staff_user, allowed):
    set_unreachable_after(spa, allowed)
    referral = make_referral(spa, status=Status.ACCEPTED)

    for attempt in range(1, allowed):
        _attempt(referral, "no_answer", staff_user)
        assert reload(referral).status == Status.ACCEPTED
        assert reload(referral).failed_attempts == attempt
    _attempt(referral, "voicemail", staff_user)

    stored = reload(referral)
    assert stored.status == Status.UNREACHABLE
    assert stored.failed_attempts == allowed
    assert [event.to_status for event in rows(ReferralEvent, referral=referral, kind="status")] == [Status.UNREACHABLE]


def test_an_unreachable_patient_who_is_finally_reached_is_contacted(spa, staff_user):
    set_unreachable_after(spa, 1)
    referral = make_referral(spa, status=Status.ACCEPTED)
    _attempt(referral, "wrong_number", staff_user)

    _attempt(referral, "reached", staff_user)

    assert reload(referral).status == Status.CONTACTED


@pytest.mark.parametrize("status", [Status.RECEIVED])
def test_attempts_before_accepting_are_refused(spa, staff_user, status):
    referral = make_referral(spa, status=status)

    with pytest.raises(ValidationError) as refused:
        _attempt(referral, "reached", staff_user)

    assert refused.value.messages == ["Accept the referral before contacting the patient."]
    assert reload(referral).status == status
    assert count(ReferralEvent, referral=referral) == 0


@pytest.mark.parametrize(
    "status", [Status.SCHEDULED, Status.NO_SHOW, Status.COMPLETED, Status.DECLINED, Status.CANCELLED]
)
def test_attempts_after_booking_or_closing_are_refused(spa, staff_user, status):
    referral = make_referral(spa, status=status)

    with pytest.raises(ValidationError) as refused:
        _attempt(referral, "reached", staff_user)

    assert refused.value.messages == [
        f"Contact attempts are logged before the appointment is booked; this referral is {_label(status)}."
    ]
    assert count(ReferralEvent, referral=referral) == 0


# --- the same rules through the referral page (htmx actions) ----------------------------------------

# Which button leads where. Contacted and unreachable come from logging an attempt.
ACTION_FOR_TARGET = {
    Status.ACCEPTED: ("accept", {}),
    Status.DECLINED: ("decline", {"reason": "Not a fit for massage"}),
    Status.SCHEDULED: ("schedule", {"scheduled_for": "2030-05-01T14:30"}),
    Status.COMPLETED: ("complete", {}),
    Status.NO_SHOW: ("no_show", {}),
    Status.CANCELLED: ("cancel", {"reason": ""}),
    Status.CONTACTED: ("attempt", {"outcome": "reached"}),
    Status.UNREACHABLE: ("attempt", {"outcome": "no_answer"}),
}
TRANSITION_ACTIONS = {
    Status.ACCEPTED,
    Status.DECLINED,
    Status.SCHEDULED,
    Status.COMPLETED,
    Status.NO_SHOW,
    Status.CANCELLED,
}


def _post_action(client, referral, action, data, *, htmx=True, version=None):
    payload = {"version": referral.version if version is None else version, **data}
    return client.post(action_url(action, referral), payload, **(HTMX if htmx else {}))


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_every_legal_move_works_from_the_referral_page(staff_client, spa, staff_user, source, target):
    set_unreachable_after(spa, 1)
    referral = make_referral(spa, status=source)
    action, data = ACTION_FOR_TARGET[target]

    response = _post_action(staff_client, referral, action, data)

    assert response.status_code == 200
    assert reload(referral).status == target
    assert f'referral-status-{target}">' in page_text(response)
    events = rows(ReferralEvent, referral=referral, kind="status")
    assert [(event.from_status, event.to_status, event.actor) for event in events] == [(source, target, staff_user)]


@pytest.mark.parametrize(
    ("source", "target"), [(source, target) for source, target in ILLEGAL if target in TRANSITION_ACTIONS]
)
def test_every_illegal_move_is_refused_by_the_referral_page(staff_client, spa, source, target):
    referral = make_referral(spa, status=source)
    action, data = ACTION_FOR_TARGET[target]

    response = _post_action(staff_client, referral, action, data)

    assert response.status_code == 400
    assert f"A referral that is {_label(source)} cannot be marked {_label(target)}." in alerts(response)
    assert reload(referral).status == source
    assert count(ReferralEvent, referral=referral) == 0
    assert audit_actions(spa) == []


@pytest.mark.parametrize("source", Status.values)
def test_logging_an_attempt_from_the_page_follows_the_same_rules(staff_client, spa, source):
    set_unreachable_after(spa, 1)
    referral = make_referral(spa, status=source)

    response = _post_action(staff_client, referral, "attempt", {"outcome": "no_answer"})

    if source in (Status.ACCEPTED, Status.CONTACTED, Status.UNREACHABLE):
        assert response.status_code == 200
        assert count(ReferralEvent, referral=referral, kind="attempt") == 1
        # A failed attempt after the patient was reached changes nothing but the timeline.
        expected = Status.UNREACHABLE if source == Status.ACCEPTED else source
        assert reload(referral).status == expected
    else:
        assert response.status_code == 400
        assert reload(referral).status == source
        assert count(ReferralEvent, referral=referral) == 0
        expected_message = (
            "Accept the referral before contacting the patient."
            if source == Status.RECEIVED
            else f"Contact attempts are logged before the appointment is booked; this referral is {_label(source)}."
        )
        assert expected_message in alerts(response)


SHOWN_ACTIONS = {
    Status.RECEIVED: {"accept", "decline"},
    Status.ACCEPTED: {"attempt", "cancel"},
    Status.CONTACTED: {"attempt", "schedule", "cancel"},
    Status.SCHEDULED: {"schedule", "complete", "no-show", "cancel"},
    Status.NO_SHOW: {"schedule", "cancel"},
    Status.UNREACHABLE: {"attempt", "cancel"},
    Status.DECLINED: set(),
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.WITHDRAWN: set(),
}


@pytest.mark.parametrize("status", Status.values)
def test_the_page_offers_only_the_legal_actions(owner_client, spa, status):
    referral = make_referral(spa, status=status)

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    offered = set(re.findall(rf'<form method="post" action="[^"]*/{referral.public_id}/([a-z-]+)/"', page))
    assert offered == SHOWN_ACTIONS[status] | {"assign", "note"}


def test_a_decline_without_a_reason_is_refused_beside_the_field(staff_client, spa):
    referral = make_referral(spa)

    response = _post_action(staff_client, referral, "decline", {"reason": ""})

    assert response.status_code == 400
    assert field_error(response, "reason", prefix="decline_") == "Say why the referral is declined."
    assert reload(referral).status == Status.RECEIVED


def test_a_booking_without_a_date_is_refused_beside_the_field(staff_client, spa):
    referral = make_referral(spa, status=Status.CONTACTED)

    response = _post_action(staff_client, referral, "schedule", {"scheduled_for": ""})

    assert response.status_code == 400
    assert field_error(response, "scheduled_for", prefix="schedule_") == "Choose the appointment date and time."
    assert reload(referral).status == Status.CONTACTED


def test_a_booking_is_read_in_the_spas_time_zone_with_a_catalog_service(staff_client, spa):
    referral = make_referral(spa, status=Status.CONTACTED)
    with scope(spa=spa):
        service = ServiceFactory(spa=spa, name="Gentle post-procedure facial")

    response = _post_action(
        staff_client, referral, "schedule", {"scheduled_for": "2030-05-01T14:30", "service": str(service.public_id)}
    )

    assert response.status_code == 200
    stored = reload(referral)
    assert stored.scheduled_for == datetime.datetime(2030, 5, 1, 14, 30, tzinfo=zoneinfo.ZoneInfo(spa.timezone))
    assert stored.scheduled_service == service
    assert "Gentle post-procedure facial" in page_text(response)


def test_a_booking_cannot_use_another_spas_service(staff_client, spa, other_spa):
    referral = make_referral(spa, status=Status.CONTACTED)
    with scope(spa=other_spa):
        foreign = ServiceFactory(spa=other_spa)

    response = _post_action(
        staff_client, referral, "schedule", {"scheduled_for": "2030-05-01T14:30", "service": str(foreign.public_id)}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "service", prefix="schedule_")
    assert reload(referral).status == Status.CONTACTED


def test_an_attempt_needs_an_outcome(staff_client, spa):
    referral = make_referral(spa, status=Status.ACCEPTED)

    response = _post_action(staff_client, referral, "attempt", {"outcome": "", "note": "Rang twice"})

    assert response.status_code == 400
    assert field_error(response, "outcome", prefix="attempt_") == "Choose what happened."
    assert count(ReferralEvent, referral=referral) == 0


def test_attempts_and_moves_show_on_the_timeline_with_who_and_when(staff_client, spa, staff_user):
    referral = make_referral(spa, status=Status.ACCEPTED)

    with freeze_time("2025-06-03 14:05:00+00:00"):
        response = _post_action(staff_client, referral, "attempt", {"outcome": "reached", "note": "Prefers mornings"})

    timeline = page_text(response).split('id="referral-timeline"', 1)[1]
    assert "Reached the patient" in timeline
    assert "Prefers mornings" in timeline
    assert "<strong>Contacted</strong>" in timeline
    # Shown on the spa's wall clock (New York, UTC-4 in June).
    assert "Tue June 3, 2025, 10:05 a.m. · Stacy Staff" in timeline


def test_an_htmx_action_refreshes_the_panel_heading_and_timeline_without_a_view_event(staff_client, spa):
    referral = make_referral(spa)

    response = _post_action(staff_client, referral, "accept", {})

    page = page_text(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="referral-panel"')
    assert re.search(r'<div id="referral-heading"[^>]* hx-swap-oob="true">', page)
    assert re.search(r'<section [^>]*id="referral-timeline"[^>]* hx-swap-oob="true">', page)
    assert "Referral accepted." in alerts(response)
    # The refreshed forms carry the new version.
    assert f'name="version" value="{reload(referral).version}"' in page
    assert audit_actions(spa) == ["referral.status_changed"]


def test_a_plain_form_post_redirects_to_the_page_with_a_message(staff_client, spa):
    referral = make_referral(spa)

    response = _post_action(staff_client, referral, "accept", {}, htmx=False)

    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, referral.public_id)
    page = staff_client.get(response["Location"])
    assert "Referral accepted." in alerts(page)
    assert audit_actions(spa) == ["referral.status_changed", "referral.viewed"]


def test_actions_only_accept_posts(staff_client, spa):
    referral = make_referral(spa)

    assert staff_client.get(action_url("accept", referral)).status_code == 405
    assert reload(referral).status == Status.RECEIVED


def test_another_spas_referral_cannot_be_acted_on_through_our_address(owner_client, spa, owner, other_spa):
    foreign = make_referral(other_spa)

    response = owner_client.post(url("action_accept", spa, foreign.public_id), {"version": foreign.version}, **HTMX)

    assert response.status_code == 404
    assert reload(foreign).status == Status.RECEIVED


# --- optimistic locking and one audit event per change -------------------------------------------------

CHANGES = [
    ("accept", Status.RECEIVED, {}, "referral.status_changed"),
    ("decline", Status.RECEIVED, {"reason": "Outside our scope"}, "referral.status_changed"),
    ("attempt", Status.ACCEPTED, {"outcome": "reached"}, "referral.contact_attempted"),
    ("schedule", Status.CONTACTED, {"scheduled_for": "2030-05-01T14:30"}, "referral.status_changed"),
    ("complete", Status.SCHEDULED, {}, "referral.status_changed"),
    ("no_show", Status.SCHEDULED, {}, "referral.status_changed"),
    ("cancel", Status.ACCEPTED, {"reason": "Patient moved away"}, "referral.status_changed"),
    ("assign", Status.RECEIVED, {"assignee": "STAFF"}, "referral.assigned"),
    ("note", Status.RECEIVED, {"note": "Asked about parking"}, "referral.note_added"),
]


def _data(data, staff_user):
    return {key: (str(staff_user.pk) if value == "STAFF" else value) for key, value in data.items()}


@pytest.mark.parametrize(("action", "status", "data", "audit_action"), CHANGES)
def test_each_change_writes_exactly_one_audit_event(staff_client, spa, staff_user, action, status, data, audit_action):
    referral = make_referral(spa, status=status)

    response = _post_action(staff_client, referral, action, _data(data, staff_user))

    assert response.status_code == 200
    assert audit_actions(spa) == [audit_action]


@pytest.mark.parametrize(("action", "status", "data", "audit_action"), [c for c in CHANGES if c[0] != "note"])
@pytest.mark.parametrize("htmx", [True, False])
def test_a_stale_form_is_refused_with_a_message_and_changes_nothing(
    staff_client, spa, owner, staff_user, action, status, data, audit_action, htmx
):
    referral = make_referral(spa, status=status)
    stale_version = referral.version
    # Someone else changes the referral (here: assigns it) after the page was drawn.
    with scope(spa=spa):
        services.referral_assign(referral=referral, assignee=owner, actor=owner)
    before = reload(referral)
    events_before = count(ReferralEvent, referral=referral)
    audits_before = len(audit_actions(spa))

    response = _post_action(staff_client, referral, action, _data(data, staff_user), htmx=htmx, version=stale_version)

    assert response.status_code == 400
    assert STALE_MESSAGE in alerts(response)
    after = reload(referral)
    assert (after.status, after.version, after.assignee, after.failed_attempts) == (
        before.status,
        before.version,
        before.assignee,
        before.failed_attempts,
    )
    assert count(ReferralEvent, referral=referral) == events_before
    # Only the full page drawn again (no htmx) counts as a view; the refused change writes nothing.
    assert audit_actions(spa)[audits_before:] == ([] if htmx else ["referral.viewed"])


def test_a_note_is_added_even_from_an_older_page_because_it_changes_nothing_else(staff_client, spa, owner):
    referral = make_referral(spa)
    with scope(spa=spa):
        services.referral_assign(referral=referral, assignee=owner, actor=owner)

    response = _post_action(staff_client, referral, "note", {"note": "Called the office to confirm"}, version=1)

    assert response.status_code == 200
    assert [event.note for event in rows(ReferralEvent, referral=referral, kind="note")] == [
        "Called the office to confirm"
    ]


def test_an_empty_note_is_refused_beside_the_field(staff_client, spa):
    referral = make_referral(spa)

    response = _post_action(staff_client, referral, "note", {"note": "  "})

    assert response.status_code == 400
    assert field_error(response, "note", prefix="note_") == "Write the note first."
    assert count(ReferralEvent, referral=referral) == 0


# --- assignment ------------------------------------------------------------------------------------


def test_a_referral_can_be_assigned_to_a_staff_member_and_unassigned(owner_client, spa, staff_user):
    referral = make_referral(spa)

    response = _post_action(owner_client, referral, "assign", {"assignee": str(staff_user.pk)})

    assert response.status_code == 200
    assert reload(referral).assignee == staff_user
    assert "Assigned to Stacy Staff" in page_text(response)

    response = _post_action(owner_client, reload(referral), "assign", {"assignee": ""})

    assert reload(referral).assignee is None
    assert [event.note for event in rows(ReferralEvent, referral=referral, kind="assigned")] == [
        "Stacy Staff",
        "nobody",
    ]


def test_a_referral_cannot_be_assigned_to_someone_outside_the_spa(owner_client, spa, outsider):
    referral = make_referral(spa)

    response = _post_action(owner_client, referral, "assign", {"assignee": str(outsider.pk)})

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "assignee", prefix="assign_")
    assert "Otto Outsider" not in page_text(response)
    assert reload(referral).assignee is None


def test_the_service_refuses_an_assignee_outside_the_spa(spa, owner, outsider):
    referral = make_referral(spa)

    with scope(spa=spa), pytest.raises(ValidationError) as refused:
        services.referral_assign(referral=referral, assignee=outsider, actor=owner)

    assert refused.value.message_dict == {"assignee": ["Assign the referral to a member of this spa."]}
    assert reload(referral).assignee is None


def test_rescheduling_starts_from_the_current_booking_on_the_spas_clock(owner_client, spa):
    with scope(spa=spa):
        service = ServiceFactory(spa=spa, name="Prenatal massage")
    booked = datetime.datetime(2030, 5, 1, 18, 30, tzinfo=datetime.UTC)  # 14:30 in New York
    referral = make_referral(spa, status=Status.SCHEDULED, scheduled_for=booked, scheduled_service=service)

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    assert 'value="2030-05-01T14:30"' in page
    assert f'<option value="{service.public_id}" selected>Prenatal massage</option>' in page
    assert "Reschedule" in page


def test_an_action_posted_without_a_version_is_refused_with_a_message(staff_client, spa):
    referral = make_referral(spa)

    response = staff_client.post(action_url("accept", referral), {}, **HTMX)

    assert response.status_code == 400
    assert "This form is out of date. Reload the page and try again." in alerts(response)
    assert reload(referral).status == Status.RECEIVED
