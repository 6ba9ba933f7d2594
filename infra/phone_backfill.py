"""Stored phone numbers rewritten in the stored form, for the data migrations that normalise them (issue 17 §5).

Numbers typed before validation ("(617) 555-0142", "617.555.0142 x12") become E.164 with ";ext=", read in the
country of the row's spa, exactly as ``infra.phones.normalize_phone`` stores what is typed today; a comparison-key
column (``Practice.phone_normalized``) is recomputed from its phone with ``phone_key``. A value that names no valid
number there ("call me", "555-0100") is left exactly as it was typed, never blanked and never guessed at: it is
counted, and its table, row id and column are logged (not the value, which may be a patient's).

Built for large tables and for historical models (``apps.get_model``): rows are read a batch at a time, in primary
key order from where the last batch ended (no offset, no cursor held open), and only rows with something in a phone
column. Each batch is its own transaction that locks its rows between reading and writing them, so a large table is
never held in memory or in one long transaction, and a save by the running app in between is not overwritten. A run
that stops halfway can be started again: a value already in the stored form is left as it is.

Callers run this inside ``scopes_disabled()``: with row-level security forced on the tenant tables, the tables'
owner (who runs migrations) sees their rows only cross-tenant (``spas/rls.py``).
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from .phones import DEFAULT_REGION, normalize_phone, phone_key

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class PhoneBackfill:
    """What a run did to one table: values rewritten, and values left as typed because they name no number."""

    table: str
    rewritten: int = 0
    left_as_typed: int = 0


def normalize_phone_columns(model, columns, *, countries, spa_field="spa_id", keys=None, batch_size=BATCH_SIZE):
    """Rewrite ``columns`` of every row of ``model`` in the stored form; returns a PhoneBackfill.

    ``countries`` maps a spa's id to its country, the region a row's numbers are read in (US when missing);
    ``spa_field`` names the row's attribute holding that id ("pk" for the spas themselves). ``keys`` maps a
    comparison-key column to the phone column it is computed from, recomputed after that column is rewritten.
    """
    keys = keys or {}
    table = model._meta.db_table
    report = PhoneBackfill(table=table)
    written = [*columns, *keys]
    loaded = {"pk", *written} | ({spa_field} if spa_field != "pk" else set())
    anything = Q()
    for column in written:
        anything |= ~Q(**{column: ""})
    rows_with_phones = model._base_manager.filter(anything).order_by("pk").only(*loaded - {"pk"})
    last_pk = None
    while True:
        with transaction.atomic():
            batch = rows_with_phones if last_pk is None else rows_with_phones.filter(pk__gt=last_pk)
            rows = list(batch.select_for_update()[:batch_size])
            if not rows:
                break
            changed = [row for row in rows if _normalize_row(row, columns, keys, countries, spa_field, report)]
            if changed:
                model._base_manager.bulk_update(changed, written, batch_size=batch_size)
        last_pk = rows[-1].pk
    level = logging.WARNING if report.left_as_typed else logging.INFO
    logger.log(
        level,
        "%s: %s phone values rewritten in E.164, %s left as typed (not a valid number in the spa's country).",
        table,
        report.rewritten,
        report.left_as_typed,
    )
    return report


def _normalize_row(row, columns, keys, countries, spa_field, report):
    """Rewrite one row's columns in place; True when anything changed."""
    region = countries.get(getattr(row, spa_field), DEFAULT_REGION)
    changed = False
    for column in columns:
        value = getattr(row, column)
        if not value.strip():
            continue
        try:
            stored = normalize_phone(value, region)
        except ValidationError:
            report.left_as_typed += 1
            logger.info("%s row %s: %s left as typed (not a valid number in %s).", report.table, row.pk, column, region)
            continue
        if stored != value:
            setattr(row, column, stored)
            report.rewritten += 1
            changed = True
    for key_column, phone_column in keys.items():
        key = phone_key(getattr(row, phone_column), region)
        if key != getattr(row, key_column):
            setattr(row, key_column, key)
            changed = True
    return changed
