"""Partner health, maintained: "figures are maintained, not recomputed" (issue 15).

The dashboard shows how many trial and active partners are healthy, cooling and at risk, and the few most at
risk. Assessing every partner (outreach/health/selectors.py) reads them all with their figures and runs the rules over
each: ~320 ms for a spa with 2,200 partners, on every cache miss. Instead each partner has a row
(``PartnerHealthSnapshot``) with the status ``health.assess`` gave it, the parts of its ``sort_key`` and the
spa's date it was assessed for (``assessed_on``). The rules stay in one place: a row is what ``assess``
decided. Written by

- ``refresh_practices(spa=…, practice_ids=…)``: assess these practices again and write their rows, deleting the
  rows of those that are not trial or active partners (any more);
- ``refresh_spa(spa=…)``: the same for all of the spa's practices.

Read by ``current_counts`` (how many per status: one GROUP BY) and ``most_at_risk`` (the first few at-risk rows
in the list's order, then those practices assessed afresh for their reasons in words), for the dashboard. The
partner health page and the partners list assess live, as before.

Kept up to date in the writing transaction. Health is worked out from the practice (its stage and since when;
its name, for the order), its touchpoints, its check-in cadence, its referral figures, the spa's default
cadence and time zone, and the date. Every write that changes one of those refreshes what it changed before it
commits:

- a touchpoint logged, removed or brought back — also by completing or reopening a task, a gift, an event:
  ``activity.on_touchpoints_changed``;
- a practice's own check-in cadence: ``checkins.check_in_cadence_set``;
- referrals created, completed, moved to another practice (a merge): the practices whose received or completed
  counts changed in their month figures (``referrals.figures.follow_practice_months``, one call per write);
- a practice created (also by an import), moved in the pipeline, renamed, or another merged into it: partners'
  services through ``spas.dependents.practices_changed``. A merge deletes the merged practice's row instead of
  moving it onto the survivor's (``partners.extensions.register_derived``);
- the spa's default check-in cadence (``activity.on_outreach_settings_changed``) and its time zone
  (``spas.services.spa_update``): every partner.

A refresh of one partner is four statements (the lock, which reads the spa's default cadence too; the
practice-month figures; the practice with its last touchpoint and check-in; the upsert) and ~4–5 ms on the bench
data, paid by each such write: an API referral create went from 13 to 17 statements.

The date moves without writes: days of silence add up, a check-in becomes overdue, a month ends.
``partner_health_refresh_task`` (every 15 minutes) refreshes each spa whose rows are not all assessed for the
spa's today, so a spa's rows are today's within a quarter of an hour of its midnight. The dashboard does not
count on it: when a spa's rows are not all today's, or not one per trial and active practice (rows written
behind the services' back), ``current_counts`` refreshes the spa in that request — at most once a day in
practice, and what every cache miss used to cost. So a status assessed for an earlier day is never shown as
today's.

Concurrency. A refresh locks the practices' rows (``FOR NO KEY UPDATE``, in id order) before it reads them:
two transactions refreshing one practice take turns, and the second reads what the first committed, so the
row ends up as the later one saw it. ``refresh_spa`` locks all the spa's partners the same way. (This lock
lets a touchpoint or a referral that points at the practice be inserted meanwhile; a transaction that
refreshes several practices in another order than a spa-wide refresh can meet a deadlock, which PostgreSQL
ends by failing one of the two.) SQLite serialises writers by itself.

Data written straight into the tables (practices, touchpoints or referrals loaded in bulk, a restore, referral
figures repaired by ``rebuild_referral_figures``) bypasses all this: ``manage.py rebuild_partner_health``
refreshes every spa (``--check`` compares); ``bench/seed.py`` and the demo do it themselves.
"""

import zoneinfo

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q, Subquery
from django.db.models.functions import Collate
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from partners import extensions
from partners.models import Practice
from referrals import figures
from spas import dependents
from spas.models import Spa

from ..activity.selectors import spa_today
from ..activity.services import on_outreach_settings_changed, on_touchpoints_changed
from ..models import OutreachSettings, PartnerHealthSnapshot
from .selectors import HEALTH_STAGES, HealthStatus, assess, health_queryset

FIELDS = (
    "status",
    "at_risk_reasons",
    "cooling_reasons",
    "silence_days",
    "referral_drop",
    "sort_name",
    "assessed_on",
)
_IDS_PER_QUERY = 1000
_ROWS_PER_STATEMENT = 500


def _values(health, today):
    """A row's values: the status and the rest of ``health.sort_key``, as ``assess`` decided on ``today``."""
    _rank, at_risk, cooling, silence, drop, name, _pk = health.sort_key
    return {
        "status": str(health.status),
        "at_risk_reasons": -at_risk,
        "cooling_reasons": -cooling,
        "silence_days": -silence,
        "referral_drop": -drop,
        "sort_name": name,
        "assessed_on": today,
    }


def _default_cadence_days(spa):
    # Read, not created (outreach_settings_for would insert the spa's row): a write elsewhere refreshes health.
    return OutreachSettings.objects.filter(spa=spa).values_list("check_in_cadence_days", flat=True)


def _or_default(days):
    return days or OutreachSettings._meta.get_field("check_in_cadence_days").default


def _assessments(spa, practice_ids, now, default_days=None):
    """(today, [PartnerHealth]) of the spa's trial and active practices (only ``practice_ids`` when given).
    ``default_days``: the spa's default check-in cadence, when the caller has read it already."""
    today = spa_today(spa, now)
    if default_days is None:
        default_days = _or_default(_default_cadence_days(spa).first())
    practices = health_queryset(spa=spa, now=now, practice_ids=practice_ids)
    return today, [assess(practice, today=today, default_cadence_days=default_days) for practice in practices]


def assessed(spa, *, now=None, practice_ids=None, default_days=None):
    """{practice id: row values}: the spa's partners (only ``practice_ids`` when given) assessed afresh, as a
    refresh would write them."""
    today, healths = _assessments(spa, practice_ids, now or timezone.now(), default_days)
    return {health.practice.pk: _values(health, today) for health in healths}


def kept(spa):
    """{practice id: row values}: the spa's rows as they are."""
    return {
        row["practice_id"]: {name: row[name] for name in FIELDS}
        for row in PartnerHealthSnapshot.objects.filter(spa=spa).values("practice_id", *FIELDS)
    }


def differences(spa, *, now=None):
    """Where the rows differ from a fresh assessment for ``now``'s date: [(practice id, kept, assessed)], [] when
    they agree (a row assessed for an earlier day differs)."""
    kept_rows, fresh_rows = kept(spa), assessed(spa, now=now)
    return [
        (practice_id, kept_rows.get(practice_id), fresh_rows.get(practice_id))
        for practice_id in sorted(set(kept_rows) | set(fresh_rows))
        if kept_rows.get(practice_id) != fresh_rows.get(practice_id)
    ]


# --- writing ---------------------------------------------------------------------------------------------------


def _lock(spa, practices):
    """Lock these practices' rows in id order (PostgreSQL; nothing on SQLite). Returns (their ids, the spa's default
    check-in cadence), read in the same statement: a write pays one round trip less."""
    rows = list(
        practices.select_for_update(no_key=True)
        .annotate(default_days=Subquery(_default_cadence_days(spa)[:1]))
        .order_by("pk")
        .values_list("pk", "default_days")
    )
    return [practice_id for practice_id, _days in rows], _or_default(rows[0][1] if rows else None)


def _write(spa, rows):
    """Insert or update the rows {practice id: values}, in practice order."""
    PartnerHealthSnapshot.objects.bulk_create(
        [PartnerHealthSnapshot(spa=spa, practice_id=practice_id, **rows[practice_id]) for practice_id in sorted(rows)],
        batch_size=_ROWS_PER_STATEMENT,
        update_conflicts=True,
        unique_fields=["spa", "practice"],
        update_fields=list(FIELDS),
    )


def refresh_practices(*, spa, practice_ids, now=None):
    """Assess these practices of ``spa`` again and write their rows; practices that are not trial or active
    partners (or no longer exist) lose theirs. Runs in the caller's transaction."""
    now = now or timezone.now()
    ids = sorted(set(practice_ids))
    with transaction.atomic(savepoint=False):
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            partners, default_days = _lock(spa, Practice.objects.filter(spa=spa, pk__in=chunk, stage__in=HEALTH_STAGES))
            if len(partners) < len(chunk):
                PartnerHealthSnapshot.objects.filter(spa=spa, practice__in=chunk).exclude(
                    practice__in=partners
                ).delete()
            if partners:
                _write(spa, assessed(spa, now=now, practice_ids=partners, default_days=default_days))


def refresh_spa(*, spa, now=None):
    """Assess all the spa's trial and active partners again and write their rows (and only theirs). Returns how
    many partners it assessed."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        _partners, default_days = _lock(spa, Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES))
        PartnerHealthSnapshot.objects.filter(spa=spa).exclude(practice__stage__in=HEALTH_STAGES).delete()
        rows = assessed(spa, now=now, default_days=default_days)
        _write(spa, rows)
    return len(rows)


def stale_spa_ids(now=None):
    """Ids of the spas that have a row assessed for another day than the spa's today (one query over all spas)."""
    now = now or timezone.now()
    with scopes_disabled():  # across spas on purpose: which of them to refresh
        rows = (
            PartnerHealthSnapshot.objects.values("spa_id", "spa__timezone")
            .annotate(first=Min("assessed_on"), last=Max("assessed_on"))
            .order_by("spa_id")
        )
        stale = []
        for row in rows:
            today = timezone.localtime(now, zoneinfo.ZoneInfo(row["spa__timezone"])).date()
            if row["first"] != today or row["last"] != today:
                stale.append(row["spa_id"])
    return stale


def refresh_stale_spas(now=None):
    """Refresh the partner health of every spa whose rows are not all today's, spa by spa in its scope, each in its
    own transaction. Returns how many spas it refreshed. Idempotent: a second run finds nothing to do, and of two
    runs at once (two beats) one refreshes each spa."""
    now = now or timezone.now()
    refreshed = 0
    for spa_id in stale_spa_ids(now):
        spa = Spa.objects.filter(pk=spa_id).first()
        if spa is None:
            continue
        with scope(spa=spa), transaction.atomic():
            # The other run, if any, holds these locks until it has committed: then this one finds today's rows.
            _lock(spa, Practice.objects.filter(spa=spa, stage__in=HEALTH_STAGES))
            if not PartnerHealthSnapshot.objects.filter(spa=spa).exclude(assessed_on=spa_today(spa, now)).exists():
                continue
            refresh_spa(spa=spa, now=now)
        refreshed += 1
    return refreshed


# --- reading (the dashboard) ----------------------------------------------------------------------------------


def _bytewise(expression):
    # Python orders text by code point, which is UTF-8's byte order: PostgreSQL's "C" collation, SQLite's BINARY.
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


RISK_ORDER = (
    F("at_risk_reasons").desc(),
    F("cooling_reasons").desc(),
    F("silence_days").desc(),
    F("referral_drop").desc(),
)


def _counts(spa, today):
    """({status: partners, "all": partners}, whether every row was assessed for ``today``): one query."""
    counts = dict.fromkeys(HealthStatus.values, 0)
    other_days = 0
    rows = (
        PartnerHealthSnapshot.objects.filter(spa=spa)
        .values("status")
        .annotate(partners=Count("pk"), other_days=Count("pk", filter=~Q(assessed_on=today)))
        .order_by()
    )
    for row in rows:
        counts[row["status"]] = row["partners"]
        other_days += row["other_days"]
    counts["all"] = sum(counts.values())
    return counts, other_days == 0


def current_counts(spa, *, partners, now=None):
    """How many of the spa's trial and active partners are at risk, cooling and healthy today, and "all", as
    ``partner_health_list`` counts them. ``partners``: how many trial and active practices the spa has. When the
    rows are not all assessed for today, or not one per partner, the spa is refreshed first (see the module's
    docstring)."""
    now = now or timezone.now()
    today = spa_today(spa, now)
    counts, all_today = _counts(spa, today)
    if not all_today or counts["all"] != partners:
        refresh_spa(spa=spa, now=now)
        counts, _all_today = _counts(spa, today)
    return counts


def most_at_risk(*, spa, limit, now=None):
    """The first ``limit`` at-risk partners in the "sorted by risk" order, as ``PartnerHealth`` assessed afresh
    (their reasons in words): one query for the rows, then those few practices. Call ``current_counts`` first,
    which makes the rows today's."""
    now = now or timezone.now()
    practice_ids = list(
        PartnerHealthSnapshot.objects.filter(spa=spa, status=HealthStatus.AT_RISK)
        .order_by(*RISK_ORDER, _bytewise(F("sort_name")), "practice_id")
        .values_list("practice_id", flat=True)[:limit]
    )
    if not practice_ids:
        return []
    _today, healths = _assessments(spa, practice_ids, now)
    return sorted((health for health in healths if health.status == HealthStatus.AT_RISK), key=lambda h: h.sort_key)


# --- the writes that change health (see the module's docstring) -------------------------------------------------


@on_touchpoints_changed
def _touchpoints_changed(practice, kind):
    refresh_practices(spa=practice.spa, practice_ids=[practice.pk])


@on_outreach_settings_changed
def _settings_changed(spa, changed):
    if "check_in_cadence_days" in changed:
        refresh_spa(spa=spa)


def _practice_months_changed(spa, changes):
    """Referrals changed these practice months: refresh the practices whose received or completed counts changed.
    (In any month: a row kept from an earlier day read an earlier 6 months, and stays what that day's assessment
    gives; a completion of a referral older than that costs one needless refresh.)"""
    practice_ids = {
        practice_id
        for (practice_id, _month), change in changes.items()
        if change.get("received") or change.get("completed")
    }
    if practice_ids:
        # The figures are written in SQL and need no scope; a caller outside one (a test's factory) gets the spa's.
        with scope(spa=spa):
            refresh_practices(spa=spa, practice_ids=practice_ids)


def _practices_changed(*, spa, practices, every_practice):
    with scope(spa=spa):
        if every_practice:
            refresh_spa(spa=spa)
        else:
            refresh_practices(spa=spa, practice_ids=[practice.pk for practice in practices])


def register():
    """Follow the writes of the other apps that change partner health (AppConfig.ready)."""
    figures.follow_practice_months(_practice_months_changed)
    dependents.follow(_practices_changed)
    extensions.register_derived(PartnerHealthSnapshot)
