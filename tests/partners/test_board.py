"""The pipeline board: list markup for its eight columns, each card's last contact and next step, a move's
toast with Undo, and the decline dialog's reasons (no window.prompt anywhere)."""

import datetime
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django_scopes import scope

from outreach.activity import selectors as activity_selectors
from outreach.activity import services as activity_services
from partners.forms import DECLINE_REASONS
from partners.models import Stage

from .helpers import HTMX, board_columns, make_practice, page_text, reload, url


@pytest.fixture
def practice(spa, owner):
    return make_practice(spa, actor=owner, name="Back Bay Dermatology", city="Boston")


def _board_move(client, spa, practice, stage, reason=""):
    return client.post(
        url("move_stage", spa, practice.public_id), {"stage": stage, "reason": reason, "from": "board"}, **HTMX
    )


def _toast(response):
    return json.loads(response["HX-Trigger"])["showToast"]


def _card(body, practice):
    return body.split(f'data-practice="{practice.public_id}"', 1)[1].split("</article>", 1)[0]


def test_the_columns_are_a_list_of_eight_sections(owner_client, spa, practice):
    body = page_text(owner_client.get(url("board", spa)))
    board = body.split('<ul class="board', 1)[1].split("\n</ul>", 1)[0]
    lanes = re.findall(r'<li class="board-lane">\s*<section class="board-column[^"]*" data-stage="([a-z]+)"', board)
    assert lanes == Stage.values
    # axe: a <section> must not carry role="listitem"; the list items are real <li>s.
    assert 'role="listitem"' not in body and 'role="list"' not in body


def test_each_card_shows_its_last_contact_and_next_step(owner_client, spa, owner, practice):
    quiet = make_practice(spa, actor=owner, name="Quiet Physio")
    with scope(spa=spa):
        today = activity_selectors.spa_today(spa)
        activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="email", occurred_on=today - datetime.timedelta(days=3), actor=owner
        )
        activity_services.touchpoint_log(
            spa=spa, practice=practice, kind="letter", occurred_on=today - datetime.timedelta(days=9), actor=owner
        )
        for days, title in [(6, "Lunch presentation"), (2, "Call the office manager")]:
            activity_services.task_create(
                spa=spa, title=title, due_on=today + datetime.timedelta(days=days), practice=practice, assignee=owner
            )
    body = page_text(owner_client.get(url("board", spa)))

    card = _card(body, practice)
    last_contact = (today - datetime.timedelta(days=3)).strftime("%b %-d")
    next_due = (today + datetime.timedelta(days=2)).strftime("%b %-d")
    if (today + datetime.timedelta(days=2)).year != today.year:
        next_due += f", {today.year + 1}"
    assert f"Last contact {last_contact}" in card
    assert re.search(rf"{next_due}</span>: Call the office manager", card)
    quiet_card = _card(body, quiet)
    assert "No contact yet" in quiet_card and "No next step" in quiet_card


def test_a_board_move_shows_a_toast_whose_undo_moves_it_back(owner_client, spa, practice):
    response = _board_move(owner_client, spa, practice, Stage.MEETING)
    toast = _toast(response)
    assert toast["message"] == "Back Bay Dermatology moved to Meeting."
    undo_url = toast["undoUrl"]
    assert undo_url == url("move_stage_undo", spa, practice.public_id, query="stage=prospect&moved_to=meeting")
    assert reload(practice).stage == Stage.MEETING

    undo = owner_client.post(undo_url, **HTMX)
    assert undo.status_code == 204 and undo["HX-Refresh"] == "true"
    assert reload(practice).stage == Stage.PROSPECT
    board = owner_client.get(url("board", spa))
    assert board_columns(board)["prospect"] == (1, ["Back Bay Dermatology"])
    assert "Undone: Back Bay Dermatology is back in Prospect." in page_text(board)


def test_undo_does_nothing_once_the_practice_has_moved_on(owner_client, spa, practice):
    undo_url = _toast(_board_move(owner_client, spa, practice, Stage.MEETING))["undoUrl"]
    _board_move(owner_client, spa, practice, Stage.TRIAL)

    response = owner_client.post(undo_url, **HTMX)
    assert response.status_code == 409
    assert _toast(response)["message"] == "Back Bay Dermatology has moved since; nothing was undone."
    assert reload(practice).stage == Stage.TRIAL


def test_undoing_a_move_out_of_declined_declines_it_again_for_the_same_reason(owner_client, spa, practice):
    _board_move(owner_client, spa, practice, Stage.DECLINED, reason="Already refers to another spa")
    undo_url = _toast(_board_move(owner_client, spa, practice, Stage.CONTACTED))["undoUrl"]
    assert reload(practice).declined_reason == ""

    owner_client.post(undo_url, **HTMX)
    practice = reload(practice)
    assert (practice.stage, practice.declined_reason) == (Stage.DECLINED, "Already refers to another spa")


def test_undo_refuses_nonsense_and_strangers(owner_client, outsider_client, client, spa, practice):
    undo_url = _toast(_board_move(owner_client, spa, practice, Stage.MEETING))["undoUrl"]
    bad = url("move_stage_undo", spa, practice.public_id, query="stage=nowhere&moved_to=meeting")
    assert owner_client.post(bad, **HTMX).status_code == 400
    assert outsider_client.post(undo_url, **HTMX).status_code == 404
    anonymous = client.post(undo_url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert reload(practice).stage == Stage.MEETING


def test_the_decline_dialog_offers_the_common_reasons(owner_client, spa, practice):
    body = page_text(owner_client.get(url("board", spa)))
    dialog = body.split('id="decline-dialog"', 1)[1].split('id="decline-form"', 1)[1].split("</form>", 1)[0]
    offered = re.findall(r'type="radio" name="decline_reason" id="[^"]+" value="([^"]+)"', dialog)
    assert offered == [*(str(reason) for reason in DECLINE_REASONS), "other"]
    assert 'name="decline_details"' in dialog
    assert 'src="/static/js/partners.js"' in body


def test_a_reason_from_the_dialog_declines_the_practice(owner_client, spa, practice):
    reason = f"{DECLINE_REASONS[1]} — their dermatologist's sister runs one"
    response = _board_move(owner_client, spa, practice, Stage.DECLINED, reason=reason)
    assert board_columns(response)["declined"] == (1, ["Back Bay Dermatology"])
    practice = reload(practice)
    assert (practice.stage, practice.declined_reason) == (Stage.DECLINED, reason)


def test_no_script_asks_with_window_prompt():
    scripts = Path(settings.BASE_DIR, "static", "js").glob("*.js")
    offenders = [script.name for script in scripts if re.search(r"\bprompt\s*\(", script.read_text())]
    assert offenders == []
