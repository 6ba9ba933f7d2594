"""Template helpers for referral pages and the workspace navigation."""

import datetime
import zoneinfo

from django import template
from django.utils import dateformat
from django_scopes import scope

from ..selectors import new_count, overdue_count

register = template.Library()


@register.simple_tag
def overdue_referral_count(spa):
    """The navigation's overdue badge: one COUNT query, run inside the spa's own scope."""
    if spa is None:
        return 0
    with scope(spa=spa):
        return overdue_count(spa=spa)


@register.simple_tag
def new_referral_count(membership):
    """The navigation's New badge: the referrals this member has not opened yet (one COUNT, cached)."""
    if membership is None:
        return 0
    with scope(spa=membership.spa):
        return new_count(membership=membership)


@register.filter
def readable_time(iso_value, spa_timezone="UTC"):
    """An ISO 8601 timestamp from an export ("2026-03-04T15:20:00+00:00") as "March 4, 2026, 10:20 a.m." in the
    spa's time zone (the patient reads it: month in words, always the year); a plain date stays a date ("March 4,
    2026"); anything else is shown as it is."""
    if not iso_value:
        return "—"
    try:
        value = datetime.datetime.fromisoformat(str(iso_value))
    except ValueError:
        return iso_value
    if len(str(iso_value)) == 10:
        return dateformat.format(value.date(), "F j, Y")
    if value.tzinfo is not None:
        try:
            value = value.astimezone(zoneinfo.ZoneInfo(spa_timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return dateformat.format(value, "F j, Y, P")
