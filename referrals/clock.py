"""The response clock: when first contact with a referred patient is due.

Due = receipt + N business days (default 2) in the spa's time zone, at the same local time.
A referral that arrives on a weekend counts from Monday 09:00. Public holidays are not
skipped (a spa can lengthen N if it closes on holidays).
"""

import zoneinfo
from datetime import datetime, time, timedelta

SATURDAY = 5
WEEKEND_START_OF_DAY = time(9, 0)


def add_business_days(moment, days, tz_name):
    """``moment`` (aware) plus ``days`` business days in the time zone ``tz_name``; returns an aware datetime."""
    tz = zoneinfo.ZoneInfo(tz_name)
    local = moment.astimezone(tz)
    if local.weekday() >= SATURDAY:
        days_to_monday = 7 - local.weekday()
        local = datetime.combine(local.date() + timedelta(days=days_to_monday), WEEKEND_START_OF_DAY, tzinfo=tz)
    current = local.date()
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < SATURDAY:
            remaining -= 1
    # Rebuild from the wall-clock time so a DST change in between keeps "same local time".
    return datetime.combine(current, local.timetz().replace(tzinfo=None), tzinfo=tz)
