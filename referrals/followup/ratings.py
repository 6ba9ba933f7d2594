"""The patients' rating figures, maintained: "figures are maintained, not recomputed" (issue 15's rule, kept for the
follow-up's answers).

The practice page's rating panel and the report's Patient ratings read ``RatingMonthFigures`` — per practice and
month of the answer on the spa's calendar, how many answers and the sum of their scores — instead of the answers.
Every write that changes what they count updates them in its own transaction, through this module only:

- ``answer_added(response)``: a patient answered (``services.satisfaction_submit``, the only writer of answers);
- ``sources_changing(…)``, registered with ``spas.dependents``: around a practice merge (the merged practice's
  answers move to the survivor: its rows are dropped before the move and the moved answers counted under their
  new practice after it) and a change of the spa's time zone (months move with it: a rebuild);
- ``rebuild(spa)``: throw a spa's rows away and count them again from its answers
  (``manage.py rebuild_follow_up_ratings``; the migration that created the table).

Nothing else changes them: an answer is never edited or deleted by the app (erasure and the retention purge blank
the comment and keep the score); a practice with answers cannot be deleted (its referrals protect it), and when a
practice, a spa or a referral goes in the database's own cascade, its answers and its rows go together.

Concurrency is the referral figures' (``referrals/figures.py``): an answer is one ``INSERT … ON CONFLICT DO UPDATE
SET answers = answers + 1, score_sum = score_sum + excluded.score_sum``, so two patients answering at once both
count. On PostgreSQL writers hold a *shared* advisory lock on the spa's ratings for their transaction, and a rebuild
or a merge an *exclusive* one: it waits for the answers in flight to commit and holds off new ones until it has
committed, so an answer is counted either in its read of the answers or on top of what it wrote, once.
"""

import contextlib
import zoneinfo
from collections import Counter, defaultdict

from django.db import connection, transaction
from django.db.models import Count, DateField, Sum
from django.db.models.functions import TruncMonth

from ..figures import month_start
from ..models import RatingMonthFigures, SatisfactionResponse

COLUMNS = ("answers", "score_sum")
_LOCK_CLASS = 19_003  # issue 19 §3; the advisory lock's key is this class and the spa's id
_IDS_PER_QUERY = 1000
_ROWS_PER_STATEMENT = 500


def _zone(spa):
    return zoneinfo.ZoneInfo(spa.timezone)


def answer_month(submitted_at, zone):
    """The month an answer counts in: the first day of its month on the spa's calendar."""
    return month_start(submitted_at.astimezone(zone).date())


def count_by_practice_month(responses, zone):
    """{(practice_id, month): {"answers": n, "score_sum": s}} of ``responses`` (a queryset of answers), one GROUP
    BY. What a rebuild writes; the migration that created the table passes its historical model's answers."""
    grouped = (
        responses.order_by()
        .values("practice_id", month=TruncMonth("submitted_at", tzinfo=zone, output_field=DateField()))
        .annotate(answers=Count("pk"), score_sum=Sum("score"))
    )
    return {
        (row["practice_id"], row["month"]): {"answers": row["answers"], "score_sum": row["score_sum"]}
        for row in grouped
    }


# --- locking ---------------------------------------------------------------------------------------------------


def _lock_key(spa_id):
    return _LOCK_CLASS * 2**32 + spa_id


def _lock_exclusively(spa):
    """Wait for the answers in flight, hold off new ones until this transaction ends (PostgreSQL; on SQLite the
    first write takes the database's write lock instead)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(spa.pk)])


# --- writing ---------------------------------------------------------------------------------------------------


def _apply(spa, changes):
    """Add ``changes`` ({(practice_id, month): {column: change}}) to the spa's rows, creating a row at zero first
    where there is none; on PostgreSQL under the writers' shared lock, sent with the upserts in one round trip."""
    rows = sorted((key, change) for key, change in changes.items() if any(change.values()))
    if not rows:
        return
    statements = []
    if connection.vendor == "postgresql":
        statements.append(("SELECT pg_advisory_xact_lock_shared(%s)", [_lock_key(spa.pk)]))
    statements.extend(_upserts(spa, rows))
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg2 binds parameters on the client, so several statements can share one execute.
            cursor.execute("; ".join(sql for sql, _params in statements), [p for _sql, ps in statements for p in ps])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def _upserts(spa, rows):
    quote = connection.ops.quote_name
    meta = RatingMonthFigures._meta
    table = quote(meta.db_table)
    keys = [meta.get_field(name).column for name in ("spa", "practice", "month")]
    columns = ", ".join(quote(name) for name in (*keys, *COLUMNS))
    additions = ", ".join(f"{quote(name)} = {table}.{quote(name)} + EXCLUDED.{quote(name)}" for name in COLUMNS)
    month_field = meta.get_field("month")
    statements = []
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        params = []
        for (practice_id, month), change in chunk:
            month_value = month_field.get_db_prep_save(month, connection=connection)
            params += [spa.pk, practice_id, month_value, *(change.get(name, 0) for name in COLUMNS)]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        statements.append(
            (
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 - names from the model
                f"ON CONFLICT ({', '.join(quote(name) for name in keys)}) DO UPDATE SET {additions}",
                params,
            )
        )
    return statements


def answer_added(response):
    """Count an answer just saved (in the saving transaction)."""
    spa = response.spa
    key = (response.practice_id, answer_month(response.submitted_at, _zone(spa)))
    _apply(spa, {key: {"answers": 1, "score_sum": response.score}})


def _counted(spa, answer_ids):
    """``count_by_practice_month`` of the spa's answers with these ids, read in chunks."""
    totals = defaultdict(Counter)
    for start in range(0, len(answer_ids), _IDS_PER_QUERY):
        chunk = answer_ids[start : start + _IDS_PER_QUERY]
        for key, counts in count_by_practice_month(
            SatisfactionResponse.objects.filter(spa=spa, pk__in=chunk), _zone(spa)
        ).items():
            totals[key].update(counts)
    return totals


@contextlib.contextmanager
def answers_moving(*, spa, practices):
    """Around a write that may move these practices' answers to another practice (a merge): their rows are dropped
    before it (so no row is left to collide with the survivor's), and the same answers counted after it under the
    practice they belong to then. A write that moves nothing (a specialty corrected) recounts these practices."""
    with transaction.atomic(savepoint=False):
        _lock_exclusively(spa)
        answer_ids = sorted(
            SatisfactionResponse.objects.filter(spa=spa, practice__in=list(practices)).values_list("pk", flat=True)
        )
        RatingMonthFigures.objects.filter(spa=spa, practice__in=list(practices)).delete()
        yield
        _apply(spa, _counted(spa, answer_ids))


def sources_changing(*, spa, practices=(), clinicians=(), services=(), timezone=False):
    """What ``spas.dependents`` calls around writes of the lower apps: a practice merge (or any change it reports
    for a practice) and the spa's time zone change the ratings' rows; clinicians and prices do not."""
    if timezone:
        return _rebuilt_after(spa)
    if practices:
        return answers_moving(spa=spa, practices=practices)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _rebuilt_after(spa):
    yield
    rebuild(spa)  # months move with the time zone: an answer near a month's end may change month


# --- rebuilding from the answers ------------------------------------------------------------------------------


def computed(spa):
    """{(practice_id, month): {"answers", "score_sum"}}: the spa's rows counted afresh from its answers."""
    return count_by_practice_month(SatisfactionResponse.objects.filter(spa=spa), _zone(spa))


@transaction.atomic
def rebuild(spa):
    """Count the spa's rating rows again from its answers and replace what was kept. Returns the rows written."""
    _lock_exclusively(spa)
    RatingMonthFigures.objects.filter(spa=spa).delete()  # first: on SQLite it takes the database's write lock
    rows = [
        RatingMonthFigures(spa=spa, practice_id=practice_id, month=month, **counts)
        for (practice_id, month), counts in sorted(computed(spa).items())
    ]
    RatingMonthFigures.objects.bulk_create(rows, batch_size=_ROWS_PER_STATEMENT)
    return len(rows)


def kept(spa):
    """{(practice_id, month): {"answers", "score_sum"}}: the spa's maintained rows, rows that count nothing left
    out."""
    return {
        (row["practice_id"], row["month"]): {name: row[name] for name in COLUMNS}
        for row in RatingMonthFigures.objects.filter(spa=spa).values("practice_id", "month", *COLUMNS)
        if any(row[name] for name in COLUMNS)
    }


def differences(spa):
    """Where the kept rows differ from a fresh count: [(key, kept, counted)], [] when they agree."""
    kept_rows, counted_rows = kept(spa), computed(spa)
    return [
        (key, kept_rows.get(key), counted_rows.get(key))
        for key in sorted(set(kept_rows) | set(counted_rows))
        if kept_rows.get(key) != counted_rows.get(key)
    ]
