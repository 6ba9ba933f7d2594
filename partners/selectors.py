"""Reads for practices: the filtered list, the board, one practice's page."""

import re

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, Value, When, Window
from django.db.models.functions import RowNumber

from infra.phones import phone_key

from . import extensions
from .models import Clinician, Practice, PracticeTag, ReferralCode, Stage, StageChange, Tag

BOARD_CARDS_PER_STAGE = 40


def _with_list_data(queryset):
    return (
        queryset.select_related("owner")
        .prefetch_related(
            Prefetch("practice_tags", queryset=PracticeTag.objects.select_related("tag").order_by("tag__name")),
            Prefetch("referral_codes", queryset=ReferralCode.objects.filter(clinician=None), to_attr="practice_codes"),
        )
        .annotate(clinician_count=Count("clinicians", distinct=True))
    )


def practice_search(queryset, text, *, spa):
    """Match the practice name, a clinician's name, or a phone number in any form typed.

    A whole number ("(617) 555-0142 x3", "1 617 555 0142", "020 7946 0958" at a GB spa) is its comparison key
    (``infra.phones.phone_key``, read in the spa's country); a part of one ("555 0142") is found among the
    keys' digits.
    """
    text = (text or "").strip()[:100]
    if not text:
        return queryset
    condition = Q(name__icontains=text)
    for word in text.split()[:4]:
        condition |= Q(clinicians__first_name__icontains=word) | Q(clinicians__last_name__icontains=word)
    key = phone_key(text, spa.country)
    if key:
        condition |= Q(phone_normalized=key)
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) >= 4:
        condition |= Q(phone_normalized__contains=digits)
    matching_ids = queryset.filter(condition).values("pk")
    return queryset.filter(pk__in=matching_ids)


# The list's own sort keys; others (last contact, next task, referrals in 3 months, health) are registered by
# higher apps in partners.extensions. ``?sort=<key>`` sorts ascending, ``?sort=-<key>`` descending.
LIST_SORTS = ["name", "stage", "owner"]


def list_sort(value):
    """(key, descending) for a ``sort`` parameter; anything unknown sorts by name."""
    value = (value or "").strip()
    descending = value.startswith("-")
    key = value.removeprefix("-")
    if key not in LIST_SORTS and key not in extensions.sort_keys():
        return "name", False
    return key, descending


def _stage_position():
    return Case(
        *(When(stage=value, then=Value(index)) for index, value in enumerate(Stage.values)),
        output_field=IntegerField(),
    )


def practice_list(*, spa, queryset=None, sort="name", descending=False):
    """Practices of the spa with owner, tags, code, clinician count and the figures other apps register
    (partners.extensions) loaded for the list page, in the order ``sort`` asks for."""
    queryset = queryset if queryset is not None else Practice.objects.filter(spa=spa)
    queryset = extensions.annotate(_with_list_data(queryset.filter(spa=spa)), spa=spa)
    if sort == "stage":
        position = _stage_position()
        return queryset.order_by(position.desc() if descending else position.asc(), "name", "pk")
    if sort == "owner":
        owner = F("owner__full_name")
        return queryset.order_by(
            owner.desc(nulls_last=True) if descending else owner.asc(nulls_last=True), "name", "pk"
        )
    ordered = extensions.order(queryset, sort, spa=spa, descending=descending)
    if ordered is not None:
        return ordered
    return queryset.order_by("-name" if descending else "name", "pk")


def practice_board(*, spa, queryset=None):
    """Columns per stage: [(stage value, label, count, first cards)]. A fixed number of queries."""
    queryset = queryset if queryset is not None else Practice.objects.filter(spa=spa)
    counts = dict(queryset.values_list("stage").annotate(n=Count("pk")).values_list("stage", "n"))
    cards_by_stage = {stage: [] for stage in Stage.values}
    # One query: rank cards within each stage, newest moves first, cap each column.
    ranked = (
        queryset.annotate(
            rank=Window(RowNumber(), partition_by=[F("stage")], order_by=[F("stage_changed_at").desc(), F("pk")])
        )
        .filter(rank__lte=BOARD_CARDS_PER_STAGE)
        .select_related("owner")
        .order_by("stage", "rank")
    )
    # Each card's last contact and next step (registered by outreach), in the same query.
    ranked = extensions.annotate(ranked, spa=spa)
    for practice in ranked:
        cards_by_stage[practice.stage].append(practice)
    return [(value, label, counts.get(value, 0), cards_by_stage[value]) for value, label in Stage.choices]


def practice_detail(*, spa, public_id):
    return (
        Practice.objects.filter(spa=spa, public_id=public_id)
        .select_related("owner")
        .prefetch_related(
            Prefetch("clinicians", queryset=Clinician.objects.prefetch_related("referral_codes")),
            "contacts",
            Prefetch("practice_tags", queryset=PracticeTag.objects.select_related("tag").order_by("tag__name")),
            Prefetch("referral_codes", queryset=ReferralCode.objects.filter(clinician=None), to_attr="practice_codes"),
            Prefetch("stage_changes", queryset=StageChange.objects.select_related("changed_by")),
        )
        .first()
    )


def last_declined_reason(*, practice):
    """Why the practice declined the last time it was moved to Declined ("" when never)."""
    return (
        StageChange.objects.filter(spa=practice.spa_id, practice=practice, to_stage=Stage.DECLINED)
        .order_by("-changed_at", "-id")
        .values_list("reason", flat=True)
        .first()
        or ""
    )


def spa_tags(*, spa):
    return Tag.objects.filter(spa=spa).order_by("name")


def spa_cities(*, spa):
    return list(
        Practice.objects.filter(spa=spa).exclude(city="").values_list("city", flat=True).distinct().order_by("city")
    )
