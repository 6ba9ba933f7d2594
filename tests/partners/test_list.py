"""The practice list: filters, search, pagination, empty states."""

from urllib.parse import urlencode

import factory
import pytest
from django_scopes import scope

from partners.models import Stage
from partners.services import practice_move_stage

from ..factories import PracticeFactory
from .helpers import HTMX, listed_practices, make_clinician, make_practice, page_text, url


@pytest.fixture
def pipeline(spa, owner, manager_user):
    """Four practices that differ in every filterable way."""
    derm = make_practice(
        spa, name="Back Bay Dermatology", specialty="dermatology", city="Boston", owner=owner, tags=["vip"]
    )
    obgyn = make_practice(
        spa, name="Harbor OB-GYN", specialty="ob_gyn", city="Cambridge", owner=manager_user, tags=["lunch done"]
    )
    pt = make_practice(
        spa, name="Elm Physical Therapy", specialty="physical_therapy", city="Boston", phone="617-555-0142"
    )
    chiro = make_practice(spa, name="Spine & Wellness Chiropractic", specialty="chiropractic", city="Somerville")
    with scope(spa=spa):
        practice_move_stage(practice=obgyn, to_stage=Stage.MEETING, actor=owner)
    make_clinician(derm, first_name="Priya", last_name="Patel")
    make_clinician(chiro, first_name="Marcus", last_name="Okafor")
    return {"derm": derm, "obgyn": obgyn, "pt": pt, "chiro": chiro}


def _listed(client, spa, query=""):
    response = client.get(url("list", spa, query=query))
    assert response.status_code == 200
    return listed_practices(response)


def test_the_list_shows_every_practice_of_the_spa_by_name(owner_client, spa, other_spa, pipeline):
    make_practice(other_spa, name="Outsider Dermatology")

    assert _listed(owner_client, spa) == [
        "Back Bay Dermatology",
        "Elm Physical Therapy",
        "Harbor OB-GYN",
        "Spine & Wellness Chiropractic",
    ]


def test_the_list_shows_stage_owner_clinician_count_and_code(owner_client, spa, pipeline):
    page = page_text(owner_client.get(url("list", spa)))

    row = page.split("Back Bay Dermatology", 1)[1].split("</tr>", 1)[0]
    assert "Prospect" in row
    assert "Olivia Owner" in row
    assert '<td class="text-end">1</td>' in row
    assert "vip" in row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("specialty=ob_gyn", ["Harbor OB-GYN"]),
        ("specialty=dermatology", ["Back Bay Dermatology"]),
        ("stage=meeting", ["Harbor OB-GYN"]),
        ("stage=prospect", ["Back Bay Dermatology", "Elm Physical Therapy", "Spine & Wellness Chiropractic"]),
        ("tag=vip", ["Back Bay Dermatology"]),
        ("tag=lunch+done", ["Harbor OB-GYN"]),
        ("city=Boston", ["Back Bay Dermatology", "Elm Physical Therapy"]),
        ("city=Boston&specialty=physical_therapy", ["Elm Physical Therapy"]),
        ("owner=null", ["Elm Physical Therapy", "Spine & Wellness Chiropractic"]),
    ],
)
def test_each_filter_narrows_the_list(owner_client, spa, pipeline, query, expected):
    assert _listed(owner_client, spa, query) == expected


def test_the_owner_filter_shows_that_members_practices(owner_client, spa, pipeline, manager_user):
    assert _listed(owner_client, spa, f"owner={manager_user.pk}") == ["Harbor OB-GYN"]


def test_the_filter_menus_say_any_and_offer_this_spas_tags_cities_and_members(
    owner_client, spa, other_spa, outsider, pipeline
):
    make_practice(other_spa, name="Far Away", city="Portland", tags=["secret-tag"])

    page = page_text(owner_client.get(url("list", spa)))

    assert "---------" not in page
    assert '<option value="" selected>Any</option>' in page
    assert '<option value="" selected>Anyone</option>' in page
    assert '<option value="null">Nobody</option>' in page
    assert '<option value="vip">vip</option>' in page
    assert '<option value="Somerville">Somerville</option>' in page
    assert "Manny Manager" in page
    assert "Portland" not in page
    assert "secret-tag" not in page
    assert "Otto Outsider" not in page


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("harbor", ["Harbor OB-GYN"]),
        ("Wellness", ["Spine & Wellness Chiropractic"]),
        ("patel", ["Back Bay Dermatology"]),
        ("Marcus Okafor", ["Spine & Wellness Chiropractic"]),
        ("6175550142", ["Elm Physical Therapy"]),
        ("(617) 555-0142", ["Elm Physical Therapy"]),
        ("+1 617.555.0142", ["Elm Physical Therapy"]),
        ("555 0142", ["Elm Physical Therapy"]),
        ("617-555-0142 ext. 12", ["Elm Physical Therapy"]),
        ("(617) 555-0142 x7", ["Elm Physical Therapy"]),
        ("1 617 555 0142", ["Elm Physical Therapy"]),
        ("16175550142", ["Elm Physical Therapy"]),
        ("+16175550142;ext=3", ["Elm Physical Therapy"]),
        ("617-555-0143", []),
        ("nothing like this", []),
    ],
)
def test_search_finds_practice_names_clinician_names_and_phone_numbers_in_any_format(
    owner_client, spa, pipeline, text, expected
):
    assert _listed(owner_client, spa, urlencode({"q": text})) == expected


@pytest.mark.parametrize("text", ["020 7946 0958", "+44 20 7946 0958", "+44 (0)20 7946 0958 ext. 4", "7946 0958"])
def test_search_reads_a_number_in_the_spas_country(owner_client, spa, text):
    spa.country = "GB"
    spa.save()
    make_practice(spa, name="Harley Street Skin", city="London", phone="+442079460958")
    with scope(spa=spa):
        PracticeFactory(spa=spa, name="Marylebone Dermatology", phone="020 7946 0958")  # stored before validation
        PracticeFactory(spa=spa, name="Boston Dermatology", phone="+16175550142")

    assert _listed(owner_client, spa, urlencode({"q": text})) == ["Harley Street Skin", "Marylebone Dermatology"]


def test_a_practice_with_several_matching_clinicians_is_listed_once(owner_client, spa, pipeline):
    make_clinician(pipeline["derm"], first_name="Anita", last_name="Patel")

    assert _listed(owner_client, spa, "q=patel") == ["Back Bay Dermatology"]


def test_search_and_filters_combine(owner_client, spa, pipeline):
    assert _listed(owner_client, spa, "q=dermatology&city=Cambridge") == []
    assert _listed(owner_client, spa, "q=dermatology&city=Boston") == ["Back Bay Dermatology"]


def test_nonsense_filter_values_are_ignored_not_an_error(owner_client, spa, pipeline):
    query = "stage=bogus&owner=abc&specialty=astrology&tag=nope&city=Atlantis&page=x&q=%00"

    response = owner_client.get(url("list", spa, query=query))

    assert response.status_code == 200


def test_an_htmx_request_gets_only_the_table(owner_client, spa, pipeline):
    response = owner_client.get(url("list", spa, query="stage=meeting"), **HTMX)

    assert response.status_code == 200
    page = page_text(response)
    assert "<html" not in page
    assert listed_practices(response) == ["Harbor OB-GYN"]


def test_the_list_is_paginated_fifty_to_a_page_and_keeps_the_filters(owner_client, spa):
    with scope(spa=spa):
        PracticeFactory.create_batch(51, spa=spa, city="Boston", name=factory.Sequence(lambda n: f"Boston {n:03d}"))
        PracticeFactory(spa=spa, city="Cambridge", name="Zz Cambridge Practice")

    first = owner_client.get(url("list", spa, query="city=Boston"))
    second = owner_client.get(url("list", spa, query="city=Boston&page=2"))
    beyond = owner_client.get(url("list", spa, query="city=Boston&page=99"))

    assert len(listed_practices(first)) == 50
    assert "51 practices" in page_text(first)
    assert "Page 1 of 2" in page_text(first)
    assert "?city=Boston&page=2" in page_text(first)
    assert len(listed_practices(second)) == 1
    assert set(listed_practices(first)).isdisjoint(listed_practices(second))
    assert listed_practices(beyond) == listed_practices(second)


def test_a_spa_without_practices_is_invited_to_add_one(owner_client, spa):
    page = page_text(owner_client.get(url("list", spa)))

    assert "No practices yet." in page
    assert "Add your first practice" in page


def test_filters_that_match_nothing_offer_to_clear_them(owner_client, spa, pipeline):
    page = page_text(owner_client.get(url("list", spa, query="stage=trial")))

    assert "No practice matches these filters." in page
    assert "No practices yet." not in page


def test_the_board_is_one_click_from_the_list_with_the_same_filters(owner_client, spa, pipeline):
    page = page_text(owner_client.get(url("list", spa, query="specialty=dermatology")))

    assert f'href="{url("board", spa)}?specialty=dermatology"' in page
