"""Objection reads: the library by category, the responses a log may name, the logs at the spa and at one
practice, and the summary of which objections come up and which responses work. Nothing here writes."""

import datetime

from django.db.models import Count, Q

from partners.models import Practice
from spas.models import Role

from ..activity.selectors import spa_today
from ..models import ObjectionCategory, ObjectionLog, ObjectionResponse, Touchpoint

Outcome = ObjectionLog.Outcome


def _with_results(responses):
    return responses.annotate(
        times_used=Count("uses"),
        times_resolved=Count("uses", filter=Q(uses__outcome=Outcome.RESOLVED)),
        times_partly=Count("uses", filter=Q(uses__outcome=Outcome.PARTLY)),
    )


def objection_library(*, spa):
    """The library by category, in the categories' order: [(value, label, [responses])], plus the archived.

    Each response carries times_used / times_resolved / times_partly. One query.
    """
    by_category = {value: [] for value in ObjectionCategory.values}
    archived = []
    for response in _with_results(ObjectionResponse.objects.filter(spa=spa)).order_by("category", "objection", "id"):
        (archived if response.archived_at else by_category[response.category]).append(response)
    return [(value, label, by_category[value]) for value, label in ObjectionCategory.choices], archived


def active_responses(*, spa, category=None):
    """The responses a log may name: the spa's, not archived, optionally of one category."""
    responses = ObjectionResponse.objects.filter(spa=spa, archived_at=None)
    if category:
        responses = responses.filter(category=category)
    return responses.order_by("category", "objection", "id")


def objection_log_can_delete(log, membership):
    """The member who logged it, or a manager, may remove a log made by mistake."""
    return membership.has_role(Role.MANAGER) or (
        log.logged_by_id is not None and log.logged_by_id == membership.user_id
    )


def objection_log_list(*, spa, category=None, outcome=None, practice=None):
    """Objections logged at the spa's practices, newest first, with what the list shows loaded."""
    logs = ObjectionLog.objects.filter(spa=spa).select_related("practice", "response", "logged_by", "touchpoint")
    if category:
        logs = logs.filter(category=category)
    if outcome:
        logs = logs.filter(outcome=outcome)
    if practice is not None:
        logs = logs.filter(practice=practice)
    return logs.order_by("-raised_on", "-created_at", "-id")


def practice_objections(*, spa, practice, limit=5):
    """The latest ``limit`` objections raised at one practice, and whether there are more. One query."""
    logs = list(objection_log_list(spa=spa, practice=practice)[: limit + 1])
    return logs[:limit], len(logs) > limit


def practice_recent_touchpoints(*, spa, practice, today=None, days=60, limit=10):
    """The practice's touchpoints of the last ``days`` days, newest first: what an objection may point at."""
    today = today or spa_today(spa)
    return Touchpoint.objects.filter(
        spa=spa, practice=practice, occurred_on__gte=today - datetime.timedelta(days=days)
    ).order_by("-occurred_on", "-created_at", "-id")[:limit]


def _share(part, whole):
    return round(100 * part / whole) if whole else None


def one_year_before(day):
    """The same calendar day a year earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def objection_summary(*, spa, today=None):
    """Which objections come up and which responses work. A fixed number of queries (three).

    ``categories``: per category, objections in the last 12 months (after the same day a year ago) and all
    time, with the resolved share (all time); ``responses``: per response (archived ones only when used),
    times used, resolved and partly resolved counts and shares; ``without_response``: logs naming none.
    """
    today = today or spa_today(spa)
    since = one_year_before(today)
    recent = Q(raised_on__gt=since, raised_on__lte=today)
    counts = {
        row["category"]: row
        for row in ObjectionLog.objects.filter(spa=spa)
        .order_by()
        .values("category")
        .annotate(
            all_time=Count("id"),
            last_year=Count("id", filter=recent),
            resolved=Count("id", filter=Q(outcome=Outcome.RESOLVED)),
        )
    }
    categories = []
    for value, label in ObjectionCategory.choices:
        row = counts.get(value, {})
        all_time = row.get("all_time", 0)
        categories.append(
            {
                "value": value,
                "label": label,
                "last_year": row.get("last_year", 0),
                "all_time": all_time,
                "resolved": row.get("resolved", 0),
                "resolved_share": _share(row.get("resolved", 0), all_time),
            }
        )
    busiest = max([row["last_year"] for row in categories] + [row["all_time"] for row in categories] + [0])
    for row in categories:
        row["last_year_bar"] = _share(row["last_year"], busiest) or 0
        row["all_time_bar"] = _share(row["all_time"], busiest) or 0

    labels = dict(ObjectionCategory.choices)
    responses = []
    queryset = (
        _with_results(ObjectionResponse.objects.filter(spa=spa))
        .filter(Q(archived_at=None) | Q(times_used__gt=0))
        .order_by("category", "objection", "id")
    )
    order = {value: index for index, value in enumerate(ObjectionCategory.values)}
    for response in sorted(queryset, key=lambda item: (order.get(item.category, 99), -item.times_used, item.objection)):
        responses.append(_result_row(response.times_used, response.times_resolved, response.times_partly))
        responses[-1].update({"response": response, "category_label": labels.get(response.category, "")})

    without = ObjectionLog.objects.filter(spa=spa, response=None).aggregate(
        used=Count("id"),
        resolved=Count("id", filter=Q(outcome=Outcome.RESOLVED)),
        partly=Count("id", filter=Q(outcome=Outcome.PARTLY)),
    )
    return {
        "today": today,
        "since": since,
        "categories": categories,
        "total_last_year": sum(row["last_year"] for row in categories),
        "total_all_time": sum(row["all_time"] for row in categories),
        "responses": responses,
        "without_response": _result_row(without["used"], without["resolved"], without["partly"]),
    }


def _result_row(used, resolved, partly):
    unresolved = used - resolved - partly
    segments, start = [], 0.0
    for name, count in (("resolved", resolved), ("partly", partly), ("unresolved", unresolved)):
        width = 100 * count / used if used else 0.0
        if width:
            segments.append({"outcome": name, "x": round(start, 2), "width": round(width, 2)})
        start += width
    return {
        "segments": segments,
        "used": used,
        "resolved": resolved,
        "partly": partly,
        "unresolved": unresolved,
        "resolved_share": _share(resolved, used),
        "partly_share": _share(partly, used),
        "unresolved_share": _share(unresolved, used),
    }


def practice_for_filter(*, spa, public_id):
    """The practice a list is narrowed to, or None."""
    return Practice.objects.filter(spa=spa, public_id=public_id).first() if public_id else None
