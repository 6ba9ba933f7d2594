"""Partner-health pages: the list sorted by risk (counts, filters, pagination, a constant number of queries), the
practice page's panel (badge and reasons, next check-in, the cadence form, the open check-in's briefing) and
the cadence form's rules (7–365 days, 400 with the error beside the field, managers only, 404 for outsiders)."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_scopes import scope
from freezegun import freeze_time

from infra.models import AuditEvent
from outreach.health.checkins import check_ins_create_due
from outreach.health.nudges import fresh_approaches_create
from outreach.models import CheckInCadence
from partners.models import Stage
from partners.services import practice_move_stage
from tests.factories import ReferralFactory, ServiceFactory

from .helpers import HTMX, field_error, make_practice, page_text, rows, url
from .test_checkins import at
from .test_health import COMPLETED, NOW, TODAY, partner


@pytest.fixture(autouse=True)
def _frozen():
    with freeze_time(NOW):
        yield


def practice_page(client, practice):
    return client.get(reverse("partners:detail", args=[practice.spa.slug, practice.public_id]))


def panel_of(response):
    match = re.search(r'<section class="card shadow-sm mb-4" id="check-ins".*?</section>', page_text(response), re.S)
    return match.group(0) if match else ""


def cadence(practice):
    with scope(spa=practice.spa):
        return CheckInCadence.objects.filter(practice=practice).first()


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_partners_most_at_risk_first_with_reasons_and_counts(owner_client, spa, other_spa):
    partner(spa, "Healthy Derm", recent=[COMPLETED] * 2, before=[COMPLETED] * 2, contact_days=3, check_in_days=3)
    partner(spa, "Cooling Derm", recent=[COMPLETED], before=[COMPLETED], contact_days=3, check_in_days=91 + 12)
    partner(spa, "Risky Derm", before=[COMPLETED] * 4, contact_days=3, check_in_days=3)
    partner(spa, "Prospect Derm", stage=Stage.PROSPECT)
    partner(other_spa, "Outsider Derm", before=[COMPLETED] * 4)
    response = owner_client.get(url("partner_health", spa))
    assert response.status_code == 200
    body = page_text(response)
    assert "<h1" in body and "Partner health" in body
    order = re.findall(r'data-health="(\w+)"', body)
    assert order == ["at_risk", "cooling", "healthy"]
    assert body.index("Risky Derm") < body.index("Cooling Derm") < body.index("Healthy Derm")
    assert "No referrals in 3 months (4 the 3 months before)" in body
    assert "Check-in overdue by 12 days" in body
    assert "Prospect Derm" not in body and "Outsider Derm" not in body
    counts = dict(re.findall(r'data-count="(\w+)">.*?<span class="badge[^"]*">(\d+)</span>', body, re.S))
    assert counts == {"all": "3", "at_risk": "1", "cooling": "1", "healthy": "1"}
    assert 'class="nav-link active" aria-current="page" href="?"' in body  # the subnav tab and "All"


def test_the_list_filters_by_status_and_owner(owner_client, spa, owner, staff_user):
    partner(spa, "Risky Derm", owner=owner, before=[COMPLETED] * 4, contact_days=3, check_in_days=3)
    partner(spa, "Staff Risky Derm", owner=staff_user, before=[COMPLETED] * 4, contact_days=3, check_in_days=3)
    partner(spa, "Healthy Derm", owner=owner, recent=[COMPLETED], before=[COMPLETED], contact_days=3, check_in_days=3)
    body = page_text(owner_client.get(url("partner_health", spa, query="status=at_risk")))
    assert "Risky Derm" in body and "Staff Risky Derm" in body and "Healthy Derm" not in body
    body = page_text(owner_client.get(url("partner_health", spa, query="status=at_risk&mine=on")))
    assert "Risky Derm" in body and "Staff Risky Derm" not in body
    body = page_text(owner_client.get(url("partner_health", spa, query="status=cooling")))
    assert "No partner is “Cooling” right now." in body
    assert "Show all partners" in body
    # An unknown status is ignored rather than refused.
    response = owner_client.get(url("partner_health", spa, query="status=bogus"))
    assert response.status_code == 200
    assert "Healthy Derm" in page_text(response)


def test_the_list_is_paginated(owner_client, spa):
    for number in range(27):
        partner(
            spa, f"Paged Derm {number:02d}", recent=[COMPLETED], before=[COMPLETED], contact_days=3, check_in_days=3
        )
    first = page_text(owner_client.get(url("partner_health", spa)))
    assert first.count('data-health="healthy"') == 25
    assert "Page 1 of 2" in first
    second = page_text(owner_client.get(url("partner_health", spa, query="page=2")))
    assert second.count('data-health="healthy"') == 2
    assert "Paged Derm 26" in second


def test_the_empty_list_explains_and_points_to_the_pipeline(owner_client, spa):
    make_practice(spa, name="Only A Prospect", stage=Stage.PROSPECT)
    body = page_text(owner_client.get(url("partner_health", spa)))
    assert "No trial or active partners yet." in body
    assert reverse("partners:board", args=[spa.slug]) in body


def _queries_for(client, spa):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("partner_health", spa))
    assert response.status_code == 200
    return len(queries)


def test_the_list_takes_the_same_number_of_queries_for_3_or_40_practices(owner_client, spa, owner):
    def add(count, start):
        for number in range(start, start + count):
            partner(
                spa,
                f"Budget Derm {number:02d}",
                owner=owner,
                recent=[COMPLETED, "scheduled"],
                before=[COMPLETED],
                contact_days=number % 100,
                check_in_days=(number * 7) % 140,
            )

    add(3, 0)
    _queries_for(owner_client, spa)  # warm up: the session and the spa's outreach settings are written once
    few = _queries_for(owner_client, spa)
    add(37, 3)
    many = _queries_for(owner_client, spa)
    assert few == many


def test_staff_may_look_at_the_list(staff_client, spa):
    assert staff_client.get(url("partner_health", spa)).status_code == 200


def test_outsiders_get_404_and_anonymous_visitors_the_login_page(client, outsider_client, spa):
    assert outsider_client.get(url("partner_health", spa)).status_code == 404
    response = client.get(url("partner_health", spa))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- the practice page's panel --------------------------------------------------------------------


def test_the_practice_page_shows_health_next_check_in_and_the_cadence_form(owner_client, spa, owner):
    practice = partner(
        spa, "Late Derm", owner=owner, recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=91 + 12
    )
    panel = panel_of(practice_page(owner_client, practice))
    assert 'data-health-status="cooling"' in panel
    assert "Check-in overdue by 12 days" in panel
    due = TODAY - datetime.timedelta(days=12)
    assert f'data-next-check-in="{due.isoformat()}"' in panel
    assert "12 days overdue" in panel
    assert "Every 91 days (the spa&#x27;s default)." in panel or "Every 91 days (the spa's default)." in panel
    assert 'name="cadence_days"' in panel
    assert reverse("outreach:health_cadence_update", args=[spa.slug, practice.public_id]) in panel
    assert 'for="health_cadence_days"' in panel  # the input has its label


def test_staff_see_the_cadence_but_not_the_form(staff_client, spa):
    practice = partner(spa, "Staff View Derm", recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=5)
    panel = panel_of(practice_page(staff_client, practice))
    assert "Next check-in:" in panel
    assert 'name="cadence_days"' not in panel


def test_an_open_check_in_task_brings_its_briefing_to_the_practice_page(owner_client, spa, owner):
    practice = partner(spa, "Briefed Derm", owner=owner, in_stage_days=95, recent=[COMPLETED], contact_days=5)
    with scope(spa=spa):
        ServiceFactory(spa=spa, name="Oncology-safe facial", created_at=at("2026-05-01 10:00"))
        check_ins_create_due(spa=spa, now=NOW)
    panel = panel_of(practice_page(owner_client, practice))
    assert "Open check-in" in panel
    assert "Check in with Briefed Derm" in panel
    assert "Since becoming a partner on" in panel
    assert "Oncology-safe facial" in panel
    assert "1 received" in panel and "1 completed" in panel


def test_a_declined_practice_shows_when_it_resurfaces_then_its_fresh_approach(owner_client, spa, owner):
    practice = make_practice(spa, name="Said No Derm", stage=Stage.MEETING, owner=owner)
    with scope(spa=spa), freeze_time(at("2026-02-10 10:00")):
        practice_move_stage(practice=practice, to_stage=Stage.DECLINED, actor=owner, reason="Too busy")
    panel = panel_of(practice_page(owner_client, practice))
    assert 'data-resurfaces="2026-08-10"' in panel
    assert "data-health-status" not in panel
    with scope(spa=spa):
        fresh_approaches_create(spa=spa, now=at("2026-08-10 09:00"))
    panel = panel_of(practice_page(owner_client, practice))
    assert "Open fresh approach" in panel
    assert "What has changed since they said no on Feb 10, 2026" in panel
    assert "Too busy" in panel


def test_a_prospect_has_no_health_panel(owner_client, spa):
    practice = make_practice(spa, name="Prospect Derm", stage=Stage.PROSPECT)
    response = practice_page(owner_client, practice)
    assert response.status_code == 200
    assert panel_of(response) == ""


def _panel_queries(client, practice):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("health_practice_panel", practice.spa, practice.public_id))
    assert response.status_code == 200
    return len(queries)


def test_the_panel_takes_the_same_number_of_queries_however_much_history(owner_client, spa, owner):
    practice = partner(
        spa, "History Derm", owner=owner, recent=[COMPLETED], before=[COMPLETED], contact_days=5, check_in_days=95
    )
    with scope(spa=spa):
        check_ins_create_due(spa=spa, now=NOW)
    _panel_queries(owner_client, practice)  # warm up: the session is written once
    few = _panel_queries(owner_client, practice)
    with scope(spa=spa):
        for index in range(30):
            ReferralFactory(practice=practice, received_at=at("2026-06-01 10:00"), status=COMPLETED)
            ServiceFactory(spa=spa, name=f"Service {index}")
    many = _panel_queries(owner_client, practice)
    assert few == many


def test_the_panel_alone_is_for_the_team_only(client, staff_client, outsider_client, spa):
    practice = partner(spa, "Panel Derm", recent=[COMPLETED], contact_days=5, check_in_days=5)
    response = staff_client.get(url("health_practice_panel", spa, practice.public_id), **HTMX)
    assert response.status_code == 200
    assert 'id="check-ins"' in page_text(response)
    assert outsider_client.get(url("health_practice_panel", spa, practice.public_id)).status_code == 404
    anonymous = client.get(url("health_practice_panel", spa, practice.public_id))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


# --- the cadence form -----------------------------------------------------------------------------


@pytest.fixture
def active(spa, owner):
    return partner(spa, "Cadence Derm", owner=owner, in_stage_days=30, recent=[COMPLETED], contact_days=3)


def test_a_manager_sets_a_practice_s_cadence(client_for, manager_user, spa, active):
    client = client_for(manager_user)
    response = client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "45"})
    became_active = TODAY - datetime.timedelta(days=30)
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:detail", args=[spa.slug, active.public_id]) + "#check-ins"
    row = cadence(active)
    assert row.cadence_days == 45
    assert row.next_due_on == became_active + datetime.timedelta(days=45)
    assert rows(AuditEvent, spa=spa, action="check_in_cadence.updated")
    page = page_text(client.get(response["Location"]))
    assert "Check-ins with Cadence Derm every 45 days; the next one is due" in page
    assert "Every 45 days (set for this practice)." in page


def test_htmx_gets_the_redrawn_panel_and_an_empty_value_restores_the_default(owner_client, spa, active):
    owner_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "45"})
    response = owner_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": ""}, **HTMX)
    assert response.status_code == 200
    body = page_text(response)
    assert body.lstrip().startswith('<section class="card shadow-sm mb-4" id="check-ins"')
    assert "follow the spa&#x27;s default, every 91 days" in body or "follow the spa's default, every 91 days" in body
    assert cadence(active).cadence_days is None
    assert cadence(active).next_due_on == TODAY - datetime.timedelta(days=30) + datetime.timedelta(days=91)


@pytest.mark.parametrize("value", ["6", "366", "0", "-5", "often", "12.5"])
def test_a_cadence_outside_7_to_365_days_is_refused_beside_the_field(owner_client, spa, active, value):
    owner_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "60"})
    response = owner_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": value})
    assert response.status_code == 400
    assert field_error(response, "cadence_days", prefix="health") in {
        "Choose a number of days between 7 and 365.",
        "Enter a whole number.",
    }
    assert cadence(active).cadence_days == 60
    htmx = owner_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": value}, **HTMX)
    assert htmx.status_code == 400
    assert field_error(htmx, "cadence_days", prefix="health")
    assert 'id="check-ins" aria-labelledby="health-title" data-swap-errors' in page_text(htmx)
    assert cadence(active).cadence_days == 60


def test_the_cadence_page_without_javascript(owner_client, spa, active):
    response = owner_client.get(url("health_cadence_update", spa, active.public_id))
    assert response.status_code == 200
    body = page_text(response)
    assert "How often to check in with Cadence Derm" in body
    assert 'for="health_cadence_days"' in body


def test_only_active_partners_have_a_cadence(owner_client, spa):
    trial = partner(spa, "Trial Derm", stage=Stage.TRIAL)
    response = owner_client.post(url("health_cadence_update", spa, trial.public_id), {"cadence_days": "30"})
    assert response.status_code == 400
    assert "Check-ins are scheduled for active partners only." in page_text(response)
    assert cadence(trial) is None


def test_staff_may_not_change_the_cadence(staff_client, spa, active):
    response = staff_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "30"})
    assert response.status_code == 403
    assert cadence(active) is None or cadence(active).cadence_days is None


def test_outsiders_and_other_spas_practices_get_404(client, outsider_client, owner_client, spa, other_spa, active):
    assert (
        outsider_client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "30"}).status_code
        == 404
    )
    theirs = partner(other_spa, "Outsider Active Derm")
    assert (
        owner_client.post(url("health_cadence_update", spa, theirs.public_id), {"cadence_days": "30"}).status_code
        == 404
    )
    anonymous = client.post(url("health_cadence_update", spa, active.public_id), {"cadence_days": "30"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert cadence(active) is None or cadence(active).cadence_days is None
    assert cadence(theirs) is None


def test_logging_a_check_in_from_the_practice_page_moves_the_date_shown(owner_client, spa, owner, active):
    with scope(spa=spa):
        check_ins_create_due(spa=spa, now=NOW)
    response = owner_client.post(
        url("touchpoint_log", spa, active.public_id),
        {"kind": "check_in", "occurred_on": TODAY.isoformat(), "outcome": "positive"},
    )
    assert response.status_code == 302
    assert cadence(active).next_due_on == TODAY + datetime.timedelta(days=91)
    panel = panel_of(practice_page(owner_client, active))
    assert f'data-next-check-in="{(TODAY + datetime.timedelta(days=91)).isoformat()}"' in panel
    assert "Last check-in Jun 30, 2026." in panel


def test_a_practice_in_the_pipeline_costs_the_panel_no_query(rf, spa, django_assert_num_queries):
    from outreach.health.views import health_panel_context

    practice = make_practice(spa, name="Meeting Derm", stage=Stage.MEETING)
    request = rf.get("/")
    request.spa, request.membership = spa, None
    with scope(spa=spa), django_assert_num_queries(0):
        assert health_panel_context(request, practice) == {"show": False}
