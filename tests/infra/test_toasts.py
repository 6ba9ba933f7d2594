"""Toasts ride on the HX-Trigger header without dropping the events already there."""

import json

from django.http import HttpResponse

from infra.toasts import add_trigger, with_toast


def test_a_toast_with_undo_is_one_hx_trigger_event():
    response = with_toast(HttpResponse(), "Moved to Meeting", undo_url="/s/x/undo/")

    assert json.loads(response["HX-Trigger"]) == {
        "showToast": {"message": "Moved to Meeting", "level": "success", "undoUrl": "/s/x/undo/"}
    }


def test_events_already_on_the_response_are_kept():
    response = HttpResponse()
    response["HX-Trigger"] = "referralsChanged"
    add_trigger(response, "showMessage", "Say why.")
    with_toast(response, "Saved")

    assert json.loads(response["HX-Trigger"]) == {
        "referralsChanged": True,
        "showMessage": "Say why.",
        "showToast": {"message": "Saved", "level": "success"},
    }
