"""What outreach adds to the partners list and the pipeline board (registered in partners.extensions):

- ``last_contact_on``: the latest touchpoint's date (up to today);
- ``next_task_due_on`` / ``next_task_title``: the earliest open task at the practice (its own, or a rolled-up
  task that covers it) — the board's "next step";
- ``referrals_90d`` (the name kept for the list's ``?sort=``): referrals received in the last 3 months — this
  calendar month and the two before, partner health's window — summed from the maintained practice-month
  figures (referrals/figures.py) rather than counted over the referrals;
- ``health``: the partner health (outreach.health) of trial and active partners, set on the rows of a page.

All but health are subqueries in the page's one query. Sorting by health ranks every trial and active partner
(two queries) and orders by that rank in SQL.
"""

from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Func, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from partners import extensions
from referrals.models import PracticeMonthFigures

from ..activity.selectors import spa_today
from ..models import Task, Touchpoint, outreach_settings_for
from .selectors import HEALTH_STAGES, assess, health_queryset, recent_months_start


def _open_tasks():
    return Task.objects.filter(Q(practice=OuterRef("pk")) | Q(covered__practice=OuterRef("pk")), done_at=None).order_by(
        "due_on", "id"
    )


def annotate(queryset, *, spa):
    today = spa_today(spa)
    return queryset.annotate(
        last_contact_on=Subquery(
            Touchpoint.objects.filter(spa=spa, practice=OuterRef("pk"), occurred_on__lte=today)
            .order_by("-occurred_on")
            .values("occurred_on")[:1]
        ),
        next_task_due_on=Subquery(_open_tasks().filter(spa=spa).values("due_on")[:1]),
        next_task_title=Subquery(_open_tasks().filter(spa=spa).values("title")[:1]),
        referrals_90d=Coalesce(
            Subquery(
                PracticeMonthFigures.objects.filter(
                    spa=spa, practice=OuterRef("pk"), month__gte=recent_months_start(today), month__lte=today
                )
                .order_by()
                .values("practice")
                .annotate(count=Sum("received"))
                .values("count")[:1]
            ),
            0,
        ),
    )


def _ranked_health(spa, practice_ids=None):
    """The health of the spa's trial and active partners (only ``practice_ids`` when given), worst first."""
    today = spa_today(spa)
    default_days = outreach_settings_for(spa).check_in_cadence_days
    practices = health_queryset(spa=spa, practice_ids=practice_ids)
    return sorted(
        (assess(practice, today=today, default_cadence_days=default_days) for practice in practices),
        key=lambda health: health.sort_key,
    )


def decorate(practices, *, spa):
    ids = [practice.pk for practice in practices if practice.stage in HEALTH_STAGES]
    by_practice = {health.practice.pk: health for health in _ranked_health(spa, ids)} if ids else {}
    for practice in practices:
        practice.health = by_practice.get(practice.pk)


def _nulls_last(expression, descending):
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def _order_by_annotation(name):
    def order(queryset, *, spa, descending):
        return queryset.order_by(_nulls_last(F(name), descending), "name", "pk")

    return order


def order_by_health(queryset, *, spa, descending):
    """Worst first (at risk, cooling, healthy, then practices that are not partners yet); ``descending``
    reverses the partners' order and still lists the others last."""
    ranked = [health.practice.pk for health in _ranked_health(spa)]
    if descending:
        ranked.reverse()
    position = Func(
        Value(ranked, output_field=ArrayField(IntegerField())),
        F("pk"),
        function="array_position",
        output_field=IntegerField(),
    )
    return queryset.order_by(position.asc(nulls_last=True), "name", "pk")


def register():
    extensions.register_annotations(annotate)
    extensions.register_decorator(decorate)
    extensions.register_sort("last_contact", _order_by_annotation("last_contact_on"))
    extensions.register_sort("next_task", _order_by_annotation("next_task_due_on"))
    extensions.register_sort("referrals_90d", _order_by_annotation("referrals_90d"))
    extensions.register_sort("health", order_by_health)
