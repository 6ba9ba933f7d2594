"""The spa's referral inbox (filters, counts, pages, query budget), a referral's page and the response rules."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from infra.models import AuditEvent
from referrals import services
from referrals.models import ReferralEvent, ReferralService, ReferralSettings, Status

from ..factories import ClinicianFactory, MembershipFactory, ServiceFactory, UserFactory
from .spa_helpers import (
    HTMX,
    alerts,
    audit_actions,
    field_error,
    listed_patients,
    make_practice,
    make_referral,
    page_text,
    receive_referral,
    rows,
    tab_counts,
    url,
)

PAST = timezone.now() - datetime.timedelta(days=1)


def _overdue(spa, **fields):
    return make_referral(spa, first_contact_due_at=timezone.now() - datetime.timedelta(hours=2), **fields)


# --- the list ---------------------------------------------------------------------------------------


def test_an_empty_inbox_says_how_referrals_arrive(owner_client, spa):
    response = owner_client.get(url("inbox", spa))

    assert response.status_code == 200
    assert "No referrals yet." in page_text(response)
    assert url("create", spa) in page_text(response)


def test_the_all_tab_lists_this_spas_referrals_newest_first(owner_client, spa, other_spa):
    now = timezone.now()
    make_referral(
        spa, patient_first_name="Ada", patient_last_name="Older", received_at=now - datetime.timedelta(hours=3)
    )
    make_referral(
        spa, patient_first_name="Bea", patient_last_name="Newer", received_at=now - datetime.timedelta(hours=1)
    )
    make_referral(other_spa, patient_first_name="Cy", patient_last_name="Elsewhere")

    response = owner_client.get(url("inbox", spa, query="status="))

    assert listed_patients(response) == ["Bea Newer", "Ada Older"]
    assert "Elsewhere" not in page_text(response)


def test_the_inbox_flags_overdue_referrals(owner_client, spa):
    _overdue(spa, patient_last_name="Waiting")
    make_referral(spa, patient_last_name="Fresh")

    page = page_text(owner_client.get(url("inbox", spa)))

    table_rows = re.findall(r"<tr data-referral=.*?</tr>", page, re.S)
    waiting = next(row for row in table_rows if "Waiting" in row)
    fresh = next(row for row in table_rows if "Fresh" in row)
    assert "Overdue" in waiting
    assert "Overdue" not in fresh


@pytest.fixture
def mixed_inbox(spa, staff_user):
    """Six referrals across practices, specialties, channels, statuses, assignees and the clock."""
    derm = make_practice(spa, name="Derm Partners", specialty="dermatology")
    physio = make_practice(spa, name="Physio Partners", specialty="physical_therapy")
    return {
        "received_overdue": _overdue(spa, practice=derm, patient_last_name="Alpha", channel="fax"),
        "received": make_referral(spa, practice=derm, patient_last_name="Bravo", channel="portal", assignee=staff_user),
        "accepted_overdue": _overdue(
            spa, practice=physio, patient_last_name="Charlie", status=Status.ACCEPTED, assignee=staff_user
        ),
        "contacted": make_referral(
            spa, practice=physio, patient_last_name="Delta", status=Status.CONTACTED, channel="api"
        ),
        "scheduled": make_referral(spa, practice=physio, patient_last_name="Echo", status=Status.SCHEDULED),
        "completed": make_referral(
            spa,
            practice=derm,
            patient_last_name="Foxtrot",
            status=Status.COMPLETED,
            channel="landing",
            first_contact_due_at=PAST,
        ),
        "derm": derm,
        "physio": physio,
    }


def _names(response):
    return sorted(name.split()[-1] for name in listed_patients(response))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=received", ["Alpha", "Bravo"]),
        ("status=open", ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
        ("status=completed", ["Foxtrot"]),
        ("specialty=physical_therapy", ["Charlie", "Delta", "Echo"]),
        ("channel=fax", ["Alpha"]),
        ("status=&channel=landing", ["Foxtrot"]),
        ("channel=landing", []),  # the inbox opens on Open
        ("overdue=true", ["Alpha", "Charlie"]),
        ("overdue=false", ["Bravo", "Delta", "Echo", "Foxtrot"]),
        ("status=&assignee=null", ["Alpha", "Delta", "Echo", "Foxtrot"]),
        ("assignee=null", ["Alpha", "Delta", "Echo"]),
        ("status=received&overdue=true", ["Alpha"]),
        ("status=", ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]),
        ("", ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
    ],
)
def test_each_filter_narrows_the_inbox(owner_client, spa, mixed_inbox, query, expected):
    response = owner_client.get(url("inbox", spa, query=query))

    assert response.status_code == 200
    assert _names(response) == expected


def test_the_practice_and_assignee_filters(owner_client, spa, staff_user, mixed_inbox):
    by_practice = owner_client.get(url("inbox", spa, query=f"status=&practice={mixed_inbox['derm'].public_id}"))
    by_assignee = owner_client.get(url("inbox", spa, query=f"status=&assignee={staff_user.pk}"))

    assert _names(by_practice) == ["Alpha", "Bravo", "Foxtrot"]
    assert _names(by_assignee) == ["Bravo", "Charlie"]


def test_the_filters_offer_only_this_spas_practices_and_members(owner_client, spa, staff_user, outsider, other_spa):
    ours = make_practice(spa, name="Our Dermatology")
    make_practice(other_spa, name="Their Dermatology")

    page = page_text(owner_client.get(url("inbox", spa, query=f"practice={ours.public_id}")))

    assert "Our Dermatology" in page  # the chosen practice, shown by name (practices are searched, not listed)
    assert "Their Dermatology" not in page
    assert f'<option value="{staff_user.pk}">Stacy Staff</option>' in page
    assert "Otto Outsider" not in page
    assert '<option value="" selected>Any</option>' in page


def test_practices_are_found_by_name_without_listing_them_all(owner_client, spa, mixed_inbox):
    for index in range(30):
        make_practice(spa, name=f"Unrelated Clinic {index}")
    response = owner_client.get(url("inbox", spa, query="status=&practice_name=derm"))
    assert _names(response) == ["Alpha", "Bravo", "Foxtrot"]
    assert "Unrelated Clinic" not in page_text(response)


def test_another_spas_practice_in_the_filter_is_ignored_not_leaked(owner_client, spa, other_spa, mixed_inbox):
    theirs = make_practice(other_spa, name="Their Dermatology")

    response = owner_client.get(url("inbox", spa, query=f"practice={theirs.public_id}"))

    assert response.status_code == 200
    assert "Their Dermatology" not in page_text(response)


def test_the_tabs_count_each_status_open_and_overdue(owner_client, spa, mixed_inbox):
    counts = tab_counts(owner_client.get(url("inbox", spa)))

    assert counts == {
        "all": 6,
        "open": 5,
        "overdue": 2,
        "received": 2,
        "accepted": 1,
        "contacted": 1,
        "scheduled": 1,
        "unreachable": 0,
        "no_show": 0,
        "completed": 1,
        "declined": 0,
        "cancelled": 0,
        "withdrawn": 0,
    }


def test_the_tabs_count_within_the_other_filters_but_across_statuses(owner_client, spa, mixed_inbox):
    counts = tab_counts(owner_client.get(url("inbox", spa, query="specialty=dermatology&status=received")))

    shown = {key: counts[key] for key in ("all", "open", "overdue", "received", "accepted", "completed")}
    assert shown == {"all": 3, "open": 2, "overdue": 1, "received": 2, "accepted": 0, "completed": 1}


def test_a_tab_keeps_the_other_filters(owner_client, spa, mixed_inbox):
    page = page_text(owner_client.get(url("inbox", spa, query="channel=fax&status=received&page=1")))

    assert 'href="?channel=fax&status=scheduled"' in page
    assert 'href="?channel=fax&overdue=true"' in page


def test_the_inbox_pages_fifty_at_a_time(owner_client, spa):
    practice = make_practice(spa)
    now = timezone.now()
    for minutes in range(51):
        make_referral(
            spa,
            practice=practice,
            patient_last_name=f"P{minutes:02d}",
            received_at=now - datetime.timedelta(minutes=minutes),
        )

    first = owner_client.get(url("inbox", spa, query="status="))
    second = owner_client.get(url("inbox", spa, query="status=&page=2"))

    assert len(listed_patients(first)) == 50
    assert [name.split()[-1] for name in listed_patients(second)] == ["P50"]
    assert "Page 1 of 2" in page_text(first)
    assert "51 referrals" in page_text(first)


def test_htmx_gets_only_the_results(owner_client, spa, mixed_inbox):
    response = owner_client.get(url("inbox", spa, query="channel=fax"), **HTMX)

    page = page_text(response)
    assert "<html" not in page
    assert "inbox-tabs" in page
    assert _names(response) == ["Alpha"]


def test_no_match_offers_to_clear_the_filters(owner_client, spa, mixed_inbox):
    page = page_text(owner_client.get(url("inbox", spa, query="channel=email")))

    assert "No referral matches these filters." in page


def _fill_inbox(spa, how_many, staff_user):
    practices = [make_practice(spa, name=f"Budget Practice {n}") for n in range(3)]
    with scope(spa=spa):
        clinicians = [ClinicianFactory(spa=spa, practice=practice) for practice in practices]
    for n in range(how_many):
        make_referral(
            spa,
            practice=practices[n % 3],
            clinician=clinicians[n % 3],
            assignee=staff_user if n % 2 else None,
            status=[Status.RECEIVED, Status.ACCEPTED, Status.CONTACTED][n % 3],
        )


def test_the_inbox_query_count_does_not_grow_with_the_referrals(
    owner_client, spa, staff_user, django_assert_max_num_queries, django_assert_num_queries
):
    def cold(address):
        cache.clear()  # measure the worst case: the counts computed, not read from the cache
        return owner_client.get(address)

    filtered = url("inbox", spa, query=f"assignee={staff_user.pk}&status=open&overdue=false")
    _fill_inbox(spa, 5, staff_user)
    owner_client.get(url("inbox", spa))  # the first visit also writes the session (last spa); measure after it
    with django_assert_max_num_queries(20) as few:
        assert cold(url("inbox", spa)).status_code == 200
    with django_assert_max_num_queries(20) as few_filtered:
        assert cold(filtered).status_code == 200

    _fill_inbox(spa, 195, staff_user)

    with django_assert_num_queries(len(few.captured_queries)):
        cold(url("inbox", spa))
    with django_assert_num_queries(len(few_filtered.captured_queries)):
        cold(filtered)
    with django_assert_num_queries(len(few.captured_queries)):
        cold(url("inbox", spa, query="page=3"))


def test_a_warm_inbox_runs_no_count_and_a_change_shows_at_once(
    owner_client, spa, staff_user, django_capture_on_commit_callbacks
):
    """With the counts cached, a page view runs no COUNT over the spa's referrals; a new referral (after
    commit) bumps the generation, so the next view counts again and shows it."""
    _fill_inbox(spa, 5, staff_user)
    owner_client.get(url("inbox", spa))
    with CaptureQueriesContext(connection) as warm:
        response = owner_client.get(url("inbox", spa))
    assert not [query for query in warm.captured_queries if "COUNT(" in query["sql"].upper()]
    before = response.context["counts"]["all"]
    assert response.context["total"] == before
    with django_capture_on_commit_callbacks(execute=True):
        receive_referral(spa)
    with CaptureQueriesContext(connection) as after_change:
        response = owner_client.get(url("inbox", spa))
    assert [query for query in after_change.captured_queries if "COUNT(" in query["sql"].upper()]
    assert response.context["counts"]["all"] == response.context["total"] == before + 1


def test_the_inbox_still_works_when_the_cache_is_down(owner_client, spa, staff_user, monkeypatch):
    _fill_inbox(spa, 3, staff_user)

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    for name in ("get", "set", "incr", "add"):
        monkeypatch.setattr(cache, name, broken)
    response = owner_client.get(url("inbox", spa))
    assert response.status_code == 200
    assert response.context["counts"]["all"] == 3


def test_staff_can_use_the_inbox_and_outsiders_cannot(staff_client, outsider_client, spa, mixed_inbox):
    assert staff_client.get(url("inbox", spa)).status_code == 200
    response = outsider_client.get(url("inbox", spa))
    assert response.status_code == 404
    assert "Alpha" not in page_text(response)


def test_anonymous_visitors_are_sent_to_sign_in(client, spa):
    response = client.get(url("inbox", spa))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- the navigation -------------------------------------------------------------------------------


def test_the_navigation_leads_with_referrals_and_shows_the_overdue_count(owner_client, spa):
    _overdue(spa)
    _overdue(spa)
    make_referral(spa)

    page = page_text(owner_client.get(f"/s/{spa.slug}/"))

    nav = page.split('<ul class="navbar-nav me-auto">', 1)[1].split("</ul>", 1)[0]
    links = re.findall(r'href="([^"]+)"', nav)
    assert links[1] == url("inbox", spa)  # first after Home
    assert '<span class="badge rounded-pill text-bg-danger">2<span class="visually-hidden"> overdue</span>' in nav


def test_the_navigation_shows_no_badge_when_nothing_is_overdue(owner_client, spa):
    make_referral(spa)

    page = page_text(owner_client.get(f"/s/{spa.slug}/"))

    assert "text-bg-danger" not in page.split('<ul class="navbar-nav me-auto">', 1)[1].split("</ul>", 1)[0]


# --- a referral's page ----------------------------------------------------------------------------


def test_every_visit_to_a_referrals_page_writes_exactly_one_view_event(owner_client, spa, owner):
    referral = make_referral(spa)

    for _ in range(3):
        assert owner_client.get(url("detail", spa, referral.public_id)).status_code == 200

    assert audit_actions(spa) == ["referral.viewed"] * 3
    events = rows(AuditEvent, spa=spa)
    assert {(event.actor, event.object_id, event.detail["via"]) for event in events} == {
        (owner, str(referral.public_id), "spa")
    }


def test_the_page_shows_patient_referral_consent_clock_and_timeline(owner_client, spa, staff_user):
    practice = make_practice(spa, name="Back Bay Dermatology", specialty="dermatology")
    with scope(spa=spa):
        clinician = ClinicianFactory(
            spa=spa, practice=practice, first_name="Priya", last_name="Patel", credentials="MD"
        )
        service = ServiceFactory(spa=spa, name="Calming facial")
    referral = make_referral(
        spa,
        practice=practice,
        clinician=clinician,
        patient_first_name="Maria",
        patient_last_name="Lopez",
        patient_phone="617-555-0142",
        patient_email="maria@example.com",
        reason_category="post_procedure_skin_care",
        reason_text="Two weeks after laser resurfacing.",
        precautions="No retinoids; sensitive to fragrance.",
        consent_method="verbal",
        consent_captured_by="Stacy Staff",
        received_at=datetime.datetime(2025, 6, 6, 19, 30, tzinfo=datetime.UTC),
        first_contact_due_at=datetime.datetime(2025, 6, 10, 19, 30, tzinfo=datetime.UTC),
    )
    with scope(spa=spa):
        ReferralService.objects.create(spa=spa, referral=referral, service=service)
        ReferralEvent.objects.create(
            spa=spa, referral=referral, kind="received", to_status="received", actor_label="Phone"
        )

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    for text in [
        "Maria Lopez",
        '<a href="tel:+1-617-555-0142">(617) 555-0142</a>',
        "maria@example.com",
        "Back Bay Dermatology",
        "Priya Patel, MD",
        "Post-procedure skin care",
        "Two weeks after laser resurfacing.",
        "No retinoids; sensitive to fragrance.",
        "Calming facial",
        "Patient agreed verbally (recorded by spa staff)",
        "Stacy Staff",
        # Due Tuesday 15:30 in New York, shown on the spa's clock with its year (not this year), and overdue.
        "Tue June 10, 2025, 3:30 p.m.",
        "Overdue",
        "Received (Phone)",
    ]:
        assert text in page, text


def test_the_referral_page_query_count_does_not_grow_with_its_timeline(
    owner_client, spa, owner, staff_user, django_assert_max_num_queries, django_assert_num_queries
):
    referral = make_referral(spa)
    page_url = url("detail", spa, referral.public_id)

    def add_history(times):
        with scope(spa=spa):
            for n in range(times):
                services.referral_add_note(referral=referral, note=f"Note {n}", actor=owner)
                services.referral_assign(referral=referral, assignee=staff_user if n % 2 else owner, actor=owner)
                ReferralService.objects.get_or_create(spa=spa, referral=referral, service=ServiceFactory(spa=spa))

    add_history(2)
    owner_client.get(page_url)  # the first visit also writes the session and the default response rules
    with django_assert_max_num_queries(25) as few:
        owner_client.get(page_url)

    add_history(20)

    with django_assert_num_queries(len(few.captured_queries)):
        response = owner_client.get(page_url)
    assert page_text(response).count('class="timeline-event') == 44


def test_a_referral_of_another_spa_is_not_found_by_its_uuid(owner_client, spa, other_spa):
    foreign = make_referral(other_spa, patient_last_name="Elsewhere")

    response = owner_client.get(url("detail", spa, foreign.public_id))

    assert response.status_code == 404
    assert "Elsewhere" not in page_text(response)
    assert audit_actions(spa) == [] and audit_actions(other_spa) == []


def test_an_unknown_referral_is_not_found(owner_client, spa):
    assert owner_client.get(url("detail", spa, "00000000-0000-4000-8000-000000000000")).status_code == 404


def test_a_referral_received_through_the_service_shows_its_first_timeline_line(owner_client, spa):
    referral = receive_referral(spa)

    page = page_text(owner_client.get(url("detail", spa, referral.public_id)))

    assert "Received (Phone)" in page
    assert page.count('class="timeline-event') == 1


# --- response rules (owners) ------------------------------------------------------------------------


def test_owners_set_the_response_rules_and_the_change_is_audited(owner_client, spa, owner):
    response = owner_client.post(
        url("settings", spa),
        {"first_contact_business_days": "3", "unreachable_after_attempts": "4", "authorization_validity_months": "12"}
        | {"message_follow_up_business_days": "2"},
    )

    assert response.status_code == 302
    stored = rows(ReferralSettings, spa=spa)[0]
    assert (stored.first_contact_business_days, stored.unreachable_after_attempts) == (3, 4)
    events = rows(AuditEvent, spa=spa, action="referral_settings.updated")
    assert [(event.actor, event.detail) for event in events] == [
        (owner, {"first_contact_business_days": 3, "unreachable_after_attempts": 4})
    ]
    assert "Referral settings saved." in alerts(owner_client.get(response["Location"]))


def test_saving_unchanged_rules_writes_no_audit_event(owner_client, spa):
    owner_client.post(
        url("settings", spa),
        {"first_contact_business_days": "2", "unreachable_after_attempts": "3", "authorization_validity_months": "12"}
        | {"message_follow_up_business_days": "2"},
    )

    assert audit_actions(spa) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_contact_business_days", "0"), ("first_contact_business_days", "11"), ("unreachable_after_attempts", "x")],
)
def test_impossible_rules_are_refused_beside_the_field(owner_client, spa, field, value):
    data = {
        "first_contact_business_days": "2",
        "unreachable_after_attempts": "3",
        "message_follow_up_business_days": "2",
        "authorization_validity_months": "12",
        field: value,
    }

    response = owner_client.post(url("settings", spa), data)

    assert response.status_code == 400
    assert field_error(response, field)
    assert audit_actions(spa) == []


def test_only_owners_change_the_response_rules(staff_client, spa, manager_user, client_for):
    assert staff_client.get(url("settings", spa)).status_code == 403
    assert client_for(manager_user).post(url("settings", spa), {"first_contact_business_days": "5"}).status_code == 403


def test_the_response_rules_link_is_shown_to_owners_only(owner_client, staff_client, spa):
    assert url("settings", spa) in page_text(owner_client.get(url("inbox", spa)))
    assert url("settings", spa) not in page_text(staff_client.get(url("inbox", spa)))


def test_a_new_member_sees_the_inbox_too(spa, client_for):
    member = MembershipFactory(spa=spa, user=UserFactory(full_name="New Hire")).user
    make_referral(spa, patient_last_name="Visible")

    assert "Visible" in page_text(client_for(member).get(url("inbox", spa)))


def test_an_unknown_referral_in_a_form_post_is_not_found(owner_client, spa):
    response = owner_client.post(url("action_accept", spa, "00000000-0000-4000-8000-000000000000"), {"version": 1})

    assert response.status_code == 404
