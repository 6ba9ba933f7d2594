"""Moving practices through the pipeline: the history it leaves, the board, htmx and keyboard moves."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scope

from infra.models import AuditEvent
from partners import selectors
from partners.models import Practice, Stage, StageChange
from partners.services import practice_move_stage

from .helpers import HTMX, board_columns, count, make_practice, messages_on, page_text, reload, rows, url


@pytest.fixture
def practice(spa, owner):
    return make_practice(spa, actor=owner, name="Back Bay Dermatology", city="Boston")


def _move(client, spa, practice, stage, reason="", **extra):
    data = {"stage": stage, "reason": reason, **extra.pop("data", {})}
    return client.post(url("move_stage", spa, practice.public_id), data, **extra)


def _moves(practice):
    return [
        (change.from_stage, change.to_stage, change.reason, change.changed_by)
        for change in reversed(rows(StageChange, practice=practice))
    ]


# --- the history ----------------------------------------------------------------------------------


def test_a_move_records_from_to_who_and_when_and_shows_it_on_the_practice_page(
    spa, owner, staff_client, staff_user, practice
):
    before = timezone.now()
    response = _move(staff_client, spa, practice, Stage.CONTACTED)

    assert response.status_code == 302
    assert response["Location"] == url("detail", spa, practice.public_id)
    assert _moves(practice) == [("", "prospect", "", owner), ("prospect", "contacted", "", staff_user)]
    change = rows(StageChange, practice=practice, to_stage="contacted")[0]
    assert before <= change.changed_at <= timezone.now()
    practice = reload(practice)
    assert practice.stage == Stage.CONTACTED
    assert practice.stage_changed_at >= before
    (event,) = rows(AuditEvent, spa=spa, action="practice.stage_changed")
    assert event.detail == {"from": "prospect", "to": "contacted"}
    assert event.actor == staff_user

    page = staff_client.get(response["Location"])
    assert "Back Bay Dermatology moved to Contacted." in messages_on(page)
    history = page_text(page).split('id="stage-history"', 1)[1].split("</ol>", 1)[0]
    assert "Prospect → <strong>Contacted</strong>" in history
    assert "Stacy Staff" in history
    assert timezone.localtime(change.changed_at).strftime("%Y") in history


def test_history_lists_the_newest_move_first(owner_client, spa, owner, practice):
    for stage in [Stage.RESEARCHED, Stage.CONTACTED, Stage.MEETING]:
        _move(owner_client, spa, practice, stage)

    history = page_text(owner_client.get(url("detail", spa, practice.public_id))).split('id="stage-history"', 1)[1]
    positions = [
        history.index(f"<strong>{label}</strong>") for label in ["Meeting", "Contacted", "Researched", "Prospect"]
    ]
    assert positions == sorted(positions)


def test_declining_needs_a_reason(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.DECLINED, reason="   ")

    assert response.status_code == 302
    assert "Say why the practice declined." in messages_on(owner_client.get(response["Location"]))
    assert reload(practice).stage == Stage.PROSPECT
    assert count(StageChange, practice=practice) == 1


def test_a_decline_keeps_its_reason_in_the_history_and_on_the_profile(owner_client, spa, owner, practice):
    _move(owner_client, spa, practice, Stage.DECLINED, reason="Too busy this year")

    assert reload(practice).declined_reason == "Too busy this year"
    assert _moves(practice)[-1] == ("prospect", "declined", "Too busy this year", owner)
    page = page_text(owner_client.get(url("detail", spa, practice.public_id)))
    assert "Declined because" in page
    assert "“Too busy this year”" in page


def test_moving_on_from_declined_clears_the_reason_but_keeps_the_history(owner_client, spa, practice):
    _move(owner_client, spa, practice, Stage.DECLINED, reason="Too busy")
    _move(owner_client, spa, practice, Stage.PROSPECT)

    assert reload(practice).declined_reason == ""
    assert [move[:3] for move in _moves(practice)][-2:] == [
        ("prospect", "declined", "Too busy"),
        ("declined", "prospect", ""),
    ]


@pytest.mark.parametrize("stage", ["bogus", "", "Prospect", "active'; --"])
def test_an_unknown_stage_is_refused_and_nothing_changes(owner_client, spa, practice, stage):
    response = _move(owner_client, spa, practice, stage)

    assert response.status_code == 302
    assert "Choose a valid stage." in messages_on(owner_client.get(response["Location"]))
    assert reload(practice).stage == Stage.PROSPECT
    assert count(StageChange, practice=practice) == 1


def test_an_overlong_reason_is_refused_with_its_own_message(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.DECLINED, reason="r" * 256)

    (message,) = messages_on(owner_client.get(response["Location"]))
    assert "at most 255 characters" in message
    assert reload(practice).stage == Stage.PROSPECT


def test_moving_to_the_current_stage_records_nothing(owner_client, spa, practice):
    _move(owner_client, spa, practice, Stage.PROSPECT)

    assert count(StageChange, practice=practice) == 1
    assert count(AuditEvent, spa=spa, action="practice.stage_changed") == 0


def test_the_service_refuses_an_unknown_stage_and_a_reasonless_decline(spa, practice):
    with scope(spa=spa), pytest.raises(ValidationError) as unknown:
        practice_move_stage(practice=practice, to_stage="bogus", actor=None)
    with scope(spa=spa), pytest.raises(ValidationError) as reasonless:
        practice_move_stage(practice=practice, to_stage=Stage.DECLINED, actor=None)

    assert "stage" in unknown.value.message_dict
    assert "reason" in reasonless.value.message_dict
    assert reload(practice).stage == Stage.PROSPECT


def test_a_move_is_post_only(owner_client, spa, practice):
    assert owner_client.get(url("move_stage", spa, practice.public_id)).status_code == 405


def test_moving_another_spas_practice_is_404_and_changes_nothing(owner_client, spa, other_spa):
    theirs = make_practice(other_spa, name="Their Dermatology")

    response = _move(owner_client, spa, theirs, Stage.ACTIVE)

    assert response.status_code == 404
    assert reload(theirs).stage == Stage.PROSPECT
    assert count(StageChange, practice=theirs) == 1


# --- the board ------------------------------------------------------------------------------------


def test_the_board_has_a_column_per_stage_with_its_count(owner_client, spa, other_spa):
    for name in ["Alpha", "Beta", "Gamma"]:
        make_practice(spa, name=name)
    meeting = make_practice(spa, name="Delta")
    declined = make_practice(spa, name="Epsilon")
    make_practice(other_spa, name="Not ours")
    with scope(spa=spa):
        practice_move_stage(practice=meeting, to_stage=Stage.MEETING, actor=None)
        practice_move_stage(practice=declined, to_stage=Stage.DECLINED, reason="No", actor=None)

    response = owner_client.get(url("board", spa))

    assert response.status_code == 200
    columns = board_columns(response)
    assert list(columns) == Stage.values
    assert columns["prospect"][0] == 3
    assert sorted(columns["prospect"][1]) == ["Alpha", "Beta", "Gamma"]
    assert columns["meeting"] == (1, ["Delta"])
    assert columns["declined"] == (1, ["Epsilon"])
    assert columns["active"] == (0, [])
    assert "Not ours" not in page_text(response)
    assert f'href="{url("list", spa)}"' in page_text(response)


def test_each_card_has_a_keyboard_move_to_menu_set_to_its_stage(owner_client, spa, practice):
    page = page_text(owner_client.get(url("board", spa)))

    assert (
        f'<label class="visually-hidden" for="move-{practice.public_id}">Move Back Bay Dermatology to</label>' in page
    )
    assert '<option value="prospect" selected>Prospect</option>' in page
    assert f'hx-post="{url("move_stage", spa, practice.public_id)}"' in page
    # Declining asks why in the board's dialog (static/js/partners.js), never window.prompt.
    assert 'data-practice-name="Back Bay Dermatology"' in page
    assert 'id="decline-dialog"' in page


def test_a_full_column_shows_its_newest_cards_and_links_to_the_rest(owner_client, spa, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_CARDS_PER_STAGE", 2)
    for name in ["Oldest", "Middle", "Newest"]:
        make_practice(spa, name=name)
    with scope(spa=spa):
        for minutes, name in enumerate(["Oldest", "Middle", "Newest"]):
            moved_at = timezone.now() + timezone.timedelta(minutes=minutes)
            Practice.objects.filter(name=name).update(stage_changed_at=moved_at)

    response = owner_client.get(url("board", spa))

    assert board_columns(response)["prospect"] == (3, ["Newest", "Middle"])
    assert "See all 3 in the list" in page_text(response)
    assert f'href="{url("list", spa)}?stage=prospect"' in page_text(response)


def test_the_board_takes_the_same_filters_as_the_list(owner_client, spa):
    make_practice(spa, name="Boston Skin", city="Boston")
    make_practice(spa, name="Cambridge Skin", city="Cambridge")

    columns = board_columns(owner_client.get(url("board", spa, query="city=Cambridge")))

    assert columns["prospect"] == (1, ["Cambridge Skin"])


def test_an_htmx_move_returns_the_updated_board(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.TRIAL, data={"from": "board"}, **HTMX)

    assert response.status_code == 200
    assert "<html" not in page_text(response)
    columns = board_columns(response)
    assert columns["trial"] == (1, ["Back Bay Dermatology"])
    assert columns["prospect"] == (0, [])
    # No error, and a toast says what happened (with Undo: test_board.py).
    assert "showMessage" not in response["HX-Trigger"]
    assert json.loads(response["HX-Trigger"])["showToast"]["message"] == "Back Bay Dermatology moved to Trial."
    assert reload(practice).stage == Stage.TRIAL


def test_an_htmx_move_redraws_the_board_with_the_filters_in_use(owner_client, spa, practice):
    make_practice(spa, name="Cambridge Skin", city="Cambridge")
    board_address = "http://testserver" + url("board", spa, query="city=Boston")

    response = _move(
        owner_client, spa, practice, Stage.TRIAL, data={"from": "board"}, HTTP_HX_CURRENT_URL=board_address, **HTMX
    )

    columns = board_columns(response)
    assert columns["trial"] == (1, ["Back Bay Dermatology"])
    assert columns["prospect"] == (0, [])  # Cambridge Skin is filtered out, as on the page


def test_an_htmx_decline_without_a_reason_keeps_the_card_and_says_why(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.DECLINED, data={"from": "board"}, **HTMX)

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"showMessage": "Say why the practice declined."}
    assert board_columns(response)["prospect"] == (1, ["Back Bay Dermatology"])
    assert reload(practice).stage == Stage.PROSPECT


def test_an_htmx_decline_with_the_prompted_reason_moves_the_card(owner_client, spa, practice):
    response = _move(
        owner_client, spa, practice, Stage.DECLINED, reason="Prefers in-house", data={"from": "board"}, **HTMX
    )

    assert board_columns(response)["declined"] == (1, ["Back Bay Dermatology"])
    assert reload(practice).declined_reason == "Prefers in-house"


def test_a_board_move_without_javascript_redirects_back_to_the_board(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.MEETING, data={"from": "board"})

    assert response.status_code == 302
    assert response["Location"] == url("board", spa)
    page = owner_client.get(response["Location"])
    assert "Back Bay Dermatology moved to Meeting." in messages_on(page)
    assert board_columns(page)["meeting"] == (1, ["Back Bay Dermatology"])


def test_a_board_decline_without_javascript_explains_the_missing_reason(owner_client, spa, practice):
    response = _move(owner_client, spa, practice, Stage.DECLINED, data={"from": "board"})

    assert response["Location"] == url("board", spa)
    assert "Say why the practice declined." in messages_on(owner_client.get(response["Location"]))
    assert reload(practice).stage == Stage.PROSPECT


def test_an_htmx_board_request_returns_only_the_board(owner_client, spa, practice):
    response = owner_client.get(url("board", spa), **HTMX)

    assert "<html" not in page_text(response)
    assert board_columns(response)["prospect"] == (1, ["Back Bay Dermatology"])


def test_an_empty_board_says_so_in_each_column(owner_client, spa):
    page = page_text(owner_client.get(url("board", spa)))

    assert page.count("No practices here.") == len(Stage.values)
