"""Toasts: the short note a page shows after an htmx action ("Moved to Meeting"), optionally with Undo.

The view adds a ``showToast`` event to the response's ``HX-Trigger`` header; static/js/app.js shows it in the
page's toast area. Undo posts to ``undo_url`` through htmx; that view answers as it likes (usually
``HX-Refresh: true`` or another toast). Domain-free.
"""

import json


def add_trigger(response, event, detail=True):
    """Add one event to the response's HX-Trigger header, keeping any events already there."""
    current = response.get("HX-Trigger")
    events = {}
    if current:
        try:
            events = json.loads(current)
        except ValueError:
            events = {name.strip(): True for name in current.split(",") if name.strip()}
    events[event] = detail
    response["HX-Trigger"] = json.dumps(events)
    return response


def with_toast(response, message, *, undo_url=None, level="success"):
    """Show ``message`` as a toast after this htmx response; with ``undo_url``, an Undo button posts there."""
    detail = {"message": str(message), "level": level}
    if undo_url:
        detail["undoUrl"] = undo_url
    return add_trigger(response, "showToast", detail)
