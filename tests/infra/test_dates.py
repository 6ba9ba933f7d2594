"""Dates as people read them: the year only outside the current year, on the spa's clock; legal dates in words."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.utils import timezone
from freezegun import freeze_time

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def render(expression, **context):
    return Template("{% load dates %}" + expression).render(Context(context))


@freeze_time("2026-12-05 15:00:00")
@pytest.mark.parametrize(
    ("value", "day", "moment"),
    [
        (datetime.date(2026, 3, 9), "Mar 9", "Mar 9, midnight"),
        (datetime.date(2025, 12, 31), "Dec 31, 2025", "Dec 31, 2025, midnight"),
        (datetime.date(2027, 1, 2), "Jan 2, 2027", "Jan 2, 2027, midnight"),
        (datetime.datetime(2026, 7, 4, 18, 30, tzinfo=datetime.UTC), "Jul 4", "Jul 4, 6:30 p.m."),
    ],
)
def test_the_year_appears_only_outside_the_current_year(value, day, moment):
    assert render("{{ value|day }}", value=value) == day
    if isinstance(value, datetime.datetime):
        assert render("{{ value|moment }}", value=value) == moment


@freeze_time("2027-01-01 03:00:00")  # still Dec 31, 2026 in New York
def test_this_year_is_the_year_on_the_spas_clock():
    new_year_utc = datetime.datetime(2027, 1, 1, 2, 0, tzinfo=datetime.UTC)  # 9 p.m. Dec 31 in New York
    with timezone.override(NEW_YORK):
        assert render("{{ value|moment }}", value=new_year_utc) == "Dec 31, 9 p.m."
    assert render("{{ value|moment }}", value=new_year_utc) == "Jan 1, 2 a.m."


def test_legal_dates_are_in_words_with_the_year():
    assert render("{{ value|legal_date }}", value=datetime.date(2027, 12, 5)) == "December 5, 2027"
    assert render("{{ value|weekday_moment }}", value=None) == ""
    assert render("{{ value|day }}", value="") == ""


@freeze_time("2026-12-05 15:00:00")
def test_a_page_own_format_gains_the_year_only_outside_the_current_year():
    assert render('{{ value|dated:"l N j, P" }}', value=datetime.datetime(2026, 12, 7, 15, 0, tzinfo=datetime.UTC)) == (
        "Monday Dec. 7, 3 p.m."
    )
    assert render('{{ value|dated:"l N j, P" }}', value=datetime.datetime(2027, 1, 4, 15, 0, tzinfo=datetime.UTC)) == (
        "Monday Jan. 4, 2027, 3 p.m."
    )
    assert render('{{ value|dated:"M j" }}', value=datetime.date(2025, 11, 2)) == "Nov 2, 2025"
    assert render('{{ value|dated:"M j" }}', value=None) == ""


@freeze_time("2025-06-10 20:30:00")
def test_a_date_put_on_the_spas_clock_by_the_timezone_filter_stays_there():
    due = datetime.datetime(2025, 6, 10, 19, 30, tzinfo=datetime.UTC)
    assert render('{% load tz %}{{ due|timezone:"America/New_York"|dated:"l N j, P" }}', due=due) == (
        "Tuesday June 10, 3:30 p.m."
    )
