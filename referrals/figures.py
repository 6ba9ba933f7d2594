"""The referral figures, maintained: "figures are maintained, not recomputed" (issue 15).

The dashboard, the inbox's tabs, partner health, the partners list and the reports read small tables of counts
(``figure_models.py``) instead of the spa's referrals. Every write that changes what they count updates them in
its own transaction, through this module only:

- ``referral_added(referral)``: a referral was created (``services.referral_create``, and the tests' factory);
- ``referral_changed(before, referral)`` / ``referrals_changed(spa, changes)``: a referral's status, archive
  state, contact or booking changed; ``before = snapshot(referral)`` is taken from the locked row first;
- ``referrals_changing(spa=…, referral_ids=…)``: a context manager around a bulk write that changes what the
  figures know of many referrals at once (a practice merge or specialty edit, a clinician deleted, a service's
  price, the demo moving its stories back in time): their counts are taken out before and put back after;
- ``rebuild(spa)``: throw a spa's figures away and count them again from its referrals
  (``manage.py rebuild_referral_figures``; ``bench/seed.py``; a change of the spa's time zone).

Partner health (outreach/health/snapshots.py) is worked out from the practice-month rows: it registers with
``follow_practice_months(follower)`` and is told, once per write in the writing transaction, which rows changed
and by how much (a rebuild tells nobody: what runs one refreshes partner health after it).

What a referral counts for is written twice on purpose, side by side in each ``Measure``: as Python over one
referral's ``Facts`` (maintenance) and as SQL over the spa's referrals (rebuild). tests/referrals/
test_figures.py plays random histories through the real services and checks the two agree.

Concurrency. A change is one multi-row ``INSERT … ON CONFLICT (key) DO UPDATE SET n = n + excluded.n`` per table
it touches (PostgreSQL and SQLite alike): two writers counting on the same row add up, whichever comes first.
Rows are written in one global order (table, then key), so two writers making one change each never wait on
each other in a circle (a transaction making several, like a practice merge, can meet a deadlock, which
PostgreSQL ends by failing one of the two: nothing is counted wrong). On PostgreSQL writers also take a
*shared* advisory lock on the spa for their transaction, and a rebuild takes it *exclusively*: the rebuild
waits for the writers in flight to commit and holds off new ones until it has committed, so a change is counted
either in the rebuild's read of the referrals or by its own delta on top of the rebuilt rows, never in both
nor in neither. (On SQLite a rebuild deletes first, which takes the database's write lock for the same effect.)
"""

import contextlib
import datetime
import functools
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

from .figure_models import (
    ChannelMonthFigures,
    ClinicianMonthFigures,
    PracticeMonthFigures,
    ReferralDayFigures,
    ReferralStatusCount,
)
from .models import CLOSED_STATUSES, Referral, Status

# --- what the figures know of one referral ----------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """The part of a referral the figures depend on. Two snapshots that are equal count the same."""

    practice_id: int
    clinician_id: int | None
    channel: str
    specialty: str  # the practice's
    received_at: datetime.datetime
    status: str
    archived: bool
    contacted: bool  # contacted_at is set: the spa reached the patient
    scheduled: bool  # scheduled_for is set: an appointment was booked
    closed_at: datetime.datetime | None
    # The booked service's catalog price, read only for completed referrals (revenue); None without a service.
    price: Decimal | None


def snapshot(referral):
    """The figures' view of ``referral`` (with its practice in hand) as it is now."""
    completed = referral.status == Status.COMPLETED
    return Facts(
        practice_id=referral.practice_id,
        clinician_id=referral.clinician_id,
        channel=referral.channel,
        specialty=referral.practice.specialty,
        received_at=referral.received_at,
        status=referral.status,
        archived=referral.archived_at is not None,
        contacted=referral.contacted_at is not None,
        scheduled=referral.scheduled_for is not None,
        closed_at=referral.closed_at,
        # Decimal(): an instance built in memory may still hold the price as it was given (a string).
        price=Decimal(referral.scheduled_service.price) if completed and referral.scheduled_service_id else None,
    )


_FACT_VALUES = {
    "practice_id": F("practice_id"),
    "clinician_id": F("clinician_id"),
    "channel": F("channel"),
    "specialty": F("practice__specialty"),
    "received_at": F("received_at"),
    "status": F("status"),
    "archived_at": F("archived_at"),
    "contacted_at": F("contacted_at"),
    "scheduled_for": F("scheduled_for"),
    "closed_at": F("closed_at"),
    "price": F("scheduled_service__price"),
}
_IDS_PER_QUERY = 1000


def _facts_of(spa, referral_ids):
    """``Facts`` of the spa's referrals with these ids, read in chunks (the same as ``snapshot`` of each)."""
    facts = []
    for start in range(0, len(referral_ids), _IDS_PER_QUERY):
        chunk = referral_ids[start : start + _IDS_PER_QUERY]
        for row in Referral.objects.filter(spa=spa, pk__in=chunk).order_by().values(**_fact_aliases()):
            values = {name: row[f"fact_{name}"] for name in _FACT_VALUES}
            completed = values["status"] == Status.COMPLETED
            facts.append(
                Facts(
                    practice_id=values["practice_id"],
                    clinician_id=values["clinician_id"],
                    channel=values["channel"],
                    specialty=values["specialty"],
                    received_at=values["received_at"],
                    status=values["status"],
                    archived=values["archived_at"] is not None,
                    contacted=values["contacted_at"] is not None,
                    scheduled=values["scheduled_for"] is not None,
                    closed_at=values["closed_at"],
                    price=values["price"] if completed else None,
                )
            )
    return facts


def _fact_aliases():
    # values() may not reuse a field's name as an alias: prefixed.
    return {f"fact_{name}": expression for name, expression in _FACT_VALUES.items()}


# --- what each table counts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One column: what one referral adds to it (``of``, for maintenance) and the same in SQL (``sql``, for a
    rebuild). Keep the two saying the same thing: the randomized test compares them."""

    column: str
    of: Callable[[Facts], int | Decimal]
    sql: object


@dataclass(frozen=True)
class Tally:
    """Where a referral is counted in one table: the row (``key`` in Python, ``sql_key`` as expressions, both in
    the order of ``key_fields``) and the columns it adds to there. ``counts`` / ``sql_filter`` leave out the
    referrals it does not count."""

    model: type
    key_fields: tuple
    key: Callable[[Facts, zoneinfo.ZoneInfo], tuple]
    sql_key: Callable[[zoneinfo.ZoneInfo], tuple]
    measures: tuple
    counts: Callable[[Facts], bool] = lambda facts: True
    sql_filter: Q = field(default_factory=Q)


def month_start(day, months_back=0):
    """The first day of ``day``'s month, or of the month ``months_back`` before it: the monthly rows' key."""
    month_index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(month_index // 12, month_index % 12 + 1, 1)


def _local_day(moment, zone):
    return moment.astimezone(zone).date()


def _local_month(moment, zone):
    return month_start(_local_day(moment, zone))


def _sql_day(name, zone):
    return TruncDate(name, tzinfo=zone)


def _sql_month(name, zone):
    return TruncMonth(name, tzinfo=zone, output_field=DateField())


IS_COMPLETED = Q(status=Status.COMPLETED)
# What most tables count: the referrals received, of those the completed ones and those still open.
OUTCOMES = (
    Measure("received", lambda facts: 1, Count("pk")),
    Measure("completed", lambda facts: facts.status == Status.COMPLETED, Count("pk", filter=IS_COMPLETED)),
    Measure(
        "open", lambda facts: facts.status not in CLOSED_STATUSES, Count("pk", filter=~Q(status__in=CLOSED_STATUSES))
    ),
)

TALLIES = (
    # The inbox: per status, archived (test or spam) referrals apart.
    Tally(
        ReferralStatusCount,
        ("status", "archived"),
        key=lambda facts, zone: (facts.status, facts.archived),
        sql_key=lambda zone: (
            F("status"),
            ExpressionWrapper(Q(archived_at__isnull=False), output_field=BooleanField()),
        ),
        measures=(Measure("referrals", lambda facts: 1, Count("pk")),),
    ),
    # The dashboard and the report by specialty: per receipt day and the practice's specialty.
    Tally(
        ReferralDayFigures,
        ("day", "specialty"),
        key=lambda facts, zone: (_local_day(facts.received_at, zone), facts.specialty),
        sql_key=lambda zone: (_sql_day("received_at", zone), F("practice__specialty")),
        measures=(
            *OUTCOMES,
            Measure("contacted", lambda facts: facts.contacted, Count("pk", filter=Q(contacted_at__isnull=False))),
            Measure("scheduled", lambda facts: facts.scheduled, Count("pk", filter=Q(scheduled_for__isnull=False))),
        ),
    ),
    # Top practices, partner health, the partners list and the reports by practice and leakage: per practice and
    # receipt month.
    Tally(
        PracticeMonthFigures,
        ("practice_id", "month"),
        key=lambda facts, zone: (facts.practice_id, _local_month(facts.received_at, zone)),
        sql_key=lambda zone: (F("practice_id"), _sql_month("received_at", zone)),
        measures=(
            *OUTCOMES,
            Measure(
                "declined", lambda facts: facts.status == Status.DECLINED, Count("pk", filter=Q(status=Status.DECLINED))
            ),
            Measure(
                "never_contacted",
                lambda facts: not facts.contacted and facts.status in (Status.CANCELLED, Status.UNREACHABLE),
                Count("pk", filter=Q(contacted_at__isnull=True, status__in=[Status.CANCELLED, Status.UNREACHABLE])),
            ),
            Measure(
                "never_booked",
                lambda facts: facts.contacted and not facts.scheduled and facts.status == Status.CANCELLED,
                Count(
                    "pk",
                    filter=Q(contacted_at__isnull=False, scheduled_for__isnull=True, status=Status.CANCELLED),
                ),
            ),
            Measure(
                "no_shows", lambda facts: facts.status == Status.NO_SHOW, Count("pk", filter=Q(status=Status.NO_SHOW))
            ),
        ),
    ),
    # The revenue report: per practice and the month a referral was completed in.
    Tally(
        PracticeMonthFigures,
        ("practice_id", "month"),
        key=lambda facts, zone: (facts.practice_id, _local_month(facts.closed_at, zone)),
        sql_key=lambda zone: (F("practice_id"), _sql_month("closed_at", zone)),
        measures=(
            Measure("completions", lambda facts: 1, Count("pk")),
            Measure(
                "priced_completions",
                lambda facts: facts.price is not None,
                Count("pk", filter=Q(scheduled_service__isnull=False)),
            ),
            Measure(
                "revenue",
                lambda facts: facts.price or Decimal(0),
                Coalesce(Sum("scheduled_service__price"), Value(Decimal(0))),
            ),
        ),
        counts=lambda facts: facts.status == Status.COMPLETED and facts.closed_at is not None,
        sql_filter=IS_COMPLETED & Q(closed_at__isnull=False),
    ),
    # The report by clinician: per practice, clinician (0: nobody named) and receipt month.
    Tally(
        ClinicianMonthFigures,
        ("practice_id", "clinician_key", "month"),
        key=lambda facts, zone: (facts.practice_id, facts.clinician_id or 0, _local_month(facts.received_at, zone)),
        sql_key=lambda zone: (
            F("practice_id"),
            Coalesce(F("clinician_id"), Value(0), output_field=BigIntegerField()),
            _sql_month("received_at", zone),
        ),
        measures=OUTCOMES,
    ),
    # The report by channel: per channel and receipt month.
    Tally(
        ChannelMonthFigures,
        ("channel", "month"),
        key=lambda facts, zone: (facts.channel, _local_month(facts.received_at, zone)),
        sql_key=lambda zone: (F("channel"), _sql_month("received_at", zone)),
        measures=OUTCOMES,
    ),
)
# Every table once, in the order writers lock their rows.
MODELS = tuple(dict.fromkeys(tally.model for tally in TALLIES))
KEY_FIELDS = {tally.model: tally.key_fields for tally in TALLIES}
COLUMNS = {
    model: tuple(dict.fromkeys(m.column for t in TALLIES if t.model is model for m in t.measures)) for model in MODELS
}


def _zone(spa):
    return zoneinfo.ZoneInfo(spa.timezone)


def _deltas(spa, *, removed=(), added=()):
    """{model: {key: Counter(column: change)}} for taking ``removed`` out and putting ``added`` in; what nets to
    nothing is left out (a change of assignee or of patient details changes no figure)."""
    zone = _zone(spa)
    deltas = defaultdict(lambda: defaultdict(Counter))
    for sign, many in ((-1, removed), (1, added)):
        for facts in many:
            for tally in TALLIES:
                if tally.counts(facts):
                    row = deltas[tally.model][tally.key(facts, zone)]
                    for measure in tally.measures:
                        row[measure.column] += sign * measure.of(facts)
    return {
        model: {key: change for key, change in rows.items() if any(change.values())}
        for model, rows in deltas.items()
        if any(any(change.values()) for change in rows.values())
    }


# --- writing: deltas as upserts ------------------------------------------------------------------------------

_LOCK_CLASS = 15_000  # issue 15; the advisory lock's key is this class and the spa's id
_ROWS_PER_STATEMENT = 500


def _lock_key(spa_id):
    return _LOCK_CLASS * 2**32 + spa_id


_LOCK_SHARED = "SELECT pg_advisory_xact_lock_shared(%s)"


def _lock_for_rebuild(spa):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(spa.pk)])


_practice_month_followers = []


def follow_practice_months(follower):
    """Register ``follower(spa, changes)``, called in the writing transaction after the practice-month figures
    changed: ``changes`` is {(practice_id, month): {column: change}}, only what changed."""
    _practice_month_followers.append(follower)
    return follower


def _apply(spa, deltas):
    """Add ``deltas`` to the spa's figures: on PostgreSQL the writers' shared lock on the spa's figures (see the
    module's docstring) and every table's upsert travel in one query string, one round trip for the lot (an API
    create is otherwise ~6 statements heavier; bench, issue 15). Then the practice months' followers."""
    if not deltas:
        return
    statements = []
    if connection.vendor == "postgresql":
        statements.append((_LOCK_SHARED, [_lock_key(spa.pk)]))
    for model in MODELS:
        if model in deltas:
            statements.extend(_upserts(spa, model, sorted(deltas[model].items())))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg2 binds parameters on the client, so several statements can share one execute.
            cursor.execute(
                "; ".join(sql for sql, _params in statements), [p for _sql, params in statements for p in params]
            )
        else:
            for sql, params in statements:
                cursor.execute(sql, params)
    if PracticeMonthFigures in deltas:
        for follower in _practice_month_followers:
            follower(spa, deltas[PracticeMonthFigures])


def _upserts(spa, model, rows):
    """[(sql, params)]: add each row's changes to the row under its key, creating it at zero first when there is
    none."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    key_fields = [model._meta.get_field("spa"), *(model._meta.get_field(name) for name in KEY_FIELDS[model])]
    counted = [model._meta.get_field(name) for name in COLUMNS[model]]
    fields = [*key_fields, *counted]
    columns = ", ".join(quote(f.column) for f in fields)
    conflict = ", ".join(quote(f.column) for f in key_fields)
    additions = ", ".join(
        f"{quote(f.column)} = {table}.{quote(f.column)} + EXCLUDED.{quote(f.column)}" for f in counted
    )
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    adapt = [_adapter(field) for field in fields]
    statements = []
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        params = []
        for key, change in chunk:
            values = [spa.pk, *key, *(change.get(f.name, 0) for f in counted)]
            params += [to_db(value) for to_db, value in zip(adapt, values, strict=True)]
        statements.append(
            (
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))} "  # noqa: S608 - names from models
                f"ON CONFLICT ({conflict}) DO UPDATE SET {additions}",
                params,
            )
        )
    return statements


def _adapter(field):
    """How a value goes into the database for ``field``: days and money through Django's adaptation for this
    database; numbers and text as they are (a rebuild writes a million of them)."""
    if isinstance(field, DateField | DecimalField):
        return functools.partial(field.get_db_prep_save, connection=connection)
    return _as_is


def _as_is(value):
    return value


def _drop_empty_rows(spa, practices):
    """Delete the spa's rows that count nothing any more, and every row of ``practices``, whose referrals were
    all taken out (so those count nothing either, unless they had drifted: they are counted afresh after). A
    practice merged away must leave no row behind: the merge moves every row that points at it onto the
    survivor, where these would collide with the survivor's own."""
    for model in MODELS:
        model.objects.filter(spa=spa, **dict.fromkeys(COLUMNS[model], 0)).delete()
        if practices and any(field.name == "practice" for field in model._meta.fields):
            model.objects.filter(spa=spa, practice__in=practices).delete()


# --- the API the writes call ----------------------------------------------------------------------------------


def referral_added(referral):
    """Count a referral just created (in the creating transaction)."""
    _apply(referral.spa, _deltas(referral.spa, added=[snapshot(referral)]))


def referral_changed(before, referral):
    """Count ``referral`` as it is now instead of as ``before`` (its ``snapshot`` under the row lock)."""
    referrals_changed(referral.spa, [(before, referral)])


def referrals_changed(spa, changes):
    """``referral_changed`` for several referrals at once: [(before, referral)], one statement per table."""
    deltas = _deltas(
        spa,
        removed=[before for before, _referral in changes],
        added=[snapshot(referral) for _before, referral in changes],
    )
    _apply(spa, deltas)


@contextlib.contextmanager
def referrals_changing(*, spa, referral_ids, practices=()):
    """Around a bulk write that changes the figures' facts of these referrals (not their number): their counts are
    taken out before it, and the counts of what they have become put back after it. ``practices``: these
    referrals are all of these practices' (see ``_drop_empty_rows``)."""
    referral_ids = sorted(referral_ids)
    with transaction.atomic(savepoint=False):
        _apply(spa, _deltas(spa, removed=_facts_of(spa, referral_ids)))
        _drop_empty_rows(spa, list(practices))
        yield
        _apply(spa, _deltas(spa, added=_facts_of(spa, referral_ids)))


def sources_changing(*, spa, practices=(), clinicians=(), services=(), timezone=False):
    """What ``spas.dependents`` calls around writes of the lower apps that change these figures: a practice's
    specialty or a merge, a clinician deleted, a service's price, the spa's time zone."""
    if timezone:
        return _rebuilt_after(spa)
    if not (practices or clinicians or services):
        return contextlib.nullcontext()
    affected = Q(pk__in=[])
    if practices:
        affected |= Q(practice__in=list(practices))
    if clinicians:
        affected |= Q(clinician__in=list(clinicians))
    if services:
        affected |= Q(scheduled_service__in=list(services), status=Status.COMPLETED)
    referral_ids = list(Referral.objects.filter(affected, spa=spa).values_list("pk", flat=True))
    if not referral_ids and not practices:
        return contextlib.nullcontext()
    return referrals_changing(spa=spa, referral_ids=referral_ids, practices=practices)


@contextlib.contextmanager
def _rebuilt_after(spa):
    yield
    rebuild(spa)  # days and months move with the time zone: every row changes


# --- rebuilding from the referrals ---------------------------------------------------------------------------


def computed(spa):
    """{model: {key: {column: value}}}: the spa's figures counted afresh from its referrals, one GROUP BY per
    tally (what ``rebuild`` writes, and what the tests compare the maintained rows with)."""
    zone = _zone(spa)
    rows = {model: defaultdict(Counter) for model in MODELS}
    for tally in TALLIES:
        keys = {f"key_{index}": expression for index, expression in enumerate(tally.sql_key(zone))}
        grouped = (
            Referral.objects.filter(tally.sql_filter, spa=spa)
            .values(**keys)
            .annotate(**{measure.column: measure.sql for measure in tally.measures})
            .order_by()
        )
        for row in grouped:
            key = tuple(row[name] for name in keys)
            rows[tally.model][key].update({measure.column: row[measure.column] for measure in tally.measures})
    return {
        model: {key: {column: counts[column] for column in COLUMNS[model]} for key, counts in by_key.items()}
        for model, by_key in rows.items()
    }


@transaction.atomic
def rebuild(spa):
    """Count the spa's figures again from its referrals and replace what was kept. Returns the rows written."""
    _lock_for_rebuild(spa)
    for model in MODELS:  # first: on SQLite the first write takes the database's write lock
        model.objects.filter(spa=spa).delete()
    written = 0
    for model, by_key in computed(spa).items():
        # The same multi-row statements as the writers' (onto empty tables): several times faster than
        # bulk_create at 100,000 rows.
        with connection.cursor() as cursor:
            for sql, params in _upserts(spa, model, sorted(by_key.items())):
                cursor.execute(sql, params)
        written += len(by_key)
    return written


def kept(spa):
    """{model: {key: {column: value}}}: the spa's maintained figures, rows that count nothing left out."""
    kept_rows = {}
    for model in MODELS:
        by_key = {}
        for row in model.objects.filter(spa=spa).values(*KEY_FIELDS[model], *COLUMNS[model]):
            counts = {column: row[column] for column in COLUMNS[model]}
            if any(counts.values()):
                by_key[tuple(row[name] for name in KEY_FIELDS[model])] = counts
        kept_rows[model] = by_key
    return kept_rows


def differences(spa):
    """Where the kept figures differ from a fresh count: [(table, key, kept, counted)], [] when they agree."""
    kept_rows, counted_rows = kept(spa), computed(spa)
    found = []
    for model in MODELS:
        kept_here, counted_here = kept_rows[model], counted_rows[model]
        for key in sorted(set(kept_here) | set(counted_here), key=repr):
            if kept_here.get(key) != counted_here.get(key):
                found.append((model.__name__, key, kept_here.get(key), counted_here.get(key)))
    return found
