"""The list, the board and the practice page cost the same number of queries however much data there is."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from partners import services
from partners.models import (
    Clinician,
    Practice,
    PracticeTag,
    ReferralCode,
    Stage,
    StageChange,
    Tag,
    generate_referral_code,
)

from .helpers import board_columns, listed_practices, make_practice, url

# Measured (session, user, membership, navigation, the page's own reads, the filter menus) plus two.
LIST_BUDGET = 17
BOARD_BUDGET = 15
# 21 for the practice, its people, stage history, portal and pads; 11 for the outreach panels (touchpoints,
# open tasks, playbook, campaigns, objections, gifts); 2 for its referrals (the latest, the counts per status).
# Constant whatever the rows (see _same_count).
DETAIL_BUDGET = 34


def _grow(spa, owners, upto):
    """Add practices (two clinicians, codes, two tags and a history row each) until the spa has ``upto``."""
    with scope(spa=spa):
        tags = [Tag.objects.get_or_create(spa=spa, name=name)[0] for name in ["vip", "lunch done", "fax only"]]
        start = Practice.objects.filter(spa=spa).count()
        stages = itertools.cycle(Stage.values)
        practices = Practice.objects.bulk_create(
            [
                Practice(
                    spa=spa,
                    name=f"Practice {n:04d}",
                    specialty="dermatology" if n % 2 else "physical_therapy",
                    city="Boston" if n % 3 else "Cambridge",
                    phone=f"+1617555{n:04d}",  # stored as the forms store it, with its comparison key
                    phone_normalized=f"+1617555{n:04d}",
                    owner=owners[n % len(owners)],
                    stage=next(stages),
                    declined_reason="Too busy",
                )
                for n in range(start, upto)
            ]
        )
        clinicians = Clinician.objects.bulk_create(
            [
                Clinician(spa=spa, practice=practice, first_name="Pat", last_name=f"Doctor{practice.pk}-{i}")
                for practice in practices
                for i in range(2)
            ]
        )
        ReferralCode.objects.bulk_create(
            [ReferralCode(spa=spa, practice=practice, code=generate_referral_code()) for practice in practices]
            + [
                ReferralCode(spa=spa, practice=clinician.practice, clinician=clinician, code=generate_referral_code())
                for clinician in clinicians
            ]
        )
        # Tags by position, not by database id: the same practices match a tag filter in every run (the
        # filtered page then always holds an active partner, whose health costs its fixed few queries).
        PracticeTag.objects.bulk_create(
            [
                PracticeTag(spa=spa, practice=practice, tag=tags[(start + index + i) % len(tags)])
                for index, practice in enumerate(practices)
                for i in range(2)
            ]
        )
        StageChange.objects.bulk_create(
            [StageChange(spa=spa, practice=practice, to_stage=practice.stage) for practice in practices]
        )


def _queries(client, address):
    client.get(address)  # warm up: the first request of a session writes to it
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return response, [query["sql"] for query in queries.captured_queries]


def _same_count(small, large):
    assert len(small) == len(large), "\n".join(["10 practices:", *small, "", "500 practices:", *large])


@pytest.mark.parametrize("query", ["", "tag=vip&city=Boston&specialty=dermatology&q=doctor", "q=617-555&page=2"])
def test_the_list_costs_the_same_for_10_and_500_practices(owner_client, spa, owner, manager_user, query):
    address = url("list", spa, query=query)
    _grow(spa, [owner, manager_user, None], 10)
    small_page, small = _queries(owner_client, address)
    _grow(spa, [owner, manager_user, None], 500)
    large_page, large = _queries(owner_client, address)

    assert listed_practices(small_page)
    assert len(listed_practices(large_page)) == 50
    _same_count(small, large)
    assert len(large) <= LIST_BUDGET


@pytest.mark.parametrize("query", ["", "owner=null&city=Cambridge&q=practice"])
def test_the_board_costs_the_same_for_10_and_500_practices(owner_client, spa, owner, manager_user, query):
    address = url("board", spa, query=query)
    _grow(spa, [owner, manager_user, None], 10)
    small_page, small = _queries(owner_client, address)
    _grow(spa, [owner, manager_user, None], 500)
    large_page, large = _queries(owner_client, address)

    cards = sum(len(names) for _count, names in board_columns(large_page).values())
    if not query:
        assert sum(count for count, _names in board_columns(large_page).values()) == 500
        assert cards == 40 * len(Stage.values)  # capped per column
    _same_count(small, large)
    assert len(large) <= BOARD_BUDGET


def test_an_htmx_move_on_a_full_board_costs_the_same_as_on_a_small_one(owner_client, spa, owner, manager_user):
    _grow(spa, [owner, manager_user], 10)
    small_board = [make_practice(spa, name=f"Mover {n}") for n in range(2)]

    def move(practice):
        owner_client.get(url("board", spa))
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.post(
                url("move_stage", spa, practice.public_id), {"stage": "trial", "from": "board"}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200
        return [query["sql"] for query in queries.captured_queries]

    small = move(small_board[0])
    _grow(spa, [owner, manager_user], 500)
    large = move(small_board[1])

    _same_count(small, large)


def test_the_practice_page_costs_the_same_with_1_or_20_clinicians_contacts_and_moves(owner_client, spa, owner):
    practice = make_practice(spa, actor=owner, name="Busy Dermatology", tags=["vip", "lunch done"])

    def grow(n):
        with scope(spa=spa):
            for i in range(Clinician.objects.filter(practice=practice).count(), n):
                services.clinician_save(
                    practice=practice, actor=owner, fields={"first_name": "A", "last_name": f"B{i}"}
                )
                services.contact_save(practice=practice, actor=owner, fields={"name": f"Contact {i}"})
                stage = Stage.CONTACTED if i % 2 == 0 else Stage.MEETING
                services.practice_move_stage(practice=practice, to_stage=stage, actor=owner)

    grow(1)
    _page, small = _queries(owner_client, url("detail", spa, practice.public_id))
    grow(20)
    page, large = _queries(owner_client, url("detail", spa, practice.public_id))

    # Every clinician is listed (also in the referral-pad panel's menu, hence "at least").
    assert all(f"A B{i}" in page.content.decode() for i in range(20))
    _same_count(small, large)
    assert len(large) <= DETAIL_BUDGET
