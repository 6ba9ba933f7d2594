"""The partners list's figures: last contact, next task due, referrals in 3 months and health, each a sortable
column (server-side ``?sort=``, headers with aria-sort), at a query cost that does not grow with the rows."""

import datetime
import html
import re

import pytest
from django.utils import timezone
from django_scopes import scope

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from partners.models import Practice, Stage
from partners.services import practice_move_stage
from referrals.models import Status

from ..factories import ReferralFactory
from .helpers import HTMX, listed_practices, make_practice, page_text, url
from .test_query_budgets import LIST_BUDGET, _grow, _queries, _same_count


def _days(spa, days):
    return activity_selectors.spa_today(spa) + datetime.timedelta(days=days)


def _referrals(practice, count, *, days_ago=5, status=Status.COMPLETED):
    received = timezone.now() - datetime.timedelta(days=days_ago)
    with scope(spa=practice.spa):
        for _ in range(count):
            ReferralFactory(
                spa=practice.spa,
                practice=practice,
                status=status,
                received_at=received,
                first_contact_due_at=received + datetime.timedelta(days=2),
            )


@pytest.fixture
def partners(spa, owner):
    """Three practices with different figures.

    - Glow Dermatology (active): contacted 3 days ago, a task due in 2 days, 4 referrals lately → healthy;
    - Harbor OB-GYN (active): contacted 100 days ago, no task, 3 referrals the 3 months before, none lately →
      at risk;
    - Cedar Physio (prospect): never contacted, a task due yesterday, no referrals → no health (not a partner).
    """
    glow = make_practice(spa, actor=owner, name="Glow Dermatology")
    harbor = make_practice(spa, actor=owner, name="Harbor OB-GYN", specialty="ob_gyn")
    cedar = make_practice(spa, actor=owner, name="Cedar Physio", specialty="physical_therapy")
    with scope(spa=spa):
        for practice in (glow, harbor):
            practice_move_stage(practice=practice, to_stage=Stage.ACTIVE, actor=owner)
        activity_services.touchpoint_log(
            spa=spa, practice=glow, kind="check_in", occurred_on=_days(spa, -3), actor=owner, close_task=False
        )
        activity_services.touchpoint_log(
            spa=spa, practice=harbor, kind="check_in", occurred_on=_days(spa, -100), actor=owner, close_task=False
        )
        activity_services.task_create(spa=spa, title="Bring new pads", due_on=_days(spa, 2), practice=glow)
        activity_services.task_create(spa=spa, title="Intro call", due_on=_days(spa, -1), practice=cedar)
        activity_services.task_create(spa=spa, title="Later call", due_on=_days(spa, 9), practice=cedar)
    _referrals(glow, 4, days_ago=10)
    _referrals(glow, 2, days_ago=120)  # outside the last 3 months (this one and the two before), in the 3 before
    _referrals(harbor, 3, days_ago=120)
    return {"glow": glow, "harbor": harbor, "cedar": cedar}


def _row(response, practice):
    body = page_text(response)
    return body.split(f'<tr data-practice="{practice.public_id}">', 1)[1].split("</tr>", 1)[0]


def _cell(row, column):
    match = re.search(rf'<td[^>]*data-column="{column}">(.*?)</td>', row, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_each_row_shows_last_contact_next_task_referrals_and_health(owner_client, spa, partners):
    response = owner_client.get(url("list", spa))

    glow = _row(response, partners["glow"])
    assert _cell(glow, "last_contact") == _days(spa, -3).strftime("%b %-d") + (
        f", {_days(spa, -3).year}" if _days(spa, -3).year != _days(spa, 0).year else ""
    )
    assert _cell(glow, "next_task").startswith(_days(spa, 2).strftime("%b %-d"))
    assert 'title="Bring new pads"' in glow
    assert _cell(glow, "referrals_90d") == "4"
    assert 'data-health-status="healthy"' in glow

    harbor = _row(response, partners["harbor"])
    assert _cell(harbor, "next_task") == "—"
    assert _cell(harbor, "referrals_90d") == "0"
    assert 'data-health-status="at_risk"' in harbor
    assert "No referrals in 3 months (3 the 3 months before)" in harbor  # the reasons, as the badge's title

    cedar = _row(response, partners["cedar"])
    assert _cell(cedar, "last_contact") == "—"
    assert "text-danger-emphasis" in cedar and 'title="Intro call"' in cedar  # overdue: the earliest open task
    assert _cell(cedar, "health") == "—"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", ["Cedar Physio", "Glow Dermatology", "Harbor OB-GYN"]),
        ("-name", ["Harbor OB-GYN", "Glow Dermatology", "Cedar Physio"]),
        ("last_contact", ["Harbor OB-GYN", "Glow Dermatology", "Cedar Physio"]),  # longest silence first
        ("-last_contact", ["Glow Dermatology", "Harbor OB-GYN", "Cedar Physio"]),  # never contacted: last
        ("next_task", ["Cedar Physio", "Glow Dermatology", "Harbor OB-GYN"]),
        ("-referrals_90d", ["Glow Dermatology", "Cedar Physio", "Harbor OB-GYN"]),
        ("referrals_90d", ["Cedar Physio", "Harbor OB-GYN", "Glow Dermatology"]),
        ("health", ["Harbor OB-GYN", "Glow Dermatology", "Cedar Physio"]),  # worst first; not partners last
        ("-health", ["Glow Dermatology", "Harbor OB-GYN", "Cedar Physio"]),
        ("stage", ["Cedar Physio", "Glow Dermatology", "Harbor OB-GYN"]),
        ("-stage", ["Glow Dermatology", "Harbor OB-GYN", "Cedar Physio"]),
        ("nonsense", ["Cedar Physio", "Glow Dermatology", "Harbor OB-GYN"]),
        ("-", ["Cedar Physio", "Glow Dermatology", "Harbor OB-GYN"]),
    ],
)
def test_the_columns_sort_the_list(owner_client, spa, partners, sort, expected):
    response = owner_client.get(url("list", spa, query=f"sort={sort}"))
    assert response.status_code == 200
    assert listed_practices(response) == expected


def _headers(response):
    head = page_text(response).split("<thead", 1)[1].split("</thead>", 1)[0]
    return {
        key: (aria, html.unescape(href))
        for aria, key, href in re.findall(
            r'<th scope="col" aria-sort="([a-z]+)" data-sort="([a-z_0-9]+)"[^>]*>\s*<a [^>]*href="([^"]+)"', head
        )
    }


def test_headers_say_how_the_list_is_sorted_and_keep_the_filters(owner_client, spa, partners):
    headers = _headers(owner_client.get(url("list", spa, query="stage=active&sort=-referrals_90d&page=1")))

    assert headers["referrals_90d"] == ("descending", "?stage=active&sort=referrals_90d")
    assert headers["name"] == ("none", "?stage=active&sort=name")
    assert headers["health"] == ("none", "?stage=active&sort=health")
    assert set(headers) == {"name", "stage", "last_contact", "next_task", "referrals_90d", "health", "owner"}

    default = _headers(owner_client.get(url("list", spa)))
    assert default["name"] == ("ascending", "?sort=-name")
    assert default["referrals_90d"] == ("none", "?sort=-referrals_90d")  # most referrals first on the first click


def test_filtering_keeps_the_sort_and_htmx_returns_the_sorted_table(owner_client, spa, partners):
    page = page_text(owner_client.get(url("list", spa, query="sort=health")))
    assert '<input type="hidden" name="sort" value="health" form="practice-filters" id="list-sort">' in page
    assert 'id="practice-filters"' in page
    response = owner_client.get(url("list", spa, query="stage=active&sort=-health"), **HTMX)
    assert "<html" not in page_text(response)
    assert listed_practices(response) == ["Glow Dermatology", "Harbor OB-GYN"]


def test_outsiders_see_neither_the_list_nor_its_figures(outsider_client, client, spa, partners):
    response = outsider_client.get(url("list", spa, query="sort=health"))
    assert response.status_code == 404
    anonymous = client.get(url("list", spa, query="sort=-referrals_90d"))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.parametrize("sort", ["-referrals_90d", "health", "last_contact", "next_task"])
def test_sorting_by_a_figure_costs_the_same_for_10_and_500_practices(owner_client, spa, owner, manager_user, sort):
    address = url("list", spa, query=f"sort={sort}")
    _grow(spa, [owner, manager_user, None], 10)
    _page, small = _queries(owner_client, address)
    _grow(spa, [owner, manager_user, None], 500)
    with scope(spa=spa):
        for practice in Practice.objects.filter(stage__in=[Stage.ACTIVE, Stage.TRIAL])[:60]:
            activity_services.touchpoint_log(
                spa=spa, practice=practice, kind="email", occurred_on=_days(spa, -5), actor=owner, close_task=False
            )
            activity_services.task_create(spa=spa, title="Check in", due_on=_days(spa, 3), practice=practice)
    large_page, large = _queries(owner_client, address)

    assert len(listed_practices(large_page)) == 50
    assert 'data-health-status="' in page_text(large_page)
    _same_count(small, large)
    # The list's budget holds: the figures are subqueries of the page's query; health costs three queries for
    # the page's partners (settings, practices, referral figures), and sorting by it three more to rank them all.
    assert len(large) <= LIST_BUDGET
