"""Dates as people read them: the year only when it is not this year, and legal dates in words.

    {% load dates %}
    {{ referral.received_at|day }}        Dec 5            (Dec 5, 2025 when not this year)
    {{ referral.received_at|moment }}     Dec 5, 3:04 p.m. (Dec 5, 2025, 3:04 p.m.)
    {{ referral.received_at|weekday_moment }}  Sat, Dec 5, 3:04 p.m.
    {{ authorization.expires_at|legal_date }}  December 5, 2027 (always with the year, month in words)

Datetimes are shown on the current time zone's clock (the spa's, in the workspace and the portal), and "this
year" is the year on that clock.
"""

import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


def _on_current_clock(value):
    # A value already put on a clock by ``|timezone:spa.timezone`` (an email rendered outside the spa's time
    # zone) says so with Django's own flag, and stays on that clock.
    if getattr(value, "convert_to_local_time", True) is False:
        return value
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def _with_year_if_needed(value, this_year_format, other_year_format):
    if value in (None, ""):
        return ""
    value = _on_current_clock(value)
    return date_format(value, this_year_format if value.year == timezone.localdate().year else other_year_format)


@register.filter
def day(value):
    return _with_year_if_needed(value, "M j", "M j, Y")


@register.filter
def moment(value):
    return _with_year_if_needed(value, "M j, P", "M j, Y, P")


@register.filter
def weekday_moment(value):
    return _with_year_if_needed(value, "D, M j, P", "D, M j, Y, P")


@register.filter
def legal_date(value):
    if value in (None, ""):
        return ""
    return date_format(_on_current_clock(value), "F j, Y")


@register.filter
def dated(value, date_format_string):
    """``{{ due|dated:"l N j, P" }}``: the given format, with the year after the day when not this year.

    For the places a page or an email wants its own wording (a weekday in full, "Dec." style months) and
    still must not show "Monday Jan. 4" for a date a year away.
    """
    if value in (None, ""):
        return ""
    return _with_year_if_needed(value, date_format_string, date_format_string.replace("j", "j, Y", 1))
