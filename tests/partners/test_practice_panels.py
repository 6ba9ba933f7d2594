"""Issue 16 §5: the practice page draws other apps' panels from a registry they fill in ready()."""

from pathlib import Path

import pytest
from django.conf import settings

from partners import panels


def test_the_practice_page_template_names_no_higher_app():
    template = (Path(settings.BASE_DIR) / "templates/partners/practice_detail.html").read_text()

    for higher in ("referrals/", "outreach/", "portal_admin/", "pads/"):
        assert higher not in template


def test_the_higher_apps_fill_every_slot_in_order():
    registered = panels.panels()

    assert registered[panels.MAIN] == [
        "referrals/partials/practice_referrals_card.html",
        "outreach/partials/practice_main.html",
    ]
    assert registered[panels.MAIN_END] == ["portal_admin/practice_panel.html", "pads/practice_panel.html"]
    assert registered[panels.SIDE] == ["outreach/partials/practice_side.html", "followup/practice_panel.html"]


def test_an_unknown_slot_is_refused():
    with pytest.raises(ValueError, match="Unknown practice page slot"):
        panels.register_panel("footer", "x.html")
